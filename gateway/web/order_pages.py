"""The order page `/orders/{number}`: the order's state (`gateway.domain.order_state`) and
every line's timeline, oldest first: what was requested, each confirmation, each despatch,
each exception raised on the line and each buyer decision on it (acknowledged, accepted,
rejected, resolved, reopened, assigned, commented), with the message each came from.

Any signed-in user reads it (as they read the exceptions). A fixed number of SQL statements,
whatever the number of lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.domain.order_state import LineFacts, OrderState, order_state
from gateway.domain.orders import LineState
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
)
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _problem_page, _signed_in, _to_login


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing in a line's life. `kind`: a line version's kind (requested, confirmation,
    despatch, receipt, accepted), `exception` (raised) or `decision` (a buyer's action)."""

    at: datetime
    kind: str
    what: str
    quantity: Decimal | None = None
    delivery_date: date | None = None
    price: Decimal | None = None
    source: str | None = None
    message_id: int | None = None
    exception_id: int | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class LineView:
    line: OrderLineRow
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class OrderView:
    order: PurchaseOrder
    state: OrderState
    lines: list[LineView]
    order_exceptions: list[ExceptionRow]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def timeline(versions: Iterable[tuple[LineVersionRow, str | None]],
             exceptions: Iterable[ExceptionRow],
             events: Iterable[ExceptionEventRow]) -> list[Entry]:
    """One line's entries, oldest first (pure). The raising of an exception is its own entry;
    its later events (not `raised` or `seen again`) are the buyer's decisions."""
    entries = [Entry(_aware(v.created_at), v.kind, v.kind, v.quantity, v.delivery_date, v.price,
                     v.source + (f" ({number})" if number else ""), v.message_id)
               for v, number in versions]
    codes = {row.id: row.code for row in exceptions}
    entries += [Entry(_aware(row.created_at), "exception", row.code, message_id=row.message_id,
                      exception_id=row.id, source=row.rule)
                for row in exceptions]
    entries += [Entry(_aware(e.at), "decision", e.action, exception_id=e.exception_id,
                      actor=e.actor, source=f"{codes.get(e.exception_id, '')}"
                      + (f": {e.detail}" if e.detail else ""))
                for e in events if e.action not in {"raised", "seen", "seen_again"}
                and e.actor not in {"gateway", "system"}]
    order = {"requested": 0, "confirmation": 1, "despatch": 2, "exception": 3}
    return sorted(entries, key=lambda e: (e.at, order.get(e.kind, 4)))


def order_view(session: Session, number: str, today: date) -> OrderView | None:
    order = session.scalars(select(PurchaseOrder).where(PurchaseOrder.number == number)).first()
    if order is None:
        return None
    lines = list(session.scalars(select(OrderLineRow).where(
        OrderLineRow.order_id == order.id).order_by(OrderLineRow.id)))
    ids = [line.id for line in lines]
    versions: dict[int, list[tuple[LineVersionRow, str | None]]] = defaultdict(list)
    for version, document in session.execute(
            select(LineVersionRow, DocumentRow.document_number)
            .outerjoin(DocumentRow, DocumentRow.id == LineVersionRow.document_id)
            .where(LineVersionRow.order_line_id.in_(ids)).order_by(LineVersionRow.id)):
        versions[version.order_line_id].append((version, document))
    exceptions = list(session.scalars(select(ExceptionRow).where(or_(
        ExceptionRow.order_line_id.in_(ids),
        (ExceptionRow.order_number == number) & ExceptionRow.order_line_id.is_(None)))
        .order_by(ExceptionRow.id)))
    events: dict[int, list[ExceptionEventRow]] = defaultdict(list)
    for event in session.scalars(select(ExceptionEventRow).where(
            ExceptionEventRow.exception_id.in_([e.id for e in exceptions]))
            .order_by(ExceptionEventRow.id)):
        events[event.exception_id].append(event)
    per_line: dict[int, list[ExceptionRow]] = defaultdict(list)
    for row in exceptions:
        if row.order_line_id is not None:
            per_line[row.order_line_id].append(row)
    views = [LineView(line, timeline(
        versions[line.id], per_line[line.id],
        [e for row in per_line[line.id] for e in events[row.id]])) for line in lines]
    state = order_state([LineFacts(LineState(line.state), line.quantity,
                                   line.despatched_quantity or Decimal(0), line.requested_date,
                                   line.confirmed_date, line.expected_delivery)
                         for line in lines], today)
    return OrderView(order, state, views,
                     [row for row in exceptions if row.order_line_id is None])


def register_order_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/orders/{number}", include_in_schema=False)
    def order_page(request: Request, number: str) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            view = order_view(session, number, ctx.now().date())
            if view is None:
                return _problem_page(ctx, request, current, 404, "no_order")
            values: dict[str, Any] = {"view": view}
            return ctx.render(request, _locale(request, current.user), "order.html",
                              me=current, **values)
