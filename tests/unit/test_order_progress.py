"""An order's state from its lines (gateway.domain.order_progress), and what a token's scopes
cover (gateway.domain.access.token_may)."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.domain.access import Actor, Scope, token_may
from gateway.domain.order_progress import LineProgress, OrderState, order_state
from gateway.domain.orders import LineState

TODAY = date(2026, 12, 6)
LATER = date(2026, 12, 20)
EARLIER = date(2026, 12, 1)


@pytest.mark.parametrize(("lines", "expected"), [
    ([], OrderState.SENT),
    ([(LineState.OPEN, LATER), (LineState.OPEN, None)], OrderState.SENT),
    ([(LineState.CONFIRMED, LATER), (LineState.OPEN, LATER)], OrderState.PARTLY_ANSWERED),
    ([(LineState.CONFIRMED, LATER), (LineState.CONFIRMED, LATER)], OrderState.CONFIRMED),
    ([(LineState.CONFIRMED, LATER), (LineState.CHANGED, LATER)],
     OrderState.CONFIRMED_WITH_CHANGES),
    ([(LineState.CONFIRMED, LATER), (LineState.REJECTED, EARLIER)],
     OrderState.CONFIRMED_WITH_CHANGES),
    ([(LineState.DESPATCHED, EARLIER), (LineState.CONFIRMED, LATER)],
     OrderState.PARTLY_SHIPPED),
    ([(LineState.PARTLY_DESPATCHED, LATER)], OrderState.PARTLY_SHIPPED),
    ([(LineState.DESPATCHED, EARLIER), (LineState.DESPATCHED, EARLIER)], OrderState.SHIPPED),
    ([(LineState.CONFIRMED, EARLIER), (LineState.CONFIRMED, LATER)], OrderState.OVERDUE),
    ([(LineState.PARTLY_DESPATCHED, EARLIER)], OrderState.OVERDUE),
    ([(LineState.OPEN, TODAY)], OrderState.SENT),
])
def test_order_state(lines: list[tuple[LineState, date | None]], expected: OrderState) -> None:
    assert order_state([LineProgress(s, due) for s, due in lines], TODAY) is expected


def test_a_write_scope_covers_reading_the_same_resource_only() -> None:
    writer = Actor("erp", None, None, None, frozenset({Scope.ORDERS_WRITE}))
    assert token_may(writer, Scope.ORDERS_READ)
    assert token_may(writer, Scope.ORDERS_WRITE)
    assert not token_may(writer, Scope.EXCEPTIONS_READ)
    reader = Actor("erp", None, None, None, frozenset({Scope.ORDERS_READ}))
    assert not token_may(reader, Scope.ORDERS_WRITE)
