"""Supplier text on the terminal: always data, never markup or terminal control.

A value that came from a message (a sender, a subject, a document number, a reason quoting
the supplier's file) may hold Rich markup (`[/x]`), ANSI escape sequences (ESC, CSI), line
breaks, or bidirectional overrides that reorder what the reader sees (CVE-2021-42574,
"Trojan Source"). Every such value is printed through `visible` (plain text) or
`terminal_text` (a Rich `Text`, which Rich never parses as markup), which spell those
characters out as escapes, like Python's `repr` does.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# Unicode's Bidi_Control characters (UAX #9): ALM, LRM, RLM, LRE..RLO, LRI..PDI.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")
# Cc: C0 (ESC, BEL, CR, LF, TAB ...), DEL and C1 (CSI U+009B ...); Zl/Zp: the line and
# paragraph separators; Cs: lone surrogates, which no terminal encoding can write.
_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_ESCAPE_STYLE = "reverse"


def needs_escape(char: str) -> bool:
    """Whether a character would act on the terminal, or hide, instead of being seen."""
    return char in _BIDI_CONTROLS or unicodedata.category(char) in _CATEGORIES


def escape_char(char: str) -> str:
    """`\\x1b`, `\\x9b`, `\\u202e`: the character's code in the notation of Python's repr."""
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(value: object) -> str:
    """The value as plain text a terminal shows literally: control characters spelled out.
    None is the empty string."""
    if value is None:
        return ""
    text = str(value)
    if not any(needs_escape(char) for char in text):
        return text
    return "".join(escape_char(char) if needs_escape(char) else char for char in text)


def terminal_text(value: object, style: str = "") -> Text:
    """The value as a Rich `Text` (never read as markup) with its control characters spelled
    out and shown reversed, so `\\x1b` sent by a supplier differs from the four letters."""
    from rich.text import Text  # here: `visible` alone must not load Rich

    text = Text(style=style)
    if value is None:
        return text
    run: list[str] = []
    for char in str(value):
        if needs_escape(char):
            text.append("".join(run))
            run = []
            text.append(escape_char(char), style=_ESCAPE_STYLE)
        else:
            run.append(char)
    text.append("".join(run))
    return text
