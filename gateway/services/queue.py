"""Read side: the exception queue worst first, one exception with its trail, an order timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import OPEN_STATES, ExceptionState, move_exception
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
)

_SEVERITY_RANK = case({"high": 3, "medium": 2, "low": 1}, value=ExceptionRow.severity, else_=0)


def exception_to_json(row: ExceptionRow) -> dict[str, Any]:
    return {
        "id": row.id, "code": row.code, "severity": row.severity, "risk": row.risk,
        "state": row.state, "supplier": row.supplier_code, "order_number": row.order_number,
        "line_no": row.line_no, "expected": row.expected, "actual": row.actual,
        "difference": row.difference, "rule": row.rule, "tolerance": row.tolerance,
        "owner": row.owner, "message_id": row.message_id, "document_id": row.document_id,
        "position": row.position, "occurrences": row.occurrences,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


def list_exceptions(session: Session, supplier: str | None = None,
                    severity: str | None = None, state: str | None = None,
                    limit: int = 200) -> list[ExceptionRow]:
    """Open ones first, then by severity and risk: the worst first."""
    query = select(ExceptionRow)
    if supplier:
        query = query.where(ExceptionRow.supplier_code == supplier)
    if severity:
        query = query.where(ExceptionRow.severity == severity)
    if state == "open":
        query = query.where(ExceptionRow.state.in_(OPEN_STATES))
    elif state:
        query = query.where(ExceptionRow.state == state)
    query = query.order_by(ExceptionRow.state.in_(OPEN_STATES).desc(), _SEVERITY_RANK.desc(),
                           ExceptionRow.risk.desc(), ExceptionRow.id).limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class ExceptionDetail:
    exception: ExceptionRow
    events: list[ExceptionEventRow]
    message: InboundMessage | None
    document: DocumentRow | None


def show_exception(session: Session, exception_id: int) -> ExceptionDetail | None:
    row = session.get(ExceptionRow, exception_id)
    if row is None:
        return None
    events = list(session.scalars(select(ExceptionEventRow).where(
        ExceptionEventRow.exception_id == exception_id).order_by(ExceptionEventRow.id)))
    message = session.get(InboundMessage, row.message_id) if row.message_id else None
    document = session.get(DocumentRow, row.document_id) if row.document_id else None
    return ExceptionDetail(row, events, message, document)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    kind: str
    quantity: Decimal | None
    delivery_date: date | None
    price: Decimal | None
    source: str
    message_id: int | None
    document_number: str | None
    position: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LineTimeline:
    line: OrderLineRow
    entries: list[TimelineEntry]
    exceptions: list[ExceptionRow]


@dataclass(frozen=True, slots=True)
class OrderTimeline:
    order: PurchaseOrder
    lines: list[LineTimeline]
    exceptions: list[ExceptionRow]


def order_timeline(session: Session, number: str) -> OrderTimeline:
    """Every line of an order with each version of its promise and the message that set it."""
    order = session.scalars(select(PurchaseOrder).where(PurchaseOrder.number == number)).first()
    if order is None:
        raise LookupError(f"no order {number}")
    lines = list(session.scalars(select(OrderLineRow).where(
        OrderLineRow.order_id == order.id).order_by(OrderLineRow.id)))
    ids = [line.id for line in lines]
    versions = session.execute(
        select(LineVersionRow, DocumentRow.document_number)
        .outerjoin(DocumentRow, DocumentRow.id == LineVersionRow.document_id)
        .where(LineVersionRow.order_line_id.in_(ids)).order_by(LineVersionRow.id)).all()
    problems = list(session.scalars(select(ExceptionRow).where(
        ExceptionRow.order_number == number).order_by(ExceptionRow.id)))
    timelines = []
    for line in lines:
        entries = [TimelineEntry(v.kind, v.quantity, v.delivery_date, v.price, v.source,
                                 v.message_id, doc_number, v.position, v.created_at)
                   for v, doc_number in versions if v.order_line_id == line.id]
        timelines.append(LineTimeline(line, entries, [p for p in problems
                                                      if p.line_no == line.line_no]))
    return OrderTimeline(order, timelines, [p for p in problems if p.line_no is None])


def act_on_exception(session: Session, exception_id: int, target: ExceptionState | None,
                     actor: str, comment: str | None, now: datetime) -> ExceptionRow:
    """A buyer moves an exception (acknowledge, resolve, accept or reject the change) or only
    comments on it; either way the audit trail gets an event. Raises `InvalidTransition` for a
    move the state machine does not allow, and LookupError for an unknown id."""
    row = session.get(ExceptionRow, exception_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no exception #{exception_id}")
    before = ExceptionState(row.state)
    after = move_exception(before, target) if target is not None else before
    row.state = after.value
    row.updated_at = now
    session.add(ExceptionEventRow(
        exception_id=row.id, at=now, actor=actor,
        action=after.value if target is not None else "comment",
        from_state=before.value, to_state=after.value, detail=comment))
    session.flush()
    return row
