"""Readers for dates, numbers, units, currencies and status words, for email text and sheets.

Each reader returns the value, or `Unreadable` saying why, never a guess:

- **Dates.** ISO `2026-12-05` (and `2026/12/05`, `20261205`), Chinese `2026年12月5日`, month
  names in English or German (`5 Dec 2026`, `5. Dezember 2026`, `Dec 5, 2026`) and dotted
  `05.12.2026` / `5.12.26` are read as written: the dotted form is day first wherever it is
  used (DIN 5008; no locale writes month.day.year). A slashed or dashed `05/12/2026` is day
  first in Europe and month first in the US. It is read without a hint only when one reading
  exists (`25/12/2026`, or `05/05/2026`); otherwise the supplier's `DateOrder` decides, and
  without one the date is refused as ambiguous. Two-digit years are 1950-2049, as the EDIFACT
  readers read them.
- **Numbers.** `1.000` and `1,000` are a thousand or one, depending on the writer. A number
  with one separator followed by exactly three digits is read by the `NumberStyle` in force
  (the supplier's profile, else unambiguous numbers in the same text or sheet, else its
  language); without one it is refused as ambiguous. `12,50`, `1.234,56`, `1,234.56`, `0.500`
  have one reading and are read so.
- **Sheet cells.** A number cell in a date column is an Excel serial date (1900 date system);
  a float cell becomes the decimal of its shortest repr (`12.5` -> `Decimal('12.5')`, not the
  binary expansion `12.5000000000000000277...` of less friendly values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from gateway.domain.documents import LineStatus
from mappings.email.commitment import judge
from mappings.email.text import fold, shorten
from mappings.email.vocabulary import (
    CURRENCIES,
    CURRENCY_SIGNS,
    MONTHS,
    PENDING,
    STATUS_PRECEDENCE,
    STATUS_WORDS,
    UNITS,
)
from parsers.errors import ProblemCode
from parsers.sheets.model import CellValue


class DateOrder(StrEnum):
    """How a supplier writes `05/12/2026`: day first (5 December) or month first (12 May)."""

    DAY_FIRST = "day_first"
    MONTH_FIRST = "month_first"


class NumberStyle(StrEnum):
    """Which mark a supplier writes before the decimals: `12.50` or `12,50`."""

    DECIMAL_POINT = "decimal_point"
    DECIMAL_COMMA = "decimal_comma"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A value that was written but cannot be read with confidence, and why."""

    code: ProblemCode
    reason: str


Status = LineStatus | str  # a LineStatus, or PENDING: "not answered yet"

# -- dates -------------------------------------------------------------------------------------

_CENTURY_PIVOT = 50
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# Alternatives of one date as written; `DATE_PATTERN` finds them inside a sentence.
_DATE_FORMS = (
    r"(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?!\d)",
    r"(?P<cy>\d{4})\s*年\s*(?P<cm>\d{1,2})\s*月\s*(?P<cd>\d{1,2})\s*[日号]?",
    r"(?<!\d)(?P<dd>\d{1,2})\.\s?(?P<dm>\d{1,2})\.\s?(?P<dy>\d{4}|\d{2})(?!\d|\.\d)",
    r"(?<![\d.])(?P<sa>\d{1,2})(?P<sep>[/-])(?P<sb>\d{1,2})(?P=sep)(?P<sy>\d{4}|\d{2})(?!\d)",
    rf"(?<!\d)(?P<nd>\d{{1,2}})(?:\.|st|nd|rd|th)?[\s-]*(?P<nm>{_MONTH})(?![^\W\d_])\.?[\s,-]*"
    r"(?P<ny>\d{4}|\d{2})(?!\d)",
    rf"\b(?P<md>{_MONTH})(?![^\W\d_])\.?\s+(?P<mday>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<my>\d{{4}})(?!\d)",
    r"(?<!\d)(?P<compact>20\d{2}[01]\d[0-3]\d)(?!\d)",
)
DATE_PATTERN = re.compile("|".join(f"(?:{form})" for form in _DATE_FORMS), re.IGNORECASE)
_WEEKDAY = re.compile(r"^[^\W\d]+\.?,\s+(?=\d)")


def read_date(text: str, order: DateOrder | None) -> date | Unreadable:
    """One date written as text (the whole of `text`, a leading weekday allowed)."""
    folded = fold(text)
    match = DATE_PATTERN.fullmatch(_WEEKDAY.sub("", folded, count=1))
    if match is None:
        return Unreadable(ProblemCode.INVALID_DATE, f"{shorten(text)!r} is not a date")
    return date_of(match, order)


def date_of(match: re.Match[str], order: DateOrder | None) -> date | Unreadable:
    """The date a `DATE_PATTERN` match stands for."""
    group = match.group
    text = match.group(0)
    if group("iy"):
        return _calendar(text, int(group("iy")), int(group("im")), int(group("id")))
    if group("cy"):
        return _calendar(text, int(group("cy")), int(group("cm")), int(group("cd")))
    if group("dd"):
        return _calendar(text, _year(group("dy")), int(group("dm")), int(group("dd")))
    if group("sa"):
        return _slashed(text, int(group("sa")), int(group("sb")), _year(group("sy")), order)
    if group("nd"):
        return _calendar(text, _year(group("ny")), MONTHS[group("nm").casefold()],
                         int(group("nd")))
    if group("md"):
        return _calendar(text, int(group("my")), MONTHS[group("md").casefold()],
                         int(group("mday")))
    compact = group("compact")
    return _calendar(text, int(compact[:4]), int(compact[4:6]), int(compact[6:]))


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < _CENTURY_PIVOT else 1900
    return year


def _calendar(text: str, year: int, month: int, day: int) -> date | Unreadable:
    try:
        return date(year, month, day)
    except ValueError:
        return Unreadable(ProblemCode.INVALID_DATE, f"{text!r} does not exist in the calendar")


def _slashed(text: str, first: int, second: int, year: int,
             order: DateOrder | None) -> date | Unreadable:
    if order is DateOrder.DAY_FIRST:
        return _calendar(text, year, second, first)
    if order is DateOrder.MONTH_FIRST:
        return _calendar(text, year, first, second)
    readings = {r for r in (_calendar(text, year, second, first),
                            _calendar(text, year, first, second)) if isinstance(r, date)}
    if len(readings) == 1:
        return readings.pop()
    if not readings:
        return Unreadable(ProblemCode.INVALID_DATE, f"{text!r} does not exist in the calendar")
    return Unreadable(ProblemCode.AMBIGUOUS_VALUE,
                      f"{text!r} is day/month ({first} {_month_name(second)}) or month/day "
                      f"({second} {_month_name(first)}); the supplier's date order is not "
                      "known, so it is not read")


def _month_name(month: int) -> str:
    return date(2000, month, 1).strftime("%B")


# Excel's 1900 date system counts day 1 as 1900-01-01 and, copying a Lotus 1-2-3 bug, has a
# 29 February 1900 as day 60 (ECMA-376 Part 1, 18.17.4.1; Microsoft KB 214326): from day 61 on,
# serial n is 1899-12-30 + n days; before it, 1899-12-31 + n. Day 60 is no date.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_FAKE_LEAP_DAY = 60
# A serial outside these years is a number typed in the wrong column, not a delivery date.
_SERIAL_YEARS = range(1990, 2200)


def excel_serial_date(serial: Decimal) -> date | Unreadable:
    """The day an Excel serial date-time stands for (its time of day is dropped)."""
    days = int(serial)
    if days == _EXCEL_FAKE_LEAP_DAY:
        return Unreadable(ProblemCode.INVALID_DATE,
                          "Excel serial date 60 is 29 February 1900, which does not exist")
    if 0 < days < _EXCEL_FAKE_LEAP_DAY:
        days += 1
    value = _EXCEL_EPOCH + timedelta(days=days) if 0 < days < 2_958_466 else None
    if value is None or value.year not in _SERIAL_YEARS:
        return Unreadable(ProblemCode.INVALID_DATE,
                          f"the number {plain(serial)} is not a plausible date")
    return value


def read_date_cell(cell: CellValue, order: DateOrder | None) -> date | Unreadable | None:
    """A date from a sheet cell: typed date, Excel serial, `20261205`, or text."""
    if cell is None or isinstance(cell, date | datetime):
        return cell.date() if isinstance(cell, datetime) else cell
    if isinstance(cell, bool | time):
        return Unreadable(ProblemCode.INVALID_DATE, f"{cell!r} is not a date")
    if isinstance(cell, int | float | Decimal):
        number = decimal_of(cell)
        if number == number.to_integral_value() and 19_000_000 < number < 22_000_000:
            return read_date(str(int(number)), order)
        return excel_serial_date(number)
    if not cell.strip():
        return None
    return read_date(cell, order)


# -- numbers -----------------------------------------------------------------------------------

_GROUPING = re.compile(r"(?<=\d)[\s\u00a0\u202f'\u2019](?=\d{3}(?!\d))")
_PLAIN = re.compile(r"\d+")
_POINT_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_COMMA_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_ONE_MARK = re.compile(r"(?P<int>\d*)(?P<mark>[.,])(?P<frac>\d+)")
# Atomic: a shorter token than the whole run is always followed by a digit of the run.
NUMBER_TOKEN = re.compile(r"(?<![\w.,])(?>\d[\d.,]*\d)(?![\w.,]*\d)")


def read_number(text: str, style: NumberStyle | None) -> Decimal | Unreadable:
    """A non-negative decimal written as text, exactly (never through a float)."""
    folded = _GROUPING.sub("", fold(text))
    if _PLAIN.fullmatch(folded):
        return Decimal(folded)
    one = _ONE_MARK.fullmatch(folded)
    if one is not None:
        return _one_mark(text, one, style)
    if _POINT_GROUPED.fullmatch(folded) and not _COMMA_GROUPED.fullmatch(folded):
        return Decimal(folded.replace(",", ""))
    if _COMMA_GROUPED.fullmatch(folded):
        return Decimal(folded.replace(".", "").replace(",", "."))
    return Unreadable(ProblemCode.INVALID_NUMBER, f"{shorten(text)!r} is not a number")


def _one_mark(text: str, match: re.Match[str], style: NumberStyle | None) -> Decimal | Unreadable:
    whole, mark, fraction = match.group("int", "mark", "frac")
    grouping = len(fraction) == 3 and 0 < len(whole) <= 3 and not whole.startswith("0")
    if grouping:
        decimal_mark = {NumberStyle.DECIMAL_POINT: ".",
                        NumberStyle.DECIMAL_COMMA: ","}.get(style) if style else None
        if decimal_mark is None:
            return Unreadable(ProblemCode.AMBIGUOUS_VALUE,
                              f"{shorten(text)!r} is {whole}{fraction} with a thousands "
                              f"separator or {whole}.{fraction} with a decimal {_mark_name(mark)}"
                              "; the supplier's number style is not known, so it is not read")
        if mark != decimal_mark:
            return Decimal(whole + fraction)
    return Decimal(f"{whole or '0'}.{fraction}")


def _mark_name(mark: str) -> str:
    return "comma" if mark == "," else "point"


_TIME_AFTER = re.compile(r"\s*(?:uhr\b|h\b|hrs\b|am\b|pm\b|a\.m\.|p\.m\.|o'clock|点)")
_TIME_WORDS = ("um", "ab", "bis", "zwischen", "at", "from", "until", "between")
_TIME_BEFORE = re.compile("(?:" + "|".join(rf"\b{word}" for word in _TIME_WORDS) + r")\s*$")
# `fold` leaves at most one space between words, so a time word before a number lies within
# this many characters of it: only they are searched, not all the text before each number.
_TIME_WORD_REACH = max(len(word) for word in _TIME_WORDS) + 1


def style_evidence(text: str) -> NumberStyle | None:
    """The number style the unambiguous numbers in `text` show, or None (none, or both)."""
    seen: set[NumberStyle] = set()
    folded = fold(text)
    for match in NUMBER_TOKEN.finditer(folded):
        start = match.start()
        if _TIME_AFTER.match(folded, match.end()) or _TIME_BEFORE.search(
                folded, max(0, start - _TIME_WORD_REACH), start):
            continue  # `7.30 Uhr`, `4.30 pm`: a time of day, not a decimal
        style = _style_of(match.group(0))
        if style is not None:
            seen.add(style)
    return seen.pop() if len(seen) == 1 else None


def _style_of(token: str) -> NumberStyle | None:
    if _POINT_GROUPED.fullmatch(token) and ("." in token or token.count(",") > 1):
        return NumberStyle.DECIMAL_POINT
    if _COMMA_GROUPED.fullmatch(token) and ("," in token or token.count(".") > 1):
        return NumberStyle.DECIMAL_COMMA
    one = _ONE_MARK.fullmatch(token)
    if one is None or (len(one.group("frac")) == 3 and not one.group("int").startswith("0")):
        return None
    return NumberStyle.DECIMAL_POINT if one.group("mark") == "." else NumberStyle.DECIMAL_COMMA


def decimal_of(number: int | float | Decimal) -> Decimal:
    """A number cell as a decimal: a float by its shortest repr, an integral float as integer."""
    if isinstance(number, float):
        return Decimal(int(number)) if number.is_integer() else Decimal(repr(number))
    return Decimal(number)


def read_number_cell(cell: CellValue, style: NumberStyle | None) -> Decimal | Unreadable | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool) or not isinstance(cell, str | int | float | Decimal):
        return Unreadable(ProblemCode.INVALID_NUMBER, f"{cell!r} is not a number")
    if isinstance(cell, str):
        return read_number(cell, style)
    value = decimal_of(cell)
    if not value.is_finite() or value < 0:
        return Unreadable(ProblemCode.INVALID_NUMBER, f"{cell!r} is not a quantity or price")
    return value


def plain(value: Decimal) -> str:
    return format(value, "f")


# -- quantities, units, prices, currencies -----------------------------------------------------

UNIT_WORDS = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_NUMBER_MARKS = ".,'\u00a0\u202f"
_NUMBER_TEXT = rf"\d[\d{_NUMBER_MARKS}]*\d|\d"
# A quantity is looked for once per run of digits and marks, from where the run starts (`lead`:
# marks before its first digit), its number taken whole: the number can only be the run up to
# its last digit, as every unit starts with a letter. Tried from every digit of the run, with
# every shorter number, it cost the square of the run's length (`1.1.1.1...`). A run also starts
# after a unit's closing dot (`5 Stk.,6 Stk.`).
QUANTITY_WITH_UNIT = re.compile(
    rf"(?:(?<![\d{_NUMBER_MARKS}])|(?<=[^\W\d_]\.))(?P<lead>[{_NUMBER_MARKS}]*+)"
    rf"(?P<number>(?>{_NUMBER_TEXT}))\s*(?P<unit>{UNIT_WORDS})(?![^\W\d_])", re.IGNORECASE)
# In a cell of its own a number may group its thousands with spaces (`1 000`).
_QUANTITY_CELL = re.compile(r"(?P<number>\d[\d.,' ]*\d|\d|\.\d+|,\d+)\s*(?P<unit>[^\d\s].*)?")
_SIGNS = "|".join(re.escape(s.casefold()) for s in sorted(CURRENCY_SIGNS, key=len, reverse=True))
# The same alternatives without group names, to embed in other patterns.
CURRENCY_WORDS = (rf"(?<![a-z])(?:{'|'.join(c.casefold() for c in sorted(CURRENCIES))})(?![a-z])"
                  rf"|{_SIGNS}")
CURRENCY_PATTERN = re.compile(
    rf"(?<![a-z])(?P<code>{'|'.join(c.casefold() for c in sorted(CURRENCIES))})(?![a-z])"
    rf"|(?P<sign>{_SIGNS})", re.IGNORECASE)


# A sheet repeats a handful of units, currencies and status words down thousands of rows: the
# readers of these words are pure and cached (bounded, as a cell's text comes from the sender).
_WORD_CACHE = 1024


@lru_cache(maxsize=_WORD_CACHE)
def unit_code(text: str) -> str:
    """The UN/ECE Rec 20 code of a unit as written; an unknown unit stays as written."""
    folded = fold(text)
    return UNITS.get(folded, UNITS.get(folded.rstrip("."), text.strip().upper()))


def read_quantity_text(text: str, style: NumberStyle | None
                       ) -> tuple[Decimal | Unreadable, str | None]:
    """`80`, `80 pcs`, `1.000 Stück`, `80件`: the number and the unit code (or None)."""
    folded = fold(text)
    match = _QUANTITY_CELL.fullmatch(folded)
    if match is None:
        return Unreadable(ProblemCode.INVALID_NUMBER, f"{shorten(text)!r} is not a quantity"), None
    unit = match.group("unit")
    return read_number(match.group("number"), style), unit_code(unit) if unit else None


@lru_cache(maxsize=_WORD_CACHE)
def currency_code(text: str) -> str | None:
    """`EUR`, `€`, `RMB`, `元` -> the ISO 4217 code; None for anything else."""
    match = CURRENCY_PATTERN.fullmatch(fold(text))
    if match is None:
        return None
    if match.group("code"):
        return match.group("code").upper()
    return CURRENCY_SIGNS.get(match.group("sign"), CURRENCY_SIGNS.get(match.group("sign")
                                                                      .upper()))


def split_amount(text: str) -> tuple[str, str | None]:
    """`12.50 EUR`, `€ 12,50`, `12.50元` -> the number text and the currency code (or None)."""
    folded = fold(text)
    found = CURRENCY_PATTERN.search(folded)
    if found is None:
        return folded, None
    rest = (folded[: found.start()] + folded[found.end():]).strip()
    return rest, currency_code(found.group(0))


# -- status words ------------------------------------------------------------------------------


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        escaped = re.escape(fold(phrase)).replace(r"\ ", r"\s+")
        parts.append(escaped if not phrase.isascii() else rf"(?<![^\W\d_]){escaped}(?![^\W_])")
    return re.compile("|".join(parts))


_STATUS_PATTERNS: tuple[tuple[Status, re.Pattern[str]], ...] = tuple(
    (status, _phrase_pattern(tuple(p for ps in STATUS_WORDS[status].values() for p in ps)))
    for status in STATUS_PRECEDENCE
)


@lru_cache(maxsize=_WORD_CACHE)
def find_status(text: str) -> Status | None:
    """The status a text states: rejection before pending before change before acceptance.
    An acceptance or change that is negated, asked, hedged or put off ("cannot confirm",
    "无法确认", "ok?") states none."""
    folded = fold(text)
    for status, pattern in _STATUS_PATTERNS:
        if pattern.search(folded):
            positive = status in (LineStatus.ACCEPTED, LineStatus.CHANGED)
            if positive and not judge(folded).commits:
                return None
            return LineStatus(status) if status != PENDING else PENDING
    return None


def read_status(text: str) -> Status | Unreadable | None:
    """A status cell: blank is None, unknown words are unreadable (never taken as a yes)."""
    if not text.strip():
        return None
    found = find_status(text)
    if found is None:
        return Unreadable(ProblemCode.INVALID_CODE,
                          f"status {shorten(text)!r} is not a known confirmation or rejection")
    return found
