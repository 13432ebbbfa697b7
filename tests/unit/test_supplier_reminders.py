"""When a supplier is reminded of a missing confirmation (gateway/services/reminders.py):
at most every N days, at most M times, only when its partner entry asks for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.services.reminders import (
    Overdue,
    Reminded,
    ReminderPolicy,
    due_by_supplier,
    is_due,
)
from outbound.email.content import OverdueLine

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
EVERY_2_AT_MOST_3 = ReminderPolicy(every_days=2, maximum=3)


def test_a_line_never_reminded_is_due() -> None:
    assert is_due(None, EVERY_2_AT_MOST_3, NOW)


def test_at_most_every_n_days() -> None:
    assert not is_due(Reminded(1, NOW - timedelta(days=1, hours=23)), EVERY_2_AT_MOST_3, NOW)
    assert is_due(Reminded(1, NOW - timedelta(days=2)), EVERY_2_AT_MOST_3, NOW)


def test_at_most_m_times() -> None:
    assert is_due(Reminded(2, NOW - timedelta(days=30)), EVERY_2_AT_MOST_3, NOW)
    assert not is_due(Reminded(3, NOW - timedelta(days=30)), EVERY_2_AT_MOST_3, NOW)


def _overdue(exception_id: int, supplier: str) -> Overdue:
    return Overdue(exception_id, supplier, OverdueLine("4500012347", str(exception_id * 10),
                                                       None, "10 PCE", "2026-12-07"))


def test_only_suppliers_that_take_reminders_and_only_due_lines() -> None:
    overdue = [_overdue(1, "HUAXIN"), _overdue(2, "HUAXIN"), _overdue(3, "HUAXIN"),
               _overdue(4, "ALBRECHT")]
    reminded = {1: Reminded(1, NOW - timedelta(hours=1)),     # reminded too recently
                2: Reminded(3, NOW - timedelta(days=9))}      # reminded often enough
    due = due_by_supplier(overdue, reminded, {"HUAXIN": EVERY_2_AT_MOST_3}, NOW)
    assert {code: [o.exception_id for o in items] for code, items in due.items()} == \
        {"HUAXIN": [3]}
