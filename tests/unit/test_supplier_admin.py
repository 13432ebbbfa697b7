"""The pure part of an admin's profile edit: each limit read and bounded, and the next
version built from the newest one with only the changed fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.domain.tolerances import ToleranceProfile
from gateway.services.supplier_admin import (
    InvalidEdit,
    limit_value,
    next_profile,
    profile_tag,
)


@pytest.mark.parametrize(("field", "text", "value"), [
    ("qty_under_pct", "7.5", Decimal("7.5")), ("qty_under_pct", " 0 ", Decimal(0)),
    ("price_pct", "1000", Decimal(1000)), ("qty_over_abs", "0.000001", Decimal("0.000001")),
    ("date_late_error_days", "3650", 3650), ("confirmation_due_hours", "8760", 8760),
    ("despatch_lead_days", "2.0", 2)])
def test_a_limit_within_its_bounds_is_read(field: str, text: str, value: object) -> None:
    assert limit_value(field, text) == value
    assert type(limit_value(field, text)) is type(value)


@pytest.mark.parametrize(("field", "text"), [
    ("qty_under_pct", "-1"), ("qty_under_pct", "NaN"), ("qty_under_pct", "Infinity"),
    ("qty_under_pct", "sNaN"), ("price_pct", "1000.1"), ("qty_over_abs", "1e10"),
    ("qty_over_abs", "0.0000001"), ("date_late_error_days", "2.5"),
    ("date_late_error_days", "3651"), ("confirmation_due_hours", "8761"),
    ("qty_under_pct", "five"), ("qty_under_pct", "9" * 5000), ("no_such_limit", "1")])
def test_an_impossible_limit_names_its_field(field: str, text: str) -> None:
    with pytest.raises(InvalidEdit) as raised:
        limit_value(field, text)
    assert raised.value.field == field
    assert len(str(raised.value)) < 300


def test_the_next_version_changes_only_what_was_given() -> None:
    current = ToleranceProfile(name="c-parts", version=3, qty_under_pct=Decimal(2),
                               date_late_error_days=5)
    after = next_profile(current, {"qty_under_pct": "4", "price_pct": "", "qty_over_pct": None})
    assert (after.name, after.version) == ("c-parts", 4)
    assert after.qty_under_pct == Decimal(4)
    assert after.date_late_error_days == 5
    assert after.price_pct == current.price_pct
    assert profile_tag("c-parts", 4) == "c-parts.4"
    assert profile_tag("default", None) == "default.0"
