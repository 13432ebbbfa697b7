"""Watching for silence: the overdue check, SLA escalation and the daily schedule.

`check_overdue` (run by `gateway check-overdue`, and once a day by the scheduler of
`gateway run` or by `gateway beat`) raises, updates or resolves CONFIRMATION_OVERDUE,
DESPATCH_OVERDUE and DELIVERY_OVERDUE; the severity of each rises with the days overdue
(`gateway.domain.alerts.rising_severity`), which buyers hear of as a worsened alert. An overdue
exception on an order that has finished since (every line despatched or rejected) is resolved
with that reason. `escalate_past_sla` escalates every exception still `open` past its
severity's SLA to the owner's group. `run_daily_jobs` is what the schedulers call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from gateway.domain.alerts import due_today, past_sla
from gateway.domain.discrepancies import Discrepancy, ExceptionState
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.silence import SILENCE_CODES, overdue
from gateway.domain.tolerances import Severity
from gateway.persistence.models import ExceptionEventRow, ScheduledRunRow
from gateway.services.alerts import MARKS, aware, notify_config, tell
from gateway.services.exception_store import EXCEPTIONS, ExceptionLedger, Source
from gateway.services.lookups import Lookups, SupplierInfo
from gateway.services.processing import LINE_COLUMNS, LINES, ORDERS, domain_line

_FINISHED = [LineState.DESPATCHED.value, LineState.REJECTED.value]
_OPEN = [ExceptionState.OPEN.value, ExceptionState.ACKNOWLEDGED.value]
EVENTS = cast(Table, ExceptionEventRow.__table__)
CHECK_OVERDUE = "check-overdue"
DIGEST = "digest"
AS2_CERTIFICATES = "as2-certificates"


def check_overdue(session: Session, today: date, now: datetime) -> list[Discrepancy]:
    """Every order with an unfinished line, against its supplier's profile in force. Raises,
    updates or resolves CONFIRMATION_OVERDUE, DESPATCH_OVERDUE and DELIVERY_OVERDUE."""
    lookups = Lookups(session)
    ledger = ExceptionLedger(session)
    found: list[Discrepancy] = []
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    heads: dict[str, tuple[str | None, str | None, date | None]] = {}
    ids: dict[str, dict[str, int]] = defaultdict(dict)
    unfinished = select(LINES.c.order_id).where(LINES.c.state.not_in(_FINISHED))
    for number, owner, supplier_code, order_date, *values in session.connection().execute(
            select(ORDERS.c.number, ORDERS.c.owner_email, ORDERS.c.supplier_code,
                   ORDERS.c.order_date, *LINE_COLUMNS)
            .join(ORDERS, ORDERS.c.id == LINES.c.order_id)
            .where(LINES.c.order_id.in_(unfinished)).order_by(LINES.c.id)):
        line = domain_line(number, values)
        lines[number].append(line)
        heads[number] = (supplier_code, owner, order_date)
        ids[number][line.line_no] = cast(int, line.id)
    for number, order_lines in lines.items():
        supplier_code, owner, order_date = heads[number]
        supplier = (lookups.supplier(supplier_code) if supplier_code else None) or SupplierInfo(
            supplier_code or "", supplier_code or "", None, lookups.profile(None))
        silence = overdue(Order(number, supplier_code, owner, tuple(order_lines)), order_date,
                          supplier.profile, today)
        ledger.record(silence, supplier,
                      {(number, line_no): line_id for line_no, line_id in ids[number].items()},
                      Source(None, None, now))
        found += silence.discrepancies
    ledger.flush()
    resolve_finished_orders(session, now)
    return found


def resolve_finished_orders(session: Session, now: datetime) -> list[int]:
    """Overdue exceptions still open on orders whose every line is despatched or rejected
    (the check above no longer looks at them): resolved, with the reason, and told."""
    unfinished = (select(ORDERS.c.number).join(LINES, LINES.c.order_id == ORDERS.c.id)
                  .where(LINES.c.state.not_in(_FINISHED)))
    stale = list(session.execute(
        select(EXCEPTIONS.c.id, EXCEPTIONS.c.state, EXCEPTIONS.c.order_number)
        .where(EXCEPTIONS.c.code.in_([code.value for code in SILENCE_CODES]),
               EXCEPTIONS.c.state.in_(_OPEN), EXCEPTIONS.c.order_number.is_not(None),
               EXCEPTIONS.c.order_number.in_(select(ORDERS.c.number)),
               EXCEPTIONS.c.order_number.not_in(unfinished))
        .order_by(EXCEPTIONS.c.id)))
    if not stale:
        return []
    ids = [row_id for row_id, _state, _order in stale]
    session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id.in_(ids)).values(
        state=ExceptionState.RESOLVED.value, updated_at=now))
    session.execute(EVENTS.insert(), [
        {"exception_id": row_id, "at": now, "actor": "gateway", "action": "resolved",
         "from_state": state, "to_state": ExceptionState.RESOLVED.value, "message_id": None,
         "detail": f"order {order} is finished: every line despatched or rejected"}
        for row_id, state, order in stale])
    tell(session, [(row_id, "resolved") for row_id in ids], now)
    return ids


def escalate_past_sla(session: Session, now: datetime) -> list[int]:
    """Exceptions `open` (not acknowledged by a buyer) for longer than their severity's SLA
    (`[notify] sla_days`) since raised or last reopened: escalated to the owner's group, once
    per exception (the alert marks remember), with an `escalated` event in the audit trail."""
    rules = notify_config(session).rules
    since = (select(EVENTS.c.exception_id, func.max(EVENTS.c.at).label("since"))
             .where(EVENTS.c.action.in_(["raised", "reopened"]))
             .group_by(EVENTS.c.exception_id).subquery())
    late = [row_id for row_id, severity, opened in session.execute(
        select(EXCEPTIONS.c.id, EXCEPTIONS.c.severity,
               func.coalesce(since.c.since, EXCEPTIONS.c.created_at))
        .outerjoin(since, since.c.exception_id == EXCEPTIONS.c.id)
        .where(EXCEPTIONS.c.state == ExceptionState.OPEN.value).order_by(EXCEPTIONS.c.id))
        if past_sla(Severity(severity), aware(opened), now, rules)]
    if not late:
        return []
    told = _escalations_told(session, late)
    fresh = [row_id for row_id in late if row_id not in told]
    if fresh and tell(session, [(row_id, "escalated") for row_id in fresh], now):
        decided = _escalations_told(session, fresh)
        session.execute(EVENTS.insert(), [
            {"exception_id": row_id, "at": now, "actor": "gateway", "action": "escalated",
             "from_state": ExceptionState.OPEN.value, "to_state": ExceptionState.OPEN.value,
             "message_id": None, "detail": "open past its SLA: escalated to the buyer's group"}
            for row_id in fresh if row_id in decided])
        return [row_id for row_id in fresh if row_id in decided]
    return []


def _escalations_told(session: Session, ids: list[int]) -> set[int]:
    return {row_id for (row_id,) in session.execute(
        select(MARKS.c.exception_id).where(MARKS.c.exception_id.in_(ids),
                                           MARKS.c.escalated.is_(True)))}


def remind_silent_suppliers(session: Session, today: date, now: datetime) -> int:
    """The reminder emails to suppliers for missing confirmations, after the overdue check
    and in its transaction (`gateway.services.reminders` decides per partner entry and writes
    to the outbox). Returns how many were queued to be sent."""
    from gateway.services.reminders import remind_suppliers

    return sum(1 for reminder in remind_suppliers(session, now) if reminder.why_not is None)


@dataclass(frozen=True, slots=True)
class DailyRun:
    overdue: int
    escalated: int
    reminders: int
    digests: int
    ran: tuple[str, ...]
    certificates: int = 0   # AS2 certificates near their end, told to IT


def run_daily_jobs(session: Session, today: date, now: datetime, check_at: time,
                   digest_at: time, zone: tzinfo, force: bool = False,
                   certificates: Callable[[Session, datetime], int] | None = None
                   ) -> DailyRun:
    """The scheduled jobs that are due (or all with `force`): the overdue check, escalation
    and supplier reminders at `check_at`; the digest at `digest_at`; with `certificates`
    (AS2 is configured: `as2_certificates.daily_certificate_check`), the AS2 certificate
    expiry check at `check_at`. Each records its run in `scheduled_runs` in this
    transaction, so two schedulers never run a job twice a day."""
    ran: list[str] = []
    found = escalated = reminders = digests = told = 0
    if force or _due(session, CHECK_OVERDUE, check_at, now, zone):
        found = len(check_overdue(session, today, now))
        escalated = len(escalate_past_sla(session, now))
        reminders = remind_silent_suppliers(session, today, now)
        _ran(session, CHECK_OVERDUE, now)
        ran.append(CHECK_OVERDUE)
    if force or _due(session, DIGEST, digest_at, now, zone):
        from gateway.services.digest import send_digests

        digests = len(send_digests(session, now))
        _ran(session, DIGEST, now)
        ran.append(DIGEST)
    if certificates is not None and (force or _due(session, AS2_CERTIFICATES, check_at, now,
                                                   zone)):
        told = certificates(session, now)
        _ran(session, AS2_CERTIFICATES, now)
        ran.append(AS2_CERTIFICATES)
    return DailyRun(found, escalated, reminders, digests, tuple(ran), told)


def _due(session: Session, name: str, at: time, now: datetime, zone: tzinfo) -> bool:
    row = session.get(ScheduledRunRow, name, with_for_update=True)
    return due_today(at, aware(row.last_run_at) if row else None, now, zone)


def _ran(session: Session, name: str, now: datetime) -> None:
    row = session.get(ScheduledRunRow, name)
    if row is None:
        session.add(ScheduledRunRow(name=name, last_run_at=now))
    else:
        row.last_run_at = now
    session.flush()
