"""X12 855 (purchase order acknowledgment) and 850 (purchase order) -> canonical documents.

Both carry their lines as PO1 loops (PO1, then PID, CTP, DTM, and in the 855 ACK): the PO1
names the buyer's line (PO101), the ordered quantity, unit and price (PO102-PO104) and the
item (PO106/PO107 pairs on); the 855's ACK segments say what the supplier does with the line
(ACK01 status, ACK02/ACK03 quantity and unit, ACK04/ACK05 a dated promise). Several ACKs for
one line split it over dates: their quantities add up and the last date is the promise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.domain.documents import Document, DocumentKind, Line, LineStatus
from mappings.x12 import codes
from mappings.x12.readers import (
    Notes,
    add_item_ids,
    read_date,
    read_decimal,
    read_description,
    read_party,
)
from parsers.errors import ProblemCode
from parsers.x12 import X12Segment

_NOT_COMMITTED = frozenset({LineStatus.REJECTED, LineStatus.DELETED})


@dataclass(slots=True)
class _PendingLine:
    segment: X12Segment
    line: Line
    dates: dict[str, date | None] = field(default_factory=dict)
    acknowledged: Decimal | None = None
    acknowledged_unit: str | None = None
    statuses: list[str] = field(default_factory=list)
    promised: list[date] = field(default_factory=list)


class OrderBuilder:
    """One pass over an 850 or 855. Long by nature: one small method per segment tag."""

    def __init__(self, document: Document, notes: Notes) -> None:
        self.document = document
        self.notes = notes
        self.is_order = document.kind is DocumentKind.PURCHASE_ORDER
        self.dates: dict[str, date | None] = {}
        self.line: _PendingLine | None = None
        self.seen_beginning = False

    def beginning(self, segment: X12Segment) -> None:
        """BAK (855): 01 purpose, 02 acknowledgment type, 03 PO number, 04 PO date, 08 the
        seller's order number. BEG (850): 01 purpose, 02 order type, 03 PO number, 05 date."""
        self.seen_beginning = True
        document = self.document
        purpose = segment.element(1)
        document.function_code = purpose or None
        number = segment.element(3)
        if self.is_order:
            document.document_number = number or None
            document.document_date = read_date(segment.element(5), segment, self.notes)
        else:
            document.document_number = segment.element(8) or number or None
            document.document_date = read_date(segment.element(4), segment, self.notes)
            kind = segment.element(2)
            document.status = codes.PURPOSE_STATUS.get(purpose) or \
                codes.ACKNOWLEDGMENT_STATUS.get(kind)
            if kind and kind not in codes.ACKNOWLEDGMENT_STATUS and kind not in ("NA", "ZZ"):
                self.notes.add(segment, ProblemCode.INVALID_CODE,
                               f"acknowledgment type (BAK02) {kind!r} is not a known code")
        if number:
            document.order_numbers.append(number)
        else:
            self.notes.add(segment, ProblemCode.MISSING_VALUE,
                           f"{segment.tag}03 carries no purchase order number")

    def currency(self, segment: X12Segment) -> None:
        """CUR: 01 entity (BY/SE), 02 currency code."""
        if self.document.currency is None and segment.element(2):
            self.document.currency = segment.element(2)

    def dtm(self, segment: X12Segment) -> None:
        """DTM: 01 qualifier (374), 02 date."""
        qualifier = segment.element(1)
        value = read_date(segment.element(2), segment, self.notes)
        target = self.line.dates if self.line is not None else self.dates
        target.setdefault(qualifier, value)

    def party(self, segment: X12Segment) -> None:
        if self.line is None:
            self.document.parties.append(read_party(segment))

    def po1(self, segment: X12Segment) -> None:
        """PO1: 01 the buyer's line number, 02 quantity, 03 unit, 04 unit price, 06/07 ...
        product id pairs."""
        self._finish_line()
        number, quantity, unit, price, basis = segment.values(5)
        line = Line(line_no=number or None, order_line_no=number or None)
        line.quantity = read_decimal(quantity, segment, self.notes, "PO102 quantity")
        line.unit = unit or None
        line.price = read_decimal(price, segment, self.notes, "PO104 unit price")
        if line.price is not None:
            line.price_qualifier = basis or None
        add_item_ids(line.item, segment.pairs(6), segment, self.notes)
        if not self.is_order:
            line.ordered_quantity = line.quantity
        self.line = _PendingLine(segment, line)

    def pid(self, segment: X12Segment) -> None:
        if self.line is not None and self.line.line.item.description is None:
            self.line.line.item.description = read_description(segment)

    def ctp(self, segment: X12Segment) -> None:
        """CTP: 03 unit price; read when the PO1 sent none."""
        line = self.line
        if line is not None and line.line.price is None:
            line.line.price = read_decimal(segment.element(3), segment, self.notes,
                                           "CTP03 unit price")

    def ack(self, segment: X12Segment) -> None:
        """ACK: 01 line status (668), 02 quantity, 03 unit, 04 date qualifier, 05 date,
        07/08 ... product id pairs (the item the supplier ships, when it differs)."""
        line = self.line
        if line is None:
            self.notes.add(segment, ProblemCode.UNKNOWN_SEGMENT, "ACK before any PO1; ignored")
            return
        status, amount, unit, _qualifier, day = segment.values(5)
        line.statuses.append(status)
        if status and status not in codes.KNOWN_LINE_STATUSES:
            self.notes.add(segment, ProblemCode.INVALID_CODE,
                           f"line item status (ACK01) {status!r} is not a known code")
        quantity = read_decimal(amount, segment, self.notes, "ACK02 quantity")
        if quantity is not None and codes.LINE_STATUS.get(status) not in _NOT_COMMITTED:
            line.acknowledged = (line.acknowledged or 0) + quantity
            line.acknowledged_unit = line.acknowledged_unit or unit or None
        when = read_date(day, segment, self.notes)
        if when is not None:
            line.promised.append(when)
        # ACK07/ACK08 on are rare: the pairs are read only when there are elements past 06.
        if len(segment.elements) > 6 and (segment.element(7) or segment.element(8)):
            add_item_ids(line.line.item, segment.pairs(7), segment, self.notes)

    def _finish_line(self) -> None:
        pending, self.line = self.line, None
        if pending is None:
            return
        line = pending.line
        if pending.statuses:
            line.action_code = pending.statuses[0]
            mapped = {codes.LINE_STATUS.get(code) for code in pending.statuses}
            # ACKs that split a line over dates or partly refuse it: the line as a whole is
            # changed (a part accepted and a part refused or later is not the order).
            line.status = mapped.pop() if len(mapped) == 1 else LineStatus.CHANGED
        if pending.acknowledged is not None:
            line.quantity = pending.acknowledged
            line.unit = pending.acknowledged_unit or line.unit
        elif line.status in _NOT_COMMITTED:
            line.quantity = None
        if line.quantity is None and line.status not in _NOT_COMMITTED:
            self.notes.add(pending.segment, ProblemCode.MISSING_VALUE,
                           f"line {line.line_no or '?'} has no quantity (PO102/ACK02)")
        order = codes.REQUESTED_DATES if self.is_order else codes.PROMISED_DATES
        line.delivery_date = max(pending.promised) if pending.promised else _first(
            pending.dates, order)
        line.requested_delivery_date = _first(pending.dates, codes.REQUESTED_DATES)
        if not line.item.ids:
            self.notes.add(pending.segment, ProblemCode.MISSING_VALUE,
                           f"line {line.line_no or '?'} identifies no item (PO106/PO107)")
        self.document.lines.append(line)

    def finish(self) -> None:
        self._finish_line()
        document = self.document
        order = codes.REQUESTED_DATES if self.is_order else codes.PROMISED_DATES
        document.expected_delivery_date = _first(self.dates, order)
        fallback = document.order_numbers[0] if document.order_numbers else None
        for line in document.lines:
            line.order_number = line.order_number or fallback
            if line.delivery_date is None and line.status not in _NOT_COMMITTED:
                line.delivery_date = document.expected_delivery_date
            if line.requested_delivery_date is None:
                line.requested_delivery_date = _first(self.dates, codes.REQUESTED_DATES)
            line.currency = line.currency or document.currency


def _first(dates: dict[str, date | None], order: tuple[str, ...]) -> date | None:
    for qualifier in order:
        value = dates.get(qualifier)
        if value is not None:
            return value
    return None


# Typed: mypyc cannot infer the type of a dict of unbound methods.
HANDLERS: dict[str, Callable[[OrderBuilder, X12Segment], None]] = {
    "BAK": OrderBuilder.beginning,
    "BEG": OrderBuilder.beginning,
    "CUR": OrderBuilder.currency,
    "DTM": OrderBuilder.dtm,
    "N1": OrderBuilder.party,
    "PO1": OrderBuilder.po1,
    "PID": OrderBuilder.pid,
    "CTP": OrderBuilder.ctp,
    "ACK": OrderBuilder.ack,
}
