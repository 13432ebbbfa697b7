"""Read side of the dashboard: open exceptions by severity and supplier, the orders at risk
this week, messages per channel per day, the connectors with their last success and last
error, and the counts IT watches. A fixed number of queries (ten) whatever the data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import OPEN_STATES
from gateway.domain.messages import MessageState
from gateway.domain.orders import LineState
from gateway.domain.outbound import AttemptOutcome, OutboundState
from gateway.persistence.models import (
    ConnectorStatusRow,
    ExceptionRow,
    InboundMessage,
    OrderLineRow,
    OutboundAttemptRow,
    OutboundMessageRow,
    PurchaseOrder,
    WorkerHeartbeatRow,
)

MESSAGE_DAYS = 14
AT_RISK_SHOWN = 50
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True, slots=True)
class OrderAtRisk:
    number: str
    supplier_code: str | None
    due: date  # the earliest due date of its open lines
    lines: int
    overdue: bool


@dataclass(frozen=True, slots=True)
class Connector:
    kind: str  # smtp, imap, outbox, worker
    name: str
    last_success: datetime | None
    last_error: str | None = None
    last_error_at: datetime | None = None
    taken_in: int | None = None  # messages taken in (a mailbox)
    failures_in_a_row: int | None = None
    notice: str | None = None  # what IT should know that is not an error (AS2 certificates)


@dataclass(slots=True)
class Dashboard:
    today: date
    week_end: date
    by_severity: dict[str, int] = field(default_factory=dict)
    by_supplier: list[tuple[str, dict[str, int], int]] = field(default_factory=list)
    at_risk: list[OrderAtRisk] = field(default_factory=list)
    at_risk_total: int = 0
    days: list[date] = field(default_factory=list)
    per_channel: dict[str, dict[date, int]] = field(default_factory=dict)
    connectors: list[Connector] = field(default_factory=list)
    quarantined: int = 0
    failed: int = 0
    outbox_failed: int = 0
    outbox_pending: int = 0
    # Taken by an AS2 partner that answers with an asynchronous MDN, not yet answered; the
    # oldest has waited this long since the partner took it.
    outbox_awaiting_mdn: int = 0
    outbox_awaiting_oldest: timedelta | None = None


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def load_dashboard(session: Session, now: datetime) -> Dashboard:
    today = now.date()
    board = Dashboard(today, today + timedelta(days=6 - today.weekday()))
    _exceptions(session, board)
    _orders_at_risk(session, board)
    _messages(session, board, now)
    _connectors(session, board)
    return board


def _exceptions(session: Session, board: Dashboard) -> None:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for supplier, severity, count in session.execute(
            select(ExceptionRow.supplier_code, ExceptionRow.severity, func.count())
            .where(ExceptionRow.state.in_(OPEN_STATES))
            .group_by(ExceptionRow.supplier_code, ExceptionRow.severity)):
        counts[supplier or "—"][severity] = count
        board.by_severity[severity] = board.by_severity.get(severity, 0) + count
    board.by_supplier = sorted(
        ((code, found, sum(found.values())) for code, found in counts.items()),
        key=lambda entry: (-entry[1].get("high", 0), -entry[2], entry[0]))


def _orders_at_risk(session: Session, board: Dashboard) -> None:
    """Orders with a line not yet despatched in full that is due (its confirmed date, else its
    requested date) by the end of this week, overdue ones included."""
    due = func.coalesce(OrderLineRow.confirmed_date, OrderLineRow.requested_date)
    earliest = func.min(due)
    query = (select(PurchaseOrder.number, PurchaseOrder.supplier_code, earliest, func.count())
             .join(OrderLineRow, OrderLineRow.order_id == PurchaseOrder.id)
             .where(OrderLineRow.state.not_in([LineState.DESPATCHED, LineState.REJECTED]),
                    due <= board.week_end)
             .group_by(PurchaseOrder.number, PurchaseOrder.supplier_code))
    rows = session.execute(query.order_by(earliest, PurchaseOrder.number)
                           .limit(AT_RISK_SHOWN)).all()
    board.at_risk = [OrderAtRisk(number, supplier, _as_date(first), lines,
                                 _as_date(first) < board.today)
                     for number, supplier, first, lines in rows]
    board.at_risk_total = session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _messages(session: Session, board: Dashboard, now: datetime) -> None:
    first = board.today - timedelta(days=MESSAGE_DAYS - 1)
    board.days = [first + timedelta(days=offset) for offset in range(MESSAGE_DAYS)]
    day = _day(session, InboundMessage.received_at)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    per_channel: dict[str, dict[date, int]] = defaultdict(dict)
    for channel, when, count in session.execute(
            select(InboundMessage.channel, day, func.count())
            .where(InboundMessage.received_at >= since)
            .group_by(InboundMessage.channel, day)):
        per_channel[channel][_as_date(when)] = count
    board.per_channel = dict(sorted(per_channel.items()))
    states = dict(session.execute(
        select(InboundMessage.state, func.count())
        .where(InboundMessage.state.in_([MessageState.QUARANTINED, MessageState.FAILED]))
        .group_by(InboundMessage.state)).all())
    board.quarantined = states.get(MessageState.QUARANTINED, 0)
    board.failed = states.get(MessageState.FAILED, 0)
    outbox = {state: (count, oldest) for state, count, oldest in session.execute(
        select(OutboundMessageRow.state, func.count(), func.min(OutboundMessageRow.updated_at))
        .where(OutboundMessageRow.state.in_([OutboundState.FAILED, OutboundState.PENDING,
                                             OutboundState.AWAITING_MDN]))
        .group_by(OutboundMessageRow.state))}
    board.outbox_failed = outbox.get(OutboundState.FAILED, (0, None))[0]
    board.outbox_pending = outbox.get(OutboundState.PENDING, (0, None))[0]
    # A row moves to `awaiting_mdn` when the partner takes it (its `updated_at` then).
    board.outbox_awaiting_mdn, oldest = outbox.get(OutboundState.AWAITING_MDN, (0, None))
    if oldest is not None:
        taken = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        board.outbox_awaiting_oldest = max(now - taken, timedelta(0))


def _connectors(session: Session, board: Dashboard) -> None:
    last_smtp = session.scalar(select(func.max(InboundMessage.received_at))
                               .where(InboundMessage.channel == "smtp"))
    board.connectors.append(Connector("smtp", "listener", last_smtp))
    for row in session.scalars(select(ConnectorStatusRow)
                               .order_by(ConnectorStatusRow.connector, ConnectorStatusRow.name)):
        board.connectors.append(Connector(
            row.connector, row.name, row.last_success_at, row.last_error, row.last_error_at,
            row.messages_taken_in, row.consecutive_failures, row.notice))
    board.connectors.extend(_transports(session))
    for beat in session.scalars(select(WorkerHeartbeatRow).order_by(WorkerHeartbeatRow.name)):
        board.connectors.append(Connector("worker", beat.name, beat.beat_at))


def _transports(session: Session) -> list[Connector]:
    """Each outbound transport: its last sent attempt, and its last failed attempt's error."""
    transport = OutboundMessageRow.transport
    joined = (select(transport, func.max(OutboundAttemptRow.id))
              .join(OutboundMessageRow, OutboundAttemptRow.outbound_id == OutboundMessageRow.id)
              .group_by(transport, OutboundAttemptRow.outcome == AttemptOutcome.SENT))
    last_ids = [found for _, found in session.execute(joined)]
    attempts: dict[str, dict[bool, OutboundAttemptRow]] = defaultdict(dict)
    for name, attempt in session.execute(
            select(transport, OutboundAttemptRow)
            .join(OutboundMessageRow, OutboundAttemptRow.outbound_id == OutboundMessageRow.id)
            .where(OutboundAttemptRow.id.in_(last_ids))):
        attempts[name][attempt.outcome == AttemptOutcome.SENT] = attempt
    found = []
    for name in sorted(attempts):
        sent, failed = attempts[name].get(True), attempts[name].get(False)
        found.append(Connector("outbox", name, sent.at if sent else None,
                               (failed.error or failed.response) if failed else None,
                               failed.at if failed else None))
    return found
