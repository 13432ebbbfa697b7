"""Typed readers of X12 values: dates, numbers, item ids, parties (one place for element
positions that recur across the 850, 855 and 856)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway.domain.documents import Item, ItemId, Notice, Party
from mappings.edifact.readers import MAX_DIGITS, capped, gtin_problem, is_digits, plain_decimal
from mappings.x12 import codes
from parsers.errors import MAX_PROBLEMS, ProblemCode
from parsers.x12 import Transaction, X12Segment


class Notes:
    """The notices collected while mapping one transaction set, located by segment; past
    `MAX_PROBLEMS` counted, not listed."""

    __slots__ = ("items", "transaction", "unlisted")

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.items: list[Notice] = []
        self.unlisted = 0

    def add(self, segment: X12Segment | None, code: ProblemCode, detail: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.unlisted += 1
            return
        position = self.transaction.position(segment) if segment is not None else None
        self.items.append(Notice(code.value, detail, position,
                                 segment.tag if segment is not None else None))

    def listed(self) -> list[Notice]:
        """The notices, and one counting those past the cap."""
        return capped(self.items, self.unlisted)


def read_date(text: str, segment: X12Segment, notes: Notes) -> date | None:
    """A date in CCYYMMDD (DT, from 004010 on) or YYMMDD (earlier versions, ISA09)."""
    if not text:
        return None
    if len(text) == 8 and text.isdigit() and text.isascii():
        # CCYYMMDD, by far the most common: read without the general path's arithmetic.
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    elif len(text) == 6 and is_digits(text):
        year = 2000 + int(text[:2])
        if year > 2069:
            year -= 100
        try:
            return date(year, int(text[2:4]), int(text[4:]))
        except ValueError:
            pass
    notes.add(segment, ProblemCode.INVALID_DATE, f"{text[:40]!r} is not a date (CCYYMMDD)")
    return None


def read_decimal(text: str, segment: X12Segment, notes: Notes, what: str) -> Decimal | None:
    """An X12 numeric (ASC X12.6 types R and Nn): ASCII digits, an optional sign and decimal
    point, at most `MAX_DIGITS` digits. `Decimal()` alone would also take an exponent, NaN,
    `1_000` and other scripts' digits."""
    if not text:
        return None
    if len(text) <= MAX_DIGITS and text.isdigit() and text.isascii():
        # Plain ASCII digits (most quantities): a finite number, nothing more to check.
        return Decimal(text)
    value = plain_decimal(text)
    if isinstance(value, str):
        notes.add(segment, ProblemCode.INVALID_NUMBER, f"{what} {value}")
        return None
    return value


def add_item_ids(item: Item, pairs: list[tuple[str, str]], segment: X12Segment,
                 notes: Notes) -> None:
    """Product ids (235 qualifier, 234 id) onto an item, GTINs checked."""
    for qualifier, value in pairs:
        if qualifier in codes.GTIN_QUALIFIERS:
            problem = gtin_problem(value)
            if problem is not None:
                notes.add(segment, ProblemCode.INVALID_IDENTIFIER, problem)
            # A wrong check digit is kept and warned, as EDIFACT's EN and UBL's 0160 are
            # (docs/formats.md, the line's `item.gtin`); a value that is not digits is no GTIN.
            if item.gtin is None and is_digits(value):
                item.gtin = value
        elif qualifier in codes.BUYER_QUALIFIERS:
            item.buyer_part = item.buyer_part or value
        elif qualifier in codes.SUPPLIER_QUALIFIERS and qualifier != "MG":
            item.supplier_part = item.supplier_part or value
        item.ids.append(ItemId(value, qualifier or None))


def read_party(n1: X12Segment) -> Party:
    """N1: N101 entity identifier, N102 name, N103 id code qualifier, N104 id code; the role
    as the canonical model names it (EDIFACT 3035), the X12 code when it has no equal."""
    role = n1.element(1)
    return Party(codes.PARTY_ROLES.get(role, role), n1.element(4) or None,
                 n1.element(3) or None, n1.element(2) or None)


def read_description(pid: X12Segment) -> str | None:
    """PID05, the free-form description."""
    return pid.element(5) or None
