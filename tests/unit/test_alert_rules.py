"""The pure alert decisions: which changes are told, at once or in the digest, routing
fallbacks, rising severity, SLAs, digest grouping and the daily schedule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.alerts import (
    AlertRules,
    Change,
    Delivery,
    DigestItem,
    Heard,
    change_that_matters,
    delivery,
    digest_groups,
    due_today,
    next_run,
    owner_of,
    parse_time_of_day,
    past_sla,
    rising_severity,
)
from gateway.domain.tolerances import Severity

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
RULES = AlertRules()
HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW


def heard(change: Change = Change.OPENED, severity: Severity = MEDIUM,
          at_once: datetime | None = None, escalated: bool = False) -> Heard:
    return Heard(change, severity, NOW - timedelta(hours=2), at_once, escalated)


def test_evidence_seen_again_is_news_only_when_the_severity_rose() -> None:
    assert change_that_matters("seen_again", MEDIUM, heard(), RULES) is None
    assert change_that_matters("seen_again", LOW, heard(), RULES) is None
    assert change_that_matters("seen_again", HIGH, heard(), RULES) is Change.WORSENED


def test_opened_reopened_and_escalated_are_told_once() -> None:
    assert change_that_matters("raised", LOW, None, RULES) is Change.OPENED
    assert change_that_matters("reopened", LOW, heard(Change.RESOLVED), RULES) \
        is Change.REOPENED
    assert change_that_matters("escalated", MEDIUM, heard(), RULES) is Change.ESCALATED
    assert change_that_matters("escalated", MEDIUM, heard(escalated=True), RULES) is None


def test_a_reopening_the_recipient_never_heard_closed_is_not_news() -> None:
    """Resolved and reopened before the recipient was told of the resolution: they still
    think it open, at the same severity."""
    assert change_that_matters("reopened", MEDIUM, heard(Change.OPENED), RULES) is None


def test_resolutions_are_told_only_when_asked_and_only_to_who_heard_of_it() -> None:
    asked = AlertRules(alert_on_resolved=True)
    assert change_that_matters("resolved", HIGH, heard(), RULES) is None
    assert change_that_matters("resolved", HIGH, heard(), asked) is Change.RESOLVED
    assert change_that_matters("resolved", HIGH, None, asked) is None
    assert change_that_matters("resolved", HIGH, heard(Change.RESOLVED), asked) is None


def test_high_severity_or_risk_goes_at_once_the_rest_waits_for_the_digest() -> None:
    assert delivery(Change.OPENED, HIGH, 1.0, None, RULES, NOW) is Delivery.AT_ONCE
    assert delivery(Change.OPENED, MEDIUM, 39.9, None, RULES, NOW) is Delivery.DIGEST
    assert delivery(Change.OPENED, LOW, 40.0, None, RULES, NOW) is Delivery.AT_ONCE
    assert delivery(Change.ESCALATED, LOW, 0.0, heard(), RULES, NOW) is Delivery.AT_ONCE


def test_a_flapping_exception_is_not_sent_at_once_twice_inside_the_window() -> None:
    told = heard(Change.RESOLVED, HIGH, at_once=NOW - timedelta(hours=3))
    assert delivery(Change.REOPENED, HIGH, 90.0, told, RULES, NOW) is Delivery.DIGEST
    long_ago = heard(Change.RESOLVED, HIGH, at_once=NOW - timedelta(days=2))
    assert delivery(Change.REOPENED, HIGH, 90.0, long_ago, RULES, NOW) is Delivery.AT_ONCE


def test_a_resolution_goes_the_way_the_alert_went() -> None:
    assert delivery(Change.RESOLVED, HIGH, 9.0, heard(at_once=NOW), RULES, NOW) \
        is Delivery.AT_ONCE
    assert delivery(Change.RESOLVED, HIGH, 9.0, heard(), RULES, NOW) is Delivery.DIGEST


@pytest.mark.parametrize(("buyer", "contact", "group", "expected"), [
    ("anna@buyer.example", "ben@buyer.example", "purchasing", "anna@buyer.example"),
    (None, "ben@buyer.example", "purchasing", "ben@buyer.example"),
    ("  ", None, "purchasing", "purchasing"),
    (None, None, None, None),
])
def test_routing_falls_back_from_buyer_to_contact_to_group(
        buyer: str | None, contact: str | None, group: str | None,
        expected: str | None) -> None:
    assert owner_of(buyer, contact, group) == expected


@pytest.mark.parametrize(("base", "days", "expected"), [
    (LOW, 0, LOW), (LOW, 6, LOW), (LOW, 7, MEDIUM), (LOW, 14, HIGH), (MEDIUM, 7, HIGH),
    (MEDIUM, 100, HIGH), (HIGH, 0, HIGH), (MEDIUM, -3, MEDIUM),
])
def test_severity_rises_one_level_per_week_overdue(base: Severity, days: int,
                                                   expected: Severity) -> None:
    assert rising_severity(base, days) is expected


def test_sla_per_severity() -> None:
    opened = NOW - timedelta(days=2)
    assert past_sla(HIGH, opened, NOW, RULES)
    assert not past_sla(MEDIUM, opened, NOW, RULES)
    assert past_sla(MEDIUM, opened, NOW, AlertRules(sla=((HIGH, timedelta(days=1)),
                                                        (MEDIUM, timedelta(days=1)),
                                                        (LOW, timedelta(days=1)))))


def item(exception_id: int, supplier: str, severity: Severity, risk: float,
         change: Change = Change.OPENED) -> DigestItem:
    return DigestItem(exception_id, supplier, supplier.title(), "QTY_SHORT", severity, risk,
                      "open", change, "PO1", "10", "100 PCE", "40 PCE")


def test_digest_groups_by_supplier_worst_first_and_lists_a_flapping_exception_once() -> None:
    groups = digest_groups([
        item(1, "acme", LOW, 3.0), item(2, "bolt", MEDIUM, 5.0), item(3, "acme", HIGH, 2.0),
        item(2, "bolt", MEDIUM, 6.0, Change.REOPENED), item(4, "bolt", MEDIUM, 9.0)])
    assert [code for code, _items in groups] == ["acme", "bolt"]
    assert [i.exception_id for i in groups[0][1]] == [3, 1]
    assert [i.exception_id for i in groups[1][1]] == [4, 2]
    flapped = groups[1][1][1]
    assert (flapped.change, flapped.changes, flapped.risk) == (Change.REOPENED, 2, 6.0)


def test_next_run_is_the_next_wall_clock_time_in_the_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    at = time(6, 30)
    # 06:00 UTC is 07:00 in Berlin in December (UTC+1): today's 06:30 there has passed.
    assert next_run(at, datetime(2026, 12, 6, 6, 0, tzinfo=UTC), berlin) == \
        datetime(2026, 12, 7, 6, 30, tzinfo=berlin)
    assert next_run(at, datetime(2026, 12, 6, 5, 0, tzinfo=UTC), berlin) == \
        datetime(2026, 12, 6, 6, 30, tzinfo=berlin)
    assert next_run(at, datetime(2026, 12, 6, 5, 0, tzinfo=UTC), UTC) == \
        datetime(2026, 12, 6, 6, 30, tzinfo=UTC)


def test_a_daily_job_is_due_once_after_its_time() -> None:
    at = time(6, 30)
    before = datetime(2026, 12, 6, 6, 29, tzinfo=UTC)
    after = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)
    assert not due_today(at, None, before, UTC)
    assert due_today(at, None, after, UTC)
    assert not due_today(at, after, after + timedelta(hours=3), UTC)
    assert due_today(at, after, after + timedelta(days=1), UTC)


@pytest.mark.parametrize("text", ["7", "07:5", "25:00", "ab:cd", "07:60"])
def test_a_time_of_day_is_hh_mm(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time_of_day(text)
    assert parse_time_of_day("07:05") == time(7, 5)
