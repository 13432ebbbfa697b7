"""Silence: unanswered, unshipped and undelivered lines are flagged, the latest stage only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.discrepancies import DiscrepancyCode
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.silence import overdue
from gateway.domain.tolerances import Severity, ToleranceProfile
from tests.unit import test_reconciliation as reconciliation

C = DiscrepancyCode
PROFILE = ToleranceProfile(confirmation_due_hours=48, despatch_lead_days=3)
ORDERED = date(2026, 11, 20)
NEED = date(2026, 12, 10)


def line(state: LineState = LineState.OPEN, **kw: object) -> OrderLine:
    return OrderLine("PO1", "10", Decimal(100), price=Decimal(2), requested_date=NEED,
                     state=state, **kw)  # type: ignore[arg-type]


def check(item: OrderLine, today: date) -> list[tuple[DiscrepancyCode, Severity]]:
    silence = overdue(Order("PO1", "ACME", "anna@x", (item,)), ORDERED, PROFILE, today)
    return [(d.code, d.severity) for d in silence.discrepancies]


@pytest.mark.parametrize(
    ("item", "today", "expected"),
    [
        (line(), date(2026, 11, 22), []),
        (line(), date(2026, 11, 23), [(C.CONFIRMATION_OVERDUE, Severity.MEDIUM)]),
        # A week overdue and still unanswered: severity rises, though the need is far.
        (line(), date(2026, 11, 28), [(C.CONFIRMATION_OVERDUE, Severity.MEDIUM)]),
        (line(), date(2026, 11, 29), [(C.CONFIRMATION_OVERDUE, Severity.HIGH)]),
        (line(), date(2026, 12, 8), [(C.CONFIRMATION_OVERDUE, Severity.HIGH)]),
        (line(LineState.CONFIRMED), date(2026, 12, 7), []),
        (line(LineState.CONFIRMED), date(2026, 12, 8), [(C.DESPATCH_OVERDUE, Severity.HIGH)]),
        (line(LineState.CHANGED, confirmed_date=date(2026, 12, 20)), date(2026, 12, 12), []),
        (line(LineState.CONFIRMED), date(2026, 12, 11), [(C.DELIVERY_OVERDUE, Severity.HIGH)]),
        (line(LineState.PARTLY_DESPATCHED), date(2026, 12, 8), []),
        (line(LineState.PARTLY_DESPATCHED), date(2026, 12, 11),
         [(C.DELIVERY_OVERDUE, Severity.HIGH)]),
        (line(LineState.DESPATCHED), date(2027, 1, 30), []),
        (line(LineState.REJECTED), date(2027, 1, 30), []),
    ],
)
def test_the_latest_late_stage_is_reported(item: OrderLine, today: date,
                                           expected: list[tuple[DiscrepancyCode, Severity]]
                                           ) -> None:
    assert check(item, today) == expected


def test_what_is_no_longer_late_is_cleared() -> None:
    silence = overdue(Order("PO1", None, None, (line(LineState.CONFIRMED),)), ORDERED, PROFILE,
                      date(2026, 11, 30))
    assert silence.discrepancies == []
    assert "CONFIRMATION_OVERDUE|PO1|10" in silence.cleared


def test_the_overdue_finding_says_since_when() -> None:
    silence = overdue(Order("PO1", None, "anna@x", (line(),)), ORDERED, PROFILE,
                      date(2026, 11, 25))
    (found,) = silence.discrepancies
    assert (found.expected, found.actual, found.difference) == (
        "a confirmation by 2026-11-22", "nothing yet", "3 day(s) overdue")
    assert found.owner == "anna@x"
    assert found.risk > 0


def test_a_line_confirmed_at_zero_is_not_chased_for_despatch() -> None:
    """The supplier confirmed 0 of 100 (QTY_SHORT high already open): nothing will be
    shipped, so silence raises no DESPATCH_OVERDUE / DELIVERY_OVERDUE 'nothing yet'."""
    zero = reconciliation.ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(0))
    for today in (date(2026, 12, 4), date(2026, 12, 10)):
        silence = overdue(Order("PO1", "SUP1", "buyer@x", (zero,)), date(2026, 11, 20),
                          reconciliation.PROFILE, today)
        assert silence.discrepancies == []
