"""Accepting a supplier's change: only the value the exception is about becomes the order's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.acceptance import Terms, accepted_terms, state_after_acceptance
from gateway.domain.orders import LineState
from gateway.errors import InvalidTransition

ORDERED = Terms(Decimal(100), date(2026, 12, 1), Decimal("2.85"))
CONFIRMED = Terms(Decimal(80), date(2026, 12, 4), Decimal("2.99"))


@pytest.mark.parametrize(("code", "expected"), [
    ("QTY_SHORT", Terms(Decimal(80), date(2026, 12, 1), Decimal("2.85"))),
    ("QTY_OVER", Terms(Decimal(80), date(2026, 12, 1), Decimal("2.85"))),
    ("DATE_LATE", Terms(Decimal(100), date(2026, 12, 4), Decimal("2.85"))),
    ("DATE_EARLY", Terms(Decimal(100), date(2026, 12, 4), Decimal("2.85"))),
    ("PRICE_CHANGED", Terms(Decimal(100), date(2026, 12, 1), Decimal("2.99"))),
])
def test_only_the_value_the_exception_is_about_is_accepted(code: str, expected: Terms) -> None:
    assert accepted_terms(code, ORDERED, CONFIRMED) == expected


@pytest.mark.parametrize("code", ["LINE_REJECTED", "UNREADABLE_REPLY", "NOT_A_CODE"])
def test_other_codes_have_no_change_to_accept(code: str) -> None:
    with pytest.raises(InvalidTransition):
        accepted_terms(code, ORDERED, CONFIRMED)


def test_a_value_the_supplier_did_not_confirm_cannot_be_accepted() -> None:
    with pytest.raises(InvalidTransition):
        accepted_terms("PRICE_CHANGED", ORDERED, Terms(Decimal(80), None, None))


def test_a_changed_line_is_confirmed_once_every_confirmed_value_is_the_order() -> None:
    only_quantity = Terms(Decimal(80), None, None)
    accepted = accepted_terms("QTY_SHORT", ORDERED, only_quantity)
    assert state_after_acceptance(LineState.CHANGED, accepted, only_quantity) is \
        LineState.CONFIRMED
    partly = accepted_terms("QTY_SHORT", ORDERED, CONFIRMED)
    assert state_after_acceptance(LineState.CHANGED, partly, CONFIRMED) is LineState.CHANGED
    assert state_after_acceptance(LineState.DESPATCHED, accepted, only_quantity) is \
        LineState.DESPATCHED
