"""Typed readers for the segments the mappings use: element positions live here and only here.

Each reader takes a `Segment` and the `Notes` of its message, and returns plain values. A value
that cannot be read is `None` plus a note saying where and why; nothing is guessed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from gateway.domain.documents import Notice, Party
from mappings.edifact.codes import DateFormat
from parsers.edifact import EdifactMessage, Segment
from parsers.edifact.segments import part
from parsers.errors import MAX_PROBLEMS, ProblemCode

# ASCII digits only: str.isdigit() and \d also accept '²' (ISO 8859-1 0xB2) and other
# scripts' digits, which int() and Decimal() then reject or misread.
_NUMBER = re.compile(r"-?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# Two-digit years (formats 101 and 201) are read in the window 1950-2049, as ISO 8601 systems
# and EANCOM users do; ISO 9735 itself does not define a century.
_CENTURY_PIVOT = 50


class Notes:
    """The notices collected while mapping one message, located by segment; past
    `MAX_PROBLEMS` counted, not listed (as X12's, UBL's and cXML's: one value that is no value
    is one warning, and a message may repeat a bad value a million times)."""

    __slots__ = ("items", "message", "unlisted")

    def __init__(self, message: EdifactMessage) -> None:
        self.message = message
        self.items: list[Notice] = []
        self.unlisted = 0

    def add(self, segment: Segment | None, code: ProblemCode, detail: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.unlisted += 1
            return
        position = self.message.position(segment) if segment is not None else None
        self.items.append(Notice(code.value, detail, position,
                                 segment.tag if segment is not None else None))

    def listed(self) -> list[Notice]:
        """The notices, and one counting those past the cap."""
        return capped(self.items, self.unlisted)


def capped(items: list[Notice], unlisted: int) -> list[Notice]:
    """A document's warnings: the first `MAX_PROBLEMS` listed, and one counting the `unlisted`
    rest (every reader's notes keep to this)."""
    if not unlisted:
        return items
    return [*items, Notice(ProblemCode.OVER_LIMIT.value,
                           f"{unlisted} more warnings are not listed (the first "
                           f"{MAX_PROBLEMS} are)", None, None)]


# X12's type R (ASC X12.6: a sign, ASCII digits, one decimal point anywhere; only the minus is
# sent, a plus is tolerated) and xsd:decimal (XML Schema 1.1 Part 2, 3.3.3) are one pattern.
_PLAIN_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# The digits decimal arithmetic keeps exactly (the default context's precision): a longer
# number would be rounded on its first sum (split confirmations and ACK quantities add up).
MAX_DIGITS = 28


def plain_decimal(text: str) -> Decimal | str:
    """`text` as an X12 R numeric or xsd:decimal of at most `MAX_DIGITS` digits, or what is
    wrong with it (after the value's name in a warning). `Decimal()` alone would also take an
    exponent, NaN, `1_000` and other scripts' digits."""
    if _PLAIN_DECIMAL.fullmatch(text) is None:
        return f"{text[:40]!r} is not a number"
    value = Decimal(text)
    # The coefficient's digits are some of the text's characters: a text no longer than
    # MAX_DIGITS cannot hold more (and `as_tuple` costs more than the rest of the read).
    if len(text) > MAX_DIGITS and len(value.as_tuple().digits) > MAX_DIGITS:
        return f"{text[:40]!r} has more than {MAX_DIGITS} digits: not read"
    return value


def is_digits(text: str) -> bool:
    """Only the ASCII digits 0-9, at least one."""
    return text.isascii() and text.isdigit()


def read_decimal(text: str, segment: Segment, notes: Notes, what: str,
                 qualifier: str = "") -> Decimal | None:
    """A numeric value: digits with one decimal mark, comma or point (ISO 9735-1, 10.6)."""
    if not text:
        return None
    if text.isdigit() and text.isascii():
        return Decimal(text)
    if not _NUMBER.fullmatch(text):
        label = f"{what} {qualifier}" if qualifier else what
        notes.add(segment, ProblemCode.INVALID_NUMBER, f"{label} {text!r} is not a number")
        return None
    return Decimal(text.replace(",", "."))


def read_date(segment: Segment, notes: Notes) -> tuple[str, date | None]:
    """DTM C507: 2005 qualifier, 2380 value, 2379 format. Returns (qualifier, date)."""
    qualifier, text, form = segment.padded(0, 3)
    return qualifier, parse_date(text, form, segment, notes, qualifier)


def parse_date(text: str, form: str, segment: Segment, notes: Notes,
               qualifier: str) -> date | None:
    if form == DateFormat.CCYYMMDD and len(text) == 8 and text.isdigit() and text.isascii():
        # The common case, read in one call: `fromisoformat` reads eight digits as CCYYMMDD.
        day = _calendar_day(text)
        if day is not None:
            return day
    if not text:
        return None
    if not form:
        form = {8: DateFormat.CCYYMMDD, 12: DateFormat.CCYYMMDDHHMM}.get(len(text), "")
        if not form:
            notes.add(segment, ProblemCode.INVALID_DATE,
                      f"date {qualifier} {text!r} has no format code (2379) and no usual length")
            return None
        notes.add(segment, ProblemCode.ASSUMED_VALUE,
                  f"date {qualifier} {text!r} has no format code (2379); read as format {form}")
    digits = _DATE_LENGTHS.get(form)
    if digits is None:
        notes.add(segment, ProblemCode.INVALID_DATE,
                  f"date {qualifier}: format code {form!r} is not a calendar date format")
        return None
    if form in _PERIODS:
        text = text.partition("-")[0] if "-" in text else text[:digits]
        notes.add(segment, ProblemCode.ASSUMED_VALUE,
                  f"date {qualifier} is a period; its first day is used")
    elif form == DateFormat.CCYYMMDDHHMM_ZONE and len(text) > digits and text[digits] in "+-Z":
        # 205 is CCYYMMDDHHMMZHHMM: the offset (+0100) does not change the calendar day the
        # sender means, which is the day in its own time.
        text = text[:digits]
    elif digits > 8 and len(text) == 8 and is_digits(text):
        # Renault's DESADVs declare 203 (CCYYMMDDHHMM) and send CCYYMMDD: the day is certain.
        notes.add(segment, ProblemCode.ASSUMED_VALUE,
                  f"date {qualifier} {text!r} has no time of day although format {form} "
                  "asks for one; read as a date")
        digits = 8
    if len(text) != digits or not is_digits(text):
        notes.add(segment, ProblemCode.INVALID_DATE,
                  f"date {qualifier} {text!r} does not fit format {form}")
        return None
    if form in _TWO_DIGIT_YEARS:
        year = int(text[:2])
        text = ("20" if year < _CENTURY_PIVOT else "19") + text
    try:
        value = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        _check_time(text[8:12])
    except ValueError:
        notes.add(segment, ProblemCode.INVALID_DATE,
                  f"date {qualifier} {text!r} does not exist in the calendar")
        return None
    return value


_DATE_LENGTHS: dict[str, int] = {
    DateFormat.CCYYMMDD: 8,
    DateFormat.CCYYMMDDHHMM: 12,
    DateFormat.CCYYMMDDHHMMSS: 14,
    DateFormat.YYMMDD: 6,
    DateFormat.YYMMDDHHMM: 10,
    DateFormat.YYMMDDHHMMSS: 12,
    DateFormat.CCYYMMDDHHMM_ZONE: 12,
    DateFormat.CCYYMMDD_RANGE: 8,
    DateFormat.CCYYMMDDHHMM_RANGE: 12,
}
_PERIODS = frozenset({DateFormat.CCYYMMDD_RANGE, DateFormat.CCYYMMDDHHMM_RANGE})
_TWO_DIGIT_YEARS = frozenset({DateFormat.YYMMDD, DateFormat.YYMMDDHHMM,
                              DateFormat.YYMMDDHHMMSS})


def _calendar_day(digits: str) -> date | None:
    """The day of eight ASCII digits CCYYMMDD, or None for a day the calendar lacks."""
    try:
        return date.fromisoformat(digits)
    except ValueError:
        return None


def _check_time(hhmm: str) -> None:
    if hhmm and (int(hhmm[:2]) > 24 or int(hhmm[2:4]) > 59):
        raise ValueError(hhmm)


class Quantity(NamedTuple):
    qualifier: str
    value: Decimal | None
    unit: str | None


def read_quantity(segment: Segment, notes: Notes) -> Quantity:
    """QTY C186: 6063 qualifier, 6060 quantity, 6411 measurement unit."""
    qualifier, text, unit = segment.padded(0, 3)
    value = read_decimal(text, segment, notes, "quantity", qualifier)
    if not text:
        notes.add(segment, ProblemCode.MISSING_VALUE, f"quantity {qualifier} has no value")
    return Quantity(qualifier, value, unit or None)


class Reference(NamedTuple):
    qualifier: str
    value: str
    line_no: str


def read_reference(segment: Segment) -> Reference:
    """RFF C506: 1153 qualifier, 1154 reference, 1156 line number."""
    qualifier, value, line_no = segment.padded(0, 3)
    return Reference(qualifier, value, line_no)


def read_line_item(segment: Segment) -> tuple[str, str, str, str]:
    """LIN: 1082 line number, 1229 action, C212 (7140 item number, 7143 type). Returns
    (line number, action, item number, item type)."""
    item_id, item_type = segment.padded(2, 2)
    return segment.component(0), segment.component(1), item_id, item_type


def read_product_ids(segment: Segment) -> list[tuple[str, str]]:
    """PIA: 4347 function, then up to five C212 (7140 item number, 7143 type)."""
    ids = []
    for index in range(1, min(len(segment.elements), 6)):
        parts = segment.parts(index)
        if parts and parts[0]:
            ids.append((parts[0], part(parts, 1)))
    return ids


def read_description(segment: Segment, notes: Notes) -> str | None:
    """IMD C273: 7009 code, 1131, 3055, 7008 description, 7008 description, 3453 language.

    A colon left unescaped in the text (the German D01B ORDERS in the corpus writes "1:10")
    splits it into extra components; they are joined back and the sender is told.
    """
    elements = segment.elements
    if len(elements) > 2 and elements[2].__class__ is tuple:
        # C273 does not repeat: a repetition separator in it is text the sender forgot to
        # release (syntax version 4, `*` by default).
        notes.add(segment, ProblemCode.INVALID_CODE,
                  "description contains an unreleased repetition separator; read as text")
        text = "*".join(":".join(p) if isinstance(p, list) else p
                        for p in segment.repetitions(2))
        return text.split(":", 3)[-1].replace(":", " ").strip() or None
    value = elements[2] if len(elements) > 2 else None
    if value is None or value.__class__ is str:
        return None
    parts = value[3:]
    if len(value) > 6:
        notes.add(segment, ProblemCode.INVALID_CODE,
                  "description has more components than C273 allows: an unescaped ':'?")
        return ":".join(parts).strip() or None  # type: ignore[arg-type]
    if len(parts) == 1:
        return parts[0].strip() or None  # type: ignore[union-attr]
    return " ".join(p for p in parts[:2] if p).strip() or None  # type: ignore[misc]


class Price(NamedTuple):
    qualifier: str
    value: Decimal | None
    basis: str


def read_price(segment: Segment, notes: Notes) -> Price:
    """PRI C509: 5125 qualifier, 5118 price, 5375, 5387, 5284 unit price basis, 6411 unit."""
    parts = segment.parts(0)
    qualifier = part(parts, 0)
    return Price(qualifier, read_decimal(part(parts, 1), segment, notes, "price", qualifier),
                 part(parts, 4))


def read_amount(segment: Segment, notes: Notes) -> tuple[str, Decimal | None]:
    """MOA C516: 5025 qualifier, 5004 amount."""
    parts = segment.parts(0)
    qualifier = part(parts, 0)
    return qualifier, read_decimal(part(parts, 1), segment, notes, "amount", qualifier)


def read_party(segment: Segment) -> Party:
    """NAD: 3035 role, C082 (3039 id, 1131, 3055 agency), C058, C080 (3036 name)."""
    # C080: five 3036 party name components, then 3045 (a format code, not text).
    name = " ".join(p for p in _components(segment, 3)[:5] if p).strip()
    return Party(segment.component(0), segment.component(1, 0) or None,
                 segment.component(1, 2) or None, name or None)


def read_currency(segment: Segment) -> str | None:
    """CUX C504: 6347 usage qualifier, 6345 currency code."""
    return segment.component(0, 1) or None


def read_identities(segment: Segment) -> tuple[str, list[tuple[str, str]]]:
    """GIN: 7405 qualifier, then up to five C208 (7402 identity number from, 7402 to: a
    range when the second is given)."""
    ranges = []
    for index in range(1, min(len(segment.elements), 6)):
        parts = segment.parts(index)
        if parts and parts[0]:
            ranges.append((parts[0], part(parts, 1)))
    return segment.component(0), ranges


# More SSCCs than this in one range is not a despatch but a typo.
_MAX_SSCC_RANGE = 10_000
# The SSCCs all the ranges of one message may name: a range is one segment, so without it a
# file of ranges would hold thousands of times its own size.
MAX_RANGE_SSCCS = 100_000


def sscc_range_size(first: str, last: str) -> int | None:
    """How many SSCCs the range from `first` to `last` names, or None when it cannot be read
    (an end that is no SSCC, the ends reversed, more than `_MAX_SSCC_RANGE`)."""
    if sscc_problem(first) or sscc_problem(last) or first[:-1] > last[:-1]:
        return None
    size = int(last[:-1]) - int(first[:-1]) + 1
    return size if size <= _MAX_SSCC_RANGE else None


def expand_sscc_range(first: str, last: str) -> list[str] | None:
    """Every SSCC from `first` to `last` (GS1: the serial part counts up, the check digit is
    recomputed), or None when the range cannot be read."""
    if sscc_range_size(first, last) is None:
        return None
    start, stop = int(first[:-1]), int(last[:-1])
    return [f"{body:017d}{gs1_check_digit(f'{body:017d}')}" for body in range(start, stop + 1)]


def read_package_level(segment: Segment) -> tuple[str, str]:
    """CPS: 7164 hierarchical id, 7166 parent id."""
    return segment.component(0), segment.component(1)


def read_package_count(segment: Segment, notes: Notes) -> Decimal | None:
    """PAC: 7224 number of packages."""
    return read_decimal(segment.component(0), segment, notes, "number of packages")


def read_carrier(segment: Segment) -> tuple[str | None, str | None]:
    """TDT: 8051, 8028 conveyance reference, C220, C228, C040 (3127 carrier id, 1131, 3055,
    3128 carrier name). Returns (carrier, conveyance reference)."""
    carrier = (segment.component(4, 3) or segment.component(4, 0)).strip()
    # Generators that pad empty elements send a space: blank is not sent.
    return carrier or None, segment.component(1).strip() or None


def _components(segment: Segment, index: int) -> list[str]:
    value = segment.element(index)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@lru_cache(maxsize=1 << 16)
def gtin_problem(value: str) -> str | None:
    """Why `value` is not a GTIN (GS1 General Specifications 7.9: 8, 12, 13 or 14 digits with
    a mod-10 check digit), or None when it is one."""
    if not is_digits(value) or len(value) not in (8, 12, 13, 14):
        return f"{value!r} is not a GTIN (8, 12, 13 or 14 digits)"
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        return f"GTIN {value!r} has a wrong check digit"
    return None


def sscc_problem(value: str) -> str | None:
    """Why `value` is not an SSCC (GS1: 18 digits with a mod-10 check digit), or None."""
    if len(value) != 18 or not is_digits(value):
        return f"SSCC {value!r} is not 18 digits"
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        return f"SSCC {value!r} has a wrong check digit"
    return None


def gs1_check_digit(body: str) -> int:
    """Mod-10 check digit: weights 3 and 1 alternating from the rightmost digit."""
    if body.isascii() and body.isdigit():
        # Summed as bytes, without an int() per digit: each ASCII digit is its value + 48.
        digits = body[::-1].encode("ascii")
        odd, even = digits[::2], digits[1::2]
        total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
    else:
        total = 3 * sum(map(int, body[::-1][::2])) + sum(map(int, body[::-1][1::2]))
    return (10 - total % 10) % 10
