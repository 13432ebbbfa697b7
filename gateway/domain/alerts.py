"""Alerts to buyers, decided without I/O: who hears of an exception, which changes are worth
a word, whether it goes at once or in the daily digest, and how severity and SLAs escalate
while nothing happens.

A buyer hears of an exception when its state changes in a way that matters (`Change`), never
once per piece of evidence: the ledger's `seen_again` is news only when the severity rose. What
each recipient last heard is kept (`Heard`), so an exception that flaps (open, resolved, open
again) inside one digest window reaches them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from gateway.domain.tolerances import Severity


class Change(StrEnum):
    """A state change of an exception that a buyer is told about."""

    OPENED = "opened"
    WORSENED = "worsened"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Delivery(StrEnum):
    AT_ONCE = "at_once"
    DIGEST = "digest"


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}
DIGEST_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Heard:
    """What one recipient last heard of one exception."""

    change: Change
    severity: Severity
    at: datetime
    at_once_at: datetime | None = None   # the last alert that went at once
    escalated: bool = False


@dataclass(frozen=True, slots=True)
class AlertRules:
    """From the `[notify]` section: when an alert goes at once, whether resolutions are told,
    and how long an exception may stay open per severity before it is escalated."""

    immediate_risk: float = 40.0
    alert_on_resolved: bool = False
    sla: tuple[tuple[Severity, timedelta], ...] = (
        (Severity.HIGH, timedelta(days=1)), (Severity.MEDIUM, timedelta(days=3)),
        (Severity.LOW, timedelta(days=7)))

    def sla_for(self, severity: Severity) -> timedelta:
        return dict(self.sla)[severity]


def change_that_matters(action: str, severity: Severity, heard: Heard | None,
                        rules: AlertRules) -> Change | None:
    """The change to tell a recipient of, from the ledger's action on the exception
    (`raised`, `seen_again`, `reopened`, `resolved`, `escalated`), or None."""
    if action == "raised":
        return Change.OPENED
    if action == "reopened":
        return Change.REOPENED if heard is None or heard.change is Change.RESOLVED \
            or SEVERITY_RANK[severity] > SEVERITY_RANK[heard.severity] else None
    if action == "escalated":
        return None if heard is not None and heard.escalated else Change.ESCALATED
    if action == "resolved":
        told = heard is not None and heard.change is not Change.RESOLVED
        return Change.RESOLVED if rules.alert_on_resolved and told else None
    if action == "seen_again" and heard is not None and heard.change is not Change.RESOLVED:
        return Change.WORSENED if SEVERITY_RANK[severity] > SEVERITY_RANK[heard.severity] \
            else None
    return None


def delivery(change: Change, severity: Severity, risk: float, heard: Heard | None,
             rules: AlertRules, now: datetime) -> Delivery:
    """At once for high severity or risk at the threshold, an escalation, or a resolution of
    what went at once; the digest for the rest. A reopening of what went out at once within
    the digest window waits for the digest: a flapping exception is told once."""
    urgent = severity is Severity.HIGH or risk >= rules.immediate_risk
    if change is Change.ESCALATED:
        return Delivery.AT_ONCE
    if change is Change.RESOLVED:
        return Delivery.AT_ONCE if heard is not None and heard.at_once_at else Delivery.DIGEST
    recent = heard is not None and heard.at_once_at is not None \
        and now - heard.at_once_at < DIGEST_WINDOW
    if change is Change.REOPENED and recent:
        return Delivery.DIGEST
    return Delivery.AT_ONCE if urgent else Delivery.DIGEST


def owner_of(order_buyer: str | None, buyer_contact: str | None,
             default_group: str | None) -> str | None:
    """Routing: the order's buyer, else the supplier's buyer contact, else the default
    group of the configuration; None when none of them is set."""
    for candidate in (order_buyer, buyer_contact, default_group):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def rising_severity(base: Severity, days_overdue: int, step_days: int = 7) -> Severity:
    """Silence grows worse with time: one level up per `step_days` days overdue, up to high."""
    steps = max(days_overdue, 0) // step_days if step_days > 0 else 0
    rank = min(SEVERITY_RANK[base] + steps, SEVERITY_RANK[Severity.HIGH])
    return next(s for s, r in SEVERITY_RANK.items() if r == rank)


def past_sla(severity: Severity, open_since: datetime, now: datetime,
             rules: AlertRules) -> bool:
    return now - open_since > rules.sla_for(severity)


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One exception in a digest, as it stands when the digest is made."""

    exception_id: int
    supplier_code: str
    supplier_name: str
    code: str
    severity: Severity
    risk: float
    state: str
    change: Change
    order_number: str | None
    line_no: str | None
    expected: str | None
    actual: str | None
    changes: int = 1   # how many changes in the window it stands for


def digest_groups(items: list[DigestItem]) -> list[tuple[str, list[DigestItem]]]:
    """One entry per exception (the newest change wins), grouped by supplier; the supplier
    with the worst item first, and in each group the worst first (severity, then risk)."""
    unique: dict[int, DigestItem] = {}
    for item in items:
        earlier = unique.get(item.exception_id)
        unique[item.exception_id] = item if earlier is None else _merge(earlier, item)
    groups: dict[str, list[DigestItem]] = {}
    for item in unique.values():
        groups.setdefault(item.supplier_code, []).append(item)
    for group in groups.values():
        group.sort(key=_worst_first)
    return sorted(groups.items(), key=lambda entry: (_worst_first(entry[1][0]), entry[0]))


def _merge(earlier: DigestItem, later: DigestItem) -> DigestItem:
    from dataclasses import replace

    return replace(later, changes=earlier.changes + later.changes)


def _worst_first(item: DigestItem) -> tuple[int, float, int]:
    return (-SEVERITY_RANK[item.severity], -item.risk, item.exception_id)


def next_run(at: time, after: datetime, zone: tzinfo) -> datetime:
    """The first moment strictly after `after` when the wall clock in `zone` reads `at`."""
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), at, zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, zone)
    return candidate


def due_today(at: time, last_run: datetime | None, now: datetime, zone: tzinfo) -> bool:
    """Whether a daily job set for `at` should run now: today's time has come and the job
    has not run since (a process started after the hour runs it once, late)."""
    local = now.astimezone(zone)
    today_at = datetime.combine(local.date(), at, zone)
    return local >= today_at and (last_run is None or last_run < today_at)


def parse_time_of_day(text: str) -> time:
    """`HH:MM` (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2 \
            or int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{text!r} is not a time of day as HH:MM")
    return time(int(hours), int(minutes))
