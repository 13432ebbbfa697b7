"""Canonical order events: past-tense facts a supplier document states (docs/architecture.md,
"Events").

`document_events` turns a canonical document into events, whatever format it came in.
Reconciliation applies them to the open order lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    Line,
    LineStatus,
    SourceFormat,
)


# Per-line events are plain slotted dataclasses, never changed once built: a frozen one's
# __init__ sets each field through object.__setattr__ (see OrderLine).
@dataclass(slots=True)
class LineRef:
    """How a supplier named an order line: order number, line numbers and item ids."""

    order_number: str | None
    order_line_no: str | None
    line_no: str | None
    gtin: str | None = None
    buyer_part: str | None = None
    supplier_part: str | None = None
    position: int = 0

    @classmethod
    def of(cls, line: Line, position: int, fallback_order: str | None) -> LineRef:
        item: Item = line.item
        return cls(line.order_number or fallback_order, line.order_line_no, line.line_no,
                   item.gtin, item.buyer_part, item.supplier_part, position)


@dataclass(frozen=True, slots=True)
class OrderAcknowledged:
    """The whole order is accepted as ordered (ORDRSP 1225 = 29 with no lines)."""

    order_number: str


@dataclass(frozen=True, slots=True)
class OrderRejected:
    order_number: str


@dataclass(slots=True)
class LineConfirmed:
    """A line confirmed, changed or not: quantity, date and price as the supplier commits."""

    ref: LineRef
    quantity: Decimal | None
    unit: str | None
    delivery_date: date | None
    price: Decimal | None
    changed: bool


@dataclass(slots=True)
class LineRejected:
    ref: LineRef


@dataclass(slots=True)
class LineUnclear:
    """A line the supplier gives values for without saying whether it confirms them (an email
    line with a quantity and no commitment word): not a confirmation, and not a rejection."""

    ref: LineRef
    quantity: Decimal | None
    unit: str | None
    delivery_date: date | None


@dataclass(slots=True)
class LinesDespatched:
    """One despatch advice line: what left, and when it is expected."""

    ref: LineRef
    quantity: Decimal | None
    unit: str | None
    expected_delivery: date | None


@dataclass(frozen=True, slots=True)
class ResponseComplete:
    """The response lists every line it answers: lines of these orders not named are not
    confirmed (LINE_NOT_CONFIRMED)."""

    order_numbers: tuple[str, ...]
    named: tuple[LineRef, ...] = field(default_factory=tuple)
    replaces: bool = False


Event = (OrderAcknowledged | OrderRejected | LineConfirmed | LineRejected | LineUnclear
         | LinesDespatched | ResponseComplete)

# ORDRSP message functions (1225) after which the response is read as complete: a replacement
# (5) restates every line; an acceptance (29) with lines lists what it accepts.
_COMPLETE_FUNCTIONS = frozenset({"5", "29"})
# Written by people: a line's status is what its words say, or nothing.
_WORDS = frozenset({SourceFormat.EMAIL_TEXT, SourceFormat.SPREADSHEET})
# A structured message's line without a status code of its own answers as its header does
# (EANCOM ORDRSP: BGM 1225 is the message's answer, LIN 1229 only where a line differs). A
# replacement (5) restates the response it replaces and is read like an acceptance.
_HEADER_LINE_STATUS = {DocumentStatus.ACCEPTED: LineStatus.ACCEPTED,
                       DocumentStatus.CHANGED: LineStatus.CHANGED,
                       DocumentStatus.REPLACED: LineStatus.ACCEPTED}


def document_events(document: Document) -> list[Event]:
    """The events a canonical document states. Pure: the same document, the same events."""
    if document.kind is DocumentKind.ORDER_RESPONSE:
        return _response_events(document)
    if document.kind is DocumentKind.DESPATCH_ADVICE:
        return _despatch_events(document)
    return []


def _fallback_order(document: Document) -> str | None:
    return document.order_numbers[0] if len(document.order_numbers) == 1 else None


def _response_events(document: Document) -> list[Event]:
    orders = document.order_numbers
    if document.status is DocumentStatus.REJECTED:
        return [OrderRejected(number) for number in orders]
    if document.status is DocumentStatus.CANCELLED:
        return [OrderRejected(number) for number in orders]
    fallback = _fallback_order(document)
    events: list[Event] = []
    if not document.lines:
        # Only an explicit acceptance accepts the whole order: a response without lines whose
        # message function cannot be read (no or an unknown 1225) confirms nothing.
        if document.status is DocumentStatus.ACCEPTED:
            events.extend(OrderAcknowledged(number) for number in orders)
        return events
    refs = []
    for position, line in enumerate(document.lines, 1):
        ref = LineRef.of(line, position, fallback)
        refs.append(ref)
        status = line_status(line, document)
        if status in (LineStatus.REJECTED, LineStatus.DELETED):
            events.append(LineRejected(ref))
        elif status is None:
            events.append(LineUnclear(ref, line.quantity, line.unit, line.delivery_date))
        else:
            events.append(LineConfirmed(ref, line.quantity, line.unit, line.delivery_date,
                                        line.price, status is LineStatus.CHANGED))
    events = _merge_schedules(events)
    if document.function_code in _COMPLETE_FUNCTIONS and orders:
        events.append(ResponseComplete(tuple(orders), tuple(refs),
                                       replaces=document.function_code == "5"))
    return events


def line_status(line: Line, document: Document) -> LineStatus | None:
    """What a response line says: its own status; in a structured message without one, the
    header's (accepted or changed); otherwise None, which never confirms a line."""
    if line.status is not None:
        return line.status
    if document.source_format in _WORDS or document.status is None:
        return None
    return _HEADER_LINE_STATUS.get(document.status)


def _merge_schedules(events: list[Event]) -> list[Event]:
    """Several response lines naming the same order line are delivery schedules of it
    (60 now, 40 next week): one confirmation of their total, due on the last date."""
    merged: dict[tuple[str, str], int] = {}
    out: list[Event] = []
    for event in events:
        key = ((event.ref.order_number or "", event.ref.order_line_no.strip().lstrip("0"))
               if isinstance(event, LineConfirmed) and event.ref.order_line_no else None)
        if key is None or key not in merged:
            if key is not None:
                merged[key] = len(out)
            out.append(event)
            continue
        first = out[merged[key]]
        assert isinstance(first, LineConfirmed)
        assert isinstance(event, LineConfirmed)
        out[merged[key]] = LineConfirmed(
            first.ref, _add(first.quantity, event.quantity), first.unit or event.unit,
            max((d for d in (first.delivery_date, event.delivery_date) if d), default=None),
            first.price if first.price is not None else event.price, changed=True)
    return out


def _add(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None or second is None:
        return first if second is None else second
    return first + second


def _despatch_events(document: Document) -> list[Event]:
    fallback = _fallback_order(document)
    return [
        LinesDespatched(LineRef.of(line, position, fallback), line.quantity, line.unit,
                        line.delivery_date or document.expected_delivery_date)
        for position, line in enumerate(document.lines, 1)
    ]
