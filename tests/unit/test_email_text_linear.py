"""The email text readers take time in proportion to the text: the patterns that tried every
position of a run of digits against every shorter number (or searched all the text before each
number) read the same things as before, without the square of the length."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.email.body import map_email_body
from mappings.email.statements import read_statement
from mappings.email.text import fold
from mappings.email.values import (
    NUMBER_TOKEN,
    QUANTITY_WITH_UNIT,
    UNIT_WORDS,
    NumberStyle,
    style_evidence,
)

# The patterns as they were, the reference for what must still be read.
_OLD_QUANTITY = re.compile(
    rf"(?P<number>\d[\d.,'\u00a0\u202f]*\d|\d)\s*(?P<unit>{UNIT_WORDS})(?![^\W\d_])",
    re.IGNORECASE)
_OLD_TOKEN = re.compile(r"(?<![\w.,])\d[\d.,]*\d(?![\w.,]*\d)")
_OLD_TIME_AFTER = re.compile(r"\s*(?:uhr\b|h\b|hrs\b|am\b|pm\b|a\.m\.|p\.m\.|o'clock|点)")
_OLD_TIME_BEFORE = re.compile(
    r"(?:\bum|\bab|\bbis|\bzwischen|\bat|\bfrom|\buntil|\bbetween)\s*$")

# Pieces that meet at the edges of numbers and units: digits, every mark a number may hold,
# units ending in a dot, time words, a digit of another script.
_PIECES = st.sampled_from([*"0123456789", ".", ",", "'", "\u00a0", "\u202f", " ", "-", "x",
                           "pcs", "pcs.", "Stk.", "st", "Stück", "件", "kg", "um ", "at ",
                           "Uhr", " pm", "\u0663"])
_TEXTS = st.lists(_PIECES, max_size=16).map("".join)


def _old_style_evidence(text: str) -> NumberStyle | None:
    from mappings.email.values import _style_of

    seen: set[NumberStyle] = set()
    folded = fold(text)
    for match in _OLD_TOKEN.finditer(folded):
        if _OLD_TIME_AFTER.match(folded, match.end()) or _OLD_TIME_BEFORE.search(
                folded, 0, match.start()):
            continue
        style = _style_of(match.group(0))
        if style is not None:
            seen.add(style)
    return seen.pop() if len(seen) == 1 else None


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_quantities_with_units_are_found_as_before(text: str) -> None:
    def found(pattern: re.Pattern[str]) -> list[tuple[int, int, str, str]]:
        return [(m.start("number"), m.end(), m.group("number"), m.group("unit"))
                for m in pattern.finditer(text)]

    assert found(QUANTITY_WITH_UNIT) == found(_OLD_QUANTITY)


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_number_tokens_and_style_evidence_are_as_before(text: str) -> None:
    assert ([m.span() for m in NUMBER_TOKEN.finditer(text)]
            == [m.span() for m in _OLD_TOKEN.finditer(text)])
    assert style_evidence(text) is _old_style_evidence(text)


def test_a_quantity_after_a_quote_mark_is_still_the_suppliers() -> None:
    statement = read_statement("Pos. 10: statt '80 Stück' liefern wir 60 Stück", None, None)
    assert statement.unreadable  # two different quantities, as before: the quote hides `statt`
    assert read_statement("Pos. 10: statt 80 Stück", None, None).ordered_quantity == 80


def _seconds(text: str) -> float:
    start = time.perf_counter()
    map_email_body(text)
    return time.perf_counter() - start


# Generous bounds: each of these bodies took minutes before (a 100 KB `Lieferung 1.5 2,5 `
# body 29 s, 20 KB of digits over two minutes); read in proportion to their length they take
# well under a second on a quiet machine.
def test_a_long_line_of_numbers_is_read_in_linear_time() -> None:
    unit = "Lieferung 1.5 2,5 "
    assert _seconds(unit * (100_000 // len(unit))) < 15


def test_long_runs_of_digits_and_marks_are_read_in_linear_time() -> None:
    for unit in ("1", "1.1", "5.12."):
        assert _seconds(unit * (20_000 // len(unit))) < 15, unit
