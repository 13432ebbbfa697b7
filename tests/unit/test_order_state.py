"""The order's state, derived from its lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.order_state import LineFacts, OrderState, order_state
from gateway.domain.orders import LineState

TODAY = date(2026, 12, 1)
LATER, EARLIER = date(2026, 12, 10), date(2026, 11, 20)


def line(state: LineState, despatched: str = "0", requested: date = LATER,
         confirmed: date | None = None, expected: date | None = None) -> LineFacts:
    return LineFacts(state, Decimal(100), Decimal(despatched), requested, confirmed, expected)


@pytest.mark.parametrize(("lines", "expected"), [
    ([], OrderState.SENT),
    ([line(LineState.OPEN), line(LineState.CONFIRMED)], OrderState.SENT),
    ([line(LineState.CONFIRMED), line(LineState.CONFIRMED)], OrderState.CONFIRMED),
    ([line(LineState.CONFIRMED), line(LineState.CHANGED)], OrderState.CONFIRMED_WITH_CHANGES),
    ([line(LineState.CONFIRMED), line(LineState.REJECTED)], OrderState.CONFIRMED_WITH_CHANGES),
    ([line(LineState.PARTLY_DESPATCHED, "40"), line(LineState.CONFIRMED)],
     OrderState.PARTLY_SHIPPED),
    ([line(LineState.DESPATCHED, "100"), line(LineState.CONFIRMED)], OrderState.PARTLY_SHIPPED),
    ([line(LineState.DESPATCHED, "100"), line(LineState.DESPATCHED, "90")], OrderState.SHIPPED),
    ([line(LineState.DESPATCHED, "100"), line(LineState.REJECTED)], OrderState.SHIPPED),
    # Past the requested date and not despatched: overdue, whatever was confirmed.
    ([line(LineState.OPEN, requested=EARLIER)], OrderState.OVERDUE),
    ([line(LineState.PARTLY_DESPATCHED, "40", requested=EARLIER), line(LineState.CONFIRMED)],
     OrderState.OVERDUE),
    # The supplier's later date counts: confirmed for after today is not overdue yet ...
    ([line(LineState.CHANGED, requested=EARLIER, confirmed=LATER)],
     OrderState.CONFIRMED_WITH_CHANGES),
    # ... until the date it expects to deliver has passed.
    ([line(LineState.CHANGED, requested=LATER, confirmed=LATER, expected=EARLIER)],
     OrderState.OVERDUE),
    # Due today is not overdue.
    ([line(LineState.CONFIRMED, requested=TODAY)], OrderState.CONFIRMED),
])
def test_the_orders_state_follows_its_lines(lines: list[LineFacts],
                                            expected: OrderState) -> None:
    assert order_state(lines, TODAY) is expected
