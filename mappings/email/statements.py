"""Sentences in an email that answer an order line or a whole order.

A line statement names a line (`line 10`, `pos. 20`, `Pos. 10`, `行号 10`, `第3行`) and says
something about it: a quantity with its unit or after `qty`/`Menge`/`数量`, a date (after
`delivery`/`Liefertermin`/`交货日期`, or the only date in the sentence), a price (after
`price`/`Preis`/`单价`), a currency, accept/reject/change words. The order is the one the
sentence names (`PO 4500012345`, `Bestellung 4500012345`, `采购订单 4500012345`), else the one
named last above it, else the one the subject names.

What the sentence holds is taken apart piece by piece: each piece read is blanked out before
the next is looked for, so that the `10` of `line 10` is never read as a quantity, nor the
`1st` of `Dec 1st` as one piece.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

from gateway.domain.documents import DocumentStatus
from mappings.email.commitment import Judgement, judge
from mappings.email.text import fold
from mappings.email.values import (
    CURRENCY_PATTERN,
    CURRENCY_WORDS,
    DATE_PATTERN,
    QUANTITY_WITH_UNIT,
    UNIT_WORDS,
    DateOrder,
    NumberStyle,
    Status,
    Unreadable,
    currency_code,
    date_of,
    find_status,
    read_number,
    unit_code,
)
from mappings.email.vocabulary import (
    CONDITION_WORDS,
    CONTACT_NUMBERS,
    COUNT_UNITS,
    LINE_WORDS,
    MONTHS,
    NEGATIONS,
    ORDER_NUMBER_SUFFIX,
    ORDER_PHRASES,
    ORDER_WORDS,
    ORDERED_WORDS,
    PRICE_WORDS,
    QUANTITY_WORDS,
    RELATIVE_DAYS,
    REQUEST_WORDS,
    SUPPLIER_LINE,
    SUPPLIER_NUMBER,
    SUPPLIER_REFERENCES,
    VAGUE_DATES,
)
from parsers.errors import ProblemCode


def _words(alternatives: str) -> str:
    """Latin words end at a word boundary; Chinese ones stand anywhere."""
    latin = [w for w in alternatives.split("|") if w.isascii()]
    other = [w for w in alternatives.split("|") if not w.isascii()]
    parts = [rf"(?<![^\W\d_])(?:{'|'.join(latin)})(?![^\W\d_])"] if latin else []
    if other:
        parts.append(f"(?:{'|'.join(other)})")
    return "|".join(parts)


_I = re.IGNORECASE
_ORDER = re.compile(
    rf"(?:{_words(ORDER_WORDS)}){ORDER_NUMBER_SUFFIX}\s*[:#.]?\s*"
    r"(?P<number>(?:[A-Za-z]{1,3}-?)?\d[0-9A-Za-z-]*)", _I)
_LINES = re.compile(
    r"(?<![^\W\d_])(?:lines|positions|positionen|items|zeilen|行号)\s*[:#.]?\s*"
    r"(?P<list>\d{1,6}(?:\s*(?:,|and|und|&|/|、|和)\s*\d{1,6})+)(?![^\W\u3400-\u9fff]|-)",
    re.IGNORECASE)
_LINE = re.compile(
    rf"(?:{_words(LINE_WORDS)})(?:\s*(?:no|nr)\.?)?\s*[:#.]?\s*(?P<line>\d{{1,6}})(?![^\W\u3400-\u9fff]|-)"
    r"|第\s*(?P<nth>\d{1,6})\s*行", _I)
_NUMBER = r"\d[\d.,'\u00a0\u202f]*\d|\d"
_CURRENCY = CURRENCY_WORDS
_KEYED_QUANTITY = re.compile(
    rf"(?:{_words(QUANTITY_WORDS)})\s*[:=]?\s*(?P<number>{_NUMBER})"
    rf"(?:\s*(?P<unit>{UNIT_WORDS})(?![^\W\d_]))?", _I)
_PRICE = re.compile(
    rf"(?:{_words(PRICE_WORDS)}|@)\s*[:=]?\s*(?P<before>{_CURRENCY})?\s*(?P<number>{_NUMBER})"
    rf"\s*(?P<after>{_CURRENCY})?", _I)
_ORDERED_KEY = re.compile(rf"(?:{_words(ORDERED_WORDS)})\s*(?:date|termin|:)?\s*$", _I)
_NEGATION = re.compile("|".join(NEGATIONS), _I)
# "our sales order SO-88812 line 1", "Lieferschein 80012", "Tel. +49 561 1234-0": the
# supplier's own numbers, taken out before the buyer's order and line are looked for.
_SUPPLIER_REFERENCE = re.compile(
    rf"(?:{'|'.join(SUPPLIER_REFERENCES)}){SUPPLIER_NUMBER}{SUPPLIER_LINE}|{CONTACT_NUMBERS}", _I)
_REQUEST = re.compile("|".join(REQUEST_WORDS), _I)
_CONDITION = re.compile("|".join(CONDITION_WORDS), _I)
# "May" is also a verb: a month named alone is looked for by its other names.
_MONTH_NAMES = sorted((m for m in MONTHS if m != "may"), key=len, reverse=True)
_MONTH_ALONE = re.compile(rf"(?<![^\W\d_])(?:{'|'.join(_MONTH_NAMES)})(?![^\W\d_])", _I)
_VAGUE_DATE = re.compile("|".join([*VAGUE_DATES, _MONTH_ALONE.pattern]), _I)
_RELATIVE_DAY = re.compile("|".join(RELATIVE_DAYS), _I)
_ORDER_PHRASES = tuple(
    (status, re.compile("|".join(p for ps in by_language.values() for p in ps), _I))
    for status, by_language in ORDER_PHRASES.items()
)
_MIN_ORDER_DIGITS = 3
_V = TypeVar("_V")
_KEY_REACH = 30


def order_numbers_in(text: str) -> list[str]:
    """The order numbers a text names (`PO 4500012345`, `订单号: 4500012345`), in order."""
    return [n for n in (_order_number(m) for m in _ORDER.finditer(text)) if n]


def _order_number(match: re.Match[str]) -> str | None:
    number = match.group("number").rstrip("-")
    return number if sum(c.isdigit() for c in number) >= _MIN_ORDER_DIGITS else None


@dataclass(slots=True)
class Statement:
    """What one sentence says. Values are None when not said; `unreadable` lists what was
    said and cannot be read, `conflicts` what was said twice differently."""

    orders: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    quantity: Decimal | None = None
    unit: str | None = None
    ordered_quantity: Decimal | None = None
    delivery_date: date | None = None
    requested_date: date | None = None
    price: Decimal | None = None
    currency: str | None = None
    status: Status | None = None
    order_status: DocumentStatus | None = None
    unreadable: list[Unreadable] = field(default_factory=list)
    is_request: bool = False
    negated_acceptance: bool = False
    # The answer depends on something ("if you confirm the price"): an offer, not an answer.
    conditional: bool = False
    # What undoes the sentence's commitment (a negation, a question, a range ...), if anything.
    judgement: Judgement = field(default_factory=Judgement)
    supplier_references: list[str] = field(default_factory=list)

    @property
    def says_something(self) -> bool:
        return any(v is not None for v in (self.quantity, self.delivery_date, self.price,
                                           self.status)) or bool(self.unreadable)


def read_statement(sentence: str, style: NumberStyle | None,
                   date_order: DateOrder | None, *, style_known: bool = False) -> Statement:
    """Take one sentence (NFKC text) apart. `style_known`: the style is the supplier's own
    (its profile), not inferred from the text."""
    found = Statement(is_request=bool(_REQUEST.search(sentence)),
                      conditional=bool(_CONDITION.search(sentence)))
    text = _take(_SUPPLIER_REFERENCE, sentence,
                 lambda m: found.supplier_references.append(m.group(0).strip()))
    text = _take(_ORDER, text, lambda m: _add(found.orders, _order_number(m)))
    text = _take(_LINES, text, lambda m: _add(found.lines, *re.findall(r"\d+", m.group("list"))))
    text = _take(_LINE, text, lambda m: _add(found.lines, m.group("line") or m.group("nth")))
    named = text  # the order and line taken out: "pos. 20 - 100 pcs" is no range
    text = _take(DATE_PATTERN, text, lambda m: _date(found, m, sentence, date_order))
    text = _take(_PRICE, text, lambda m: _price(found, m, style))
    text = _take(_KEYED_QUANTITY, text,
                 lambda m: _quantity(found, m, sentence, style, style_known))
    text = _take(QUANTITY_WITH_UNIT, text,
                 lambda m: _quantity(found, m, sentence, style, style_known))
    text = _take(_VAGUE_DATE, text, lambda m: found.unreadable.append(Unreadable(
        ProblemCode.INVALID_DATE, f"{m.group(0).strip()!r} is not a date that can be read (a "
        "day, month and year)")))
    if found.delivery_date is None:
        text = _take(_RELATIVE_DAY, text, lambda m: found.unreadable.append(Unreadable(
            ProblemCode.INVALID_DATE, f"{m.group(0).strip()!r} names a day without its date "
            "(a day, month and year)")))
    text = _take(CURRENCY_PATTERN, text, lambda m: _currency(found, currency_code(m.group(0))))
    found.status = find_status(text)
    found.judgement = judge(text, named)
    found.order_status, found.negated_acceptance = _order_status(fold(sentence))
    for leftover in _LEFTOVER_NUMBER.finditer(text):
        found.unreadable.append(Unreadable(
            ProblemCode.UNREADABLE_TEXT,
            f"the number {leftover.group(0)!r} has no unit or label saying what it is"))
    return found


# Chinese text writes numbers next to its words (`可交80件, 余下20`): a CJK character does not
# make a number part of a word.
_LEFTOVER_NUMBER = re.compile(
    r"(?<![^\W\u3400-\u9fff])(?<!\.)\d(?:[\d.,]*\d)?(?![^\W\u3400-\u9fff])")
_AMBIGUOUS_GROUP = re.compile(r"[1-9]\d{0,2}[.,]\d{3}")
_Use = Callable[[re.Match[str]], None]


def _take(pattern: re.Pattern[str], text: str, use: _Use) -> str:
    """Hand each match to `use` and blank it out of the text (same length, so positions
    still point into the sentence)."""
    def blank(match: re.Match[str]) -> str:
        use(match)
        return " " * len(match.group(0))
    return pattern.sub(blank, text)


def _add(values: list[str], *found: str | None) -> None:
    for value in found:
        if value and value not in values:
            values.append(value)


def _is_ordered(sentence: str, match: re.Match[str]) -> bool:
    """Whether the value follows "instead of", "ordered", "statt", "原" ...: the buyer's."""
    # A quantity with its unit is matched from the marks before its number (`lead`).
    start = match.end("lead") if "lead" in match.re.groupindex else match.start()
    return bool(_ORDERED_KEY.search(sentence[max(0, start - _KEY_REACH):start]))


def _date(found: Statement, match: re.Match[str], sentence: str,
          date_order: DateOrder | None) -> None:
    value = date_of(match, date_order)
    if isinstance(value, Unreadable):
        found.unreadable.append(value)
    elif _is_ordered(sentence, match):
        found.requested_date = _one(found, found.requested_date, value, "requested date")
    else:
        found.delivery_date = _one(found, found.delivery_date, value, "delivery date")


def _price(found: Statement, match: re.Match[str], style: NumberStyle | None) -> None:
    value = read_number(match.group("number"), style)
    if isinstance(value, Unreadable):
        found.unreadable.append(value)
        return
    found.price = _one(found, found.price, value, "price")
    for sign in (match.group("before"), match.group("after")):
        if sign:
            _currency(found, currency_code(sign))


def _quantity(found: Statement, match: re.Match[str], sentence: str,
              style: NumberStyle | None, style_known: bool) -> None:
    value = read_number(match.group("number"), style)
    if isinstance(value, Unreadable):
        found.unreadable.append(value)
        return
    unit = unit_code(match.group("unit")) if match.group("unit") else None
    number = match.group("number")
    digits = re.sub(r"\D", "", number)
    if (unit in COUNT_UNITS and not style_known and _AMBIGUOUS_GROUP.fullmatch(number)
            and value != Decimal(digits)):
        # `1.000 pcs` read as one piece because the text is English (or `1,000 Stück` because
        # it is German): pieces have no decimals, and the writer's style is only inferred.
        found.unreadable.append(Unreadable(
            ProblemCode.AMBIGUOUS_VALUE,
            f"{number!r} {match.group('unit')} is {digits} with a thousands "
            f"separator or {value} with decimals; the supplier's number style is not known, so "
            "it is not read"))
        return
    if _is_ordered(sentence, match):
        found.ordered_quantity = _one(found, found.ordered_quantity, value, "ordered quantity")
    else:
        found.quantity = _one(found, found.quantity, value, "quantity")
        found.unit = _one(found, found.unit, unit, "unit") if unit else found.unit


def _currency(found: Statement, code: str | None) -> None:
    if code:
        found.currency = _one(found, found.currency, code, "currency")


def _one(found: Statement, known: _V | None, value: _V, what: str) -> _V | None:
    if known is not None and known != value:
        found.unreadable.append(Unreadable(ProblemCode.CONFLICTING_VALUES,
                                           f"two different {what}s, {known} and {value}"))
    return value if known is None else known


def _order_status(folded: str) -> tuple[DocumentStatus | None, bool]:
    """What a sentence says about a whole order, and whether it negates an acceptance."""
    said = [status for status, pattern in _ORDER_PHRASES if pattern.search(folded)]
    if DocumentStatus.REJECTED in said:
        return DocumentStatus.REJECTED, False
    if said and _NEGATION.search(folded):
        return None, True
    return (said[0] if said else None), False
