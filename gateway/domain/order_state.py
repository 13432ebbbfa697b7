"""The state of a whole purchase order, derived from its lines (pure): what the order page
shows a buyer at a glance.

- `shipped`: every line despatched in full (or the supplier despatched it as complete);
- `overdue`: a line not yet despatched in full whose date has passed (the date the supplier
  expects to deliver, else the confirmed date, else the requested one);
- `partly_shipped`: some despatched, the rest not yet due;
- `confirmed_with_changes`: every line answered, at least one with another quantity, date or
  price, or rejected;
- `confirmed`: every line confirmed as ordered;
- `sent`: a line is still waiting for the supplier's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from gateway.domain.orders import LineState


class OrderState(StrEnum):
    SENT = "sent"
    CONFIRMED = "confirmed"
    CONFIRMED_WITH_CHANGES = "confirmed_with_changes"
    PARTLY_SHIPPED = "partly_shipped"
    SHIPPED = "shipped"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What the order's state is derived from, per line."""

    state: LineState
    quantity: Decimal
    despatched: Decimal
    requested: date | None
    confirmed: date | None = None
    expected: date | None = None


def _shipped(line: LineFacts) -> bool:
    return line.state is LineState.DESPATCHED or (
        line.quantity > 0 and line.despatched >= line.quantity)


def _due(line: LineFacts) -> date | None:
    return line.expected or line.confirmed or line.requested


def order_state(lines: Sequence[LineFacts], today: date) -> OrderState:
    """The order's state on `today`; an order without lines is `sent`."""
    live = [line for line in lines if line.state is not LineState.REJECTED]
    if live and all(_shipped(line) for line in live):
        return OrderState.SHIPPED
    if any(not _shipped(line) and (due := _due(line)) is not None and due < today
           for line in live):
        return OrderState.OVERDUE
    if any(line.despatched > 0 for line in live):
        return OrderState.PARTLY_SHIPPED
    if not lines or any(line.state is LineState.OPEN for line in lines):
        return OrderState.SENT
    if all(line.state is LineState.CONFIRMED for line in lines):
        return OrderState.CONFIRMED
    return OrderState.CONFIRMED_WITH_CHANGES
