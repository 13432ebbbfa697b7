"""An order's state as a buyer names it, from its lines' states and dates (pure).

sent (no line answered yet), confirmed (every line confirmed as ordered), confirmed_with_changes
(every line answered, one at least with a change or a rejection), partly_answered, partly_shipped
(something despatched, not everything), shipped (every line despatched); overdue wins over the
answer states when an undespatched line's promised date (confirmed, else requested) is past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gateway.domain.orders import LineState


class OrderState(StrEnum):
    SENT = "sent"
    PARTLY_ANSWERED = "partly_answered"
    CONFIRMED = "confirmed"
    CONFIRMED_WITH_CHANGES = "confirmed_with_changes"
    PARTLY_SHIPPED = "partly_shipped"
    SHIPPED = "shipped"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class LineProgress:
    state: LineState
    due: date | None  # the confirmed date, else the requested one


_SHIPPING = frozenset({LineState.PARTLY_DESPATCHED, LineState.DESPATCHED})
_CHANGED = frozenset({LineState.CHANGED, LineState.REJECTED})


def order_state(lines: Sequence[LineProgress], today: date) -> OrderState:
    if not lines:
        return OrderState.SENT
    states = [line.state for line in lines]
    if all(state is LineState.DESPATCHED for state in states):
        return OrderState.SHIPPED
    if any(line.state is not LineState.DESPATCHED and line.state is not LineState.REJECTED
           and line.due is not None and line.due < today for line in lines):
        return OrderState.OVERDUE
    if any(state in _SHIPPING for state in states):
        return OrderState.PARTLY_SHIPPED
    if all(state is LineState.OPEN for state in states):
        return OrderState.SENT
    if any(state is LineState.OPEN for state in states):
        return OrderState.PARTLY_ANSWERED
    if any(state in _CHANGED for state in states):
        return OrderState.CONFIRMED_WITH_CHANGES
    return OrderState.CONFIRMED
