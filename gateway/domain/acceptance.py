"""A buyer accepts the supplier's change: the line's order becomes what the supplier confirmed,
for the one value the exception is about (a date change accepted does not accept a price
change the same reply made: that is its own exception). Pure: the caller writes the line, a
line version of kind `accepted` and the exception's move to `accepted_change`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from gateway.domain.discrepancies import DiscrepancyCode
from gateway.domain.orders import LineState
from gateway.errors import InvalidTransition

# Which ordered value each acceptable code changes.
ACCEPTABLE = {
    DiscrepancyCode.QTY_SHORT: "quantity", DiscrepancyCode.QTY_OVER: "quantity",
    DiscrepancyCode.DATE_LATE: "requested_date", DiscrepancyCode.DATE_EARLY: "requested_date",
    DiscrepancyCode.PRICE_CHANGED: "price",
}


@dataclass(frozen=True, slots=True)
class Terms:
    """What was ordered, or what the supplier confirmed, of one line."""

    quantity: Decimal | None
    requested_date: date | None
    price: Decimal | None


def accepted_terms(code: str, ordered: Terms, confirmed: Terms) -> Terms:
    """The line's new order terms; `InvalidTransition` when the code is not a change a buyer
    can accept, or the supplier confirmed no value for it."""
    try:
        field = ACCEPTABLE[DiscrepancyCode(code)]
    except (KeyError, ValueError):
        raise InvalidTransition(f"a {code} exception", "its change",
                                "accepted (only a confirmed quantity, date or price "
                                "can be accepted)") from None
    value = getattr(confirmed, field)
    if value is None:
        raise InvalidTransition(f"a {code} exception", "unconfirmed",
                                "accepted (the supplier confirmed no value)")
    return replace(ordered, **{field: value})


def state_after_acceptance(current: LineState, ordered: Terms, confirmed: Terms) -> LineState:
    """A changed line whose every confirmed value now matches the order is confirmed; a line
    in any other state (despatched, say) keeps it."""
    if current is not LineState.CHANGED:
        return current
    same = all(theirs is None or theirs == ours for ours, theirs in (
        (ordered.quantity, confirmed.quantity), (ordered.requested_date, confirmed.requested_date),
        (ordered.price, confirmed.price)))
    return LineState.CONFIRMED if same else current
