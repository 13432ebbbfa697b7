"""Supplier text on the terminal: control characters spelled out, markup never read."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from gateway.cli.terminal import terminal_text, visible


def test_control_characters_are_spelled_out() -> None:
    assert visible("\x1b[31mred") == "\\x1b[31mred"
    assert visible("a\r\nb\tc\x7f\x9b\x00") == "a\\x0d\\x0ab\\x09c\\x7f\\x9b\\x00"
    assert visible("\u202eevil\u2066\u2069\u2028") == "\\u202eevil\\u2066\\u2069\\u2028"
    assert visible("Müller 明天 [/x]") == "Müller 明天 [/x]"
    assert visible(None) == ""
    assert visible(12) == "12"


def test_rich_prints_markup_and_escapes_literally() -> None:
    out = StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="standard")
    console.print(terminal_text('"[/x]"@evil.example \x1b[2J [bold]x[/bold]'))
    printed = out.getvalue()
    assert '"[/x]"@evil.example ' in printed
    assert "[bold]x[/bold]" in printed
    assert "\x1b[2J" not in printed  # the supplier's ESC never reaches the terminal raw
    assert "\\x1b" in printed  # shown instead, reversed (Rich's own styling uses ESC)
    assert terminal_text("a\x1bb").plain == "a\\x1bb"
