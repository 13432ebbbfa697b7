"""`/api/v1/orders`: open orders read with their lines and each line's timeline, and imported
or updated as JSON by the ERP (scopes `orders:read`, `orders:write`).

An import is the same as `gateway orders import` of a JSON file (`gateway.services.orders`:
the same columns, checks and `requested` versions), with one difference an integration
expects: it is all or nothing. A request with any row the import refuses changes nothing and
answers 422 with every refused row, its position (from 1) and the field at fault.
"""

from __future__ import annotations

import base64
import struct
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.access import Actor, Scope
from gateway.domain.order_state import LineFacts, OrderState, order_state
from gateway.domain.orders import LineState
from gateway.errors import ImportRowError
from gateway.persistence.models import DocumentRow, LineVersionRow, OrderLineRow, PurchaseOrder
from gateway.web.api import (
    NO_NUL,
    PREFIX,
    PROBLEM_RESPONSES,
    ApiProblem,
    LineVersionOut,
    scoped,
)
from gateway.web.context import WebContext
from gateway.web.queue_view import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_ROW_ID, utc

# A state filter is checked per order: one request reads at most this many orders looking
# for a page of matches, then answers what it found with a cursor to go on from.
STATE_SCAN_LIMIT = 2000
MAX_IMPORT_LINES = 10_000
# Module level: FastAPI resolves the string annotations against the module's names.
OrdersReader = Annotated[Actor, Depends(scoped(Scope.ORDERS_READ))]
OrdersWriter = Annotated[Actor, Depends(scoped(Scope.ORDERS_WRITE))]


class OrderOut(BaseModel):
    number: str
    supplier: str | None
    owner: str | None
    order_date: str | None
    currency: str | None
    state: OrderState
    lines: int
    source: str
    updated_at: str


class OrderLineOut(BaseModel):
    line_no: str
    state: LineState
    quantity: str
    unit: str | None
    price: str | None
    currency: str | None
    requested_date: str | None
    buyer_part: str | None
    supplier_part: str | None
    gtin: str | None
    description: str | None
    confirmed_quantity: str | None
    confirmed_date: str | None
    confirmed_price: str | None
    despatched_quantity: str
    versions: list[LineVersionOut]


class OrderDetailOut(OrderOut):
    order_lines: list[OrderLineOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class OrderLineIn(BaseModel):
    """One line, the columns of `gateway orders import` (values as JSON strings or numbers)."""

    model_config = {"extra": "forbid"}

    order_number: str = Field(min_length=1, max_length=64)
    line_no: str | int
    quantity: str | float | int
    unit: str | None = None
    price: str | float | int | None = None
    currency: str | None = None
    requested_date: str | None = Field(default=None, description="YYYY-MM-DD")
    buyer_part: str | None = None
    supplier_part: str | None = None
    gtin: str | None = None
    description: str | None = None
    supplier_id: str | None = Field(default=None, description="the partner's code, an EDI id "
                                                              "or an email address")
    owner_email: str | None = None
    order_date: str | None = Field(default=None, description="YYYY-MM-DD")


class OrdersIn(BaseModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_IMPORT_LINES)


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    orders: list[str]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def encode_cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(struct.pack(">q", order_id)).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        (found,) = struct.unpack(">q", base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, struct.error) as exc:
        raise ApiProblem(400, "Bad cursor", "this cursor was not made by this gateway") from exc
    if not 0 < found <= MAX_ROW_ID:
        raise ApiProblem(400, "Bad cursor", "this cursor was not made by this gateway")
    return int(found)


def _lines_of(session: Session, order_ids: list[int]) -> dict[int, list[OrderLineRow]]:
    found: dict[int, list[OrderLineRow]] = defaultdict(list)
    if order_ids:
        for line in session.scalars(select(OrderLineRow).where(
                OrderLineRow.order_id.in_(order_ids)).order_by(OrderLineRow.id)):
            found[line.order_id].append(line)
    return found


def _state(lines: list[OrderLineRow], today: date) -> OrderState:
    """The same state the order page shows (`gateway.domain.order_state`)."""
    return order_state([LineFacts(LineState(line.state), line.quantity,
                                  line.despatched_quantity or Decimal(0), line.requested_date,
                                  line.confirmed_date, line.expected_delivery)
                        for line in lines], today)


def _order_json(order: PurchaseOrder, lines: list[OrderLineRow], today: date) -> dict[str, Any]:
    return {"number": order.number, "supplier": order.supplier_code,
            "owner": order.owner_email, "order_date": _text(order.order_date),
            "currency": order.currency, "state": _state(lines, today), "lines": len(lines),
            "source": order.source, "updated_at": utc(order.updated_at).isoformat()}


def _version_json(version: LineVersionRow, number: str | None) -> dict[str, Any]:
    return {"kind": version.kind, "quantity": _text(version.quantity),
            "delivery_date": _text(version.delivery_date), "price": _text(version.price),
            "source": version.source, "message_id": version.message_id,
            "document_number": number, "at": utc(version.created_at).isoformat()}


def _line_json(line: OrderLineRow, versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"line_no": line.line_no, "state": line.state, "quantity": str(line.quantity),
            "unit": line.unit, "price": _text(line.price), "currency": line.currency,
            "requested_date": _text(line.requested_date), "buyer_part": line.buyer_part,
            "supplier_part": line.supplier_part, "gtin": line.gtin,
            "description": line.description,
            "confirmed_quantity": _text(line.confirmed_quantity),
            "confirmed_date": _text(line.confirmed_date),
            "confirmed_price": _text(line.confirmed_price),
            "despatched_quantity": str(line.despatched_quantity), "versions": versions}


def order_page(session: Session, supplier: str | None, state: OrderState | None,
               number: str | None, cursor: str | None, limit: int,
               today: date) -> dict[str, Any]:
    """Newest first by keyset on the order id; three statements whatever the page size."""
    query = select(PurchaseOrder)
    if supplier:
        query = query.where(PurchaseOrder.supplier_code == supplier)
    if number:
        query = query.where(PurchaseOrder.number == number)
    last = decode_cursor(cursor) if cursor else None
    items: list[dict[str, Any]] = []
    scanned = 0
    batch = limit if state is None else max(limit, 100)
    while True:
        bounded = query if last is None else query.where(PurchaseOrder.id < last)
        orders = list(session.scalars(bounded.order_by(PurchaseOrder.id.desc()).limit(batch)))
        lines = _lines_of(session, [order.id for order in orders])
        for order in orders:
            last = order.id
            body = _order_json(order, lines[order.id], today)
            if state is None or body["state"] == state:
                items.append(body)
                if len(items) == limit:
                    return {"items": items, "next_cursor": encode_cursor(order.id)}
        scanned += len(orders)
        if len(orders) < batch:
            return {"items": items, "next_cursor": None}
        if scanned >= STATE_SCAN_LIMIT:
            return {"items": items, "next_cursor": encode_cursor(orders[-1].id)}


def order_detail(session: Session, number: str, today: date) -> dict[str, Any] | None:
    order = session.scalars(select(PurchaseOrder).where(PurchaseOrder.number == number)).first()
    if order is None:
        return None
    lines = _lines_of(session, [order.id])[order.id]
    versions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if lines:
        for version, document_number in session.execute(
                select(LineVersionRow, DocumentRow.document_number)
                .outerjoin(DocumentRow, DocumentRow.id == LineVersionRow.document_id)
                .where(LineVersionRow.order_line_id.in_([line.id for line in lines]))
                .order_by(LineVersionRow.id)):
            versions[version.order_line_id].append(_version_json(version, document_number))
    body = _order_json(order, lines, today)
    body["order_lines"] = [_line_json(line, versions[line.id]) for line in lines]
    return body


def _row_of(line: OrderLineIn) -> dict[str, Any]:
    return {name: value for name, value in line.model_dump().items() if value is not None}


def _problem_of(errors: list[ImportRowError]) -> ApiProblem:
    listed = [{"row": error.row, "field": error.field, "detail": error.detail}
              for error in sorted(errors, key=lambda error: error.row)]
    return ApiProblem(422, "Order lines refused",
                      f"{len(listed)} line(s) refused; nothing was imported",
                      extensions={"errors": listed})


def orders_router(ctx: WebContext) -> APIRouter:
    from gateway.services.orders import import_lines, line_from_row

    router = APIRouter(prefix=PREFIX, tags=["orders"], responses=PROBLEM_RESPONSES,
                       dependencies=NO_NUL)

    @router.get("/orders", response_model=OrderPage, summary="Orders, newest first, one page")
    def list_orders(
            who: OrdersReader, supplier: str | None = None,
            state: Annotated[OrderState | None, Query(description="the order's state")] = None,
            number: Annotated[str | None, Query(description="one order number")] = None,
            cursor: str | None = None,
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        with ctx.transaction() as session:
            return order_page(session, supplier, state, number, cursor, limit,
                              ctx.now().date())

    @router.get("/orders/{number}", response_model=OrderDetailOut,
                summary="One order with its lines and each line's timeline")
    def get_order(number: str, who: OrdersReader) -> dict[str, Any]:
        with ctx.transaction() as session:
            found = order_detail(session, number, ctx.now().date())
        if found is None:
            raise ApiProblem(404, "Not found", f"no order {number!r}")
        return found

    @router.post("/orders", response_model=ImportOut,
                 summary="Import or update order lines (all or nothing)")
    def import_orders(body: OrdersIn, who: OrdersWriter,
                      supplier: Annotated[str | None, Query(
                          description="the supplier of lines that name none")] = None,
                      owner: Annotated[str | None, Query(
                          description="the owner of lines that name none")] = None,
                      ) -> dict[str, Any]:
        errors: list[ImportRowError] = []
        lines = []
        seen: dict[tuple[str, str], int] = {}
        for position, line in enumerate(body.lines, 1):
            try:
                read = line_from_row(position, _row_of(line), supplier, owner)
            except ImportRowError as exc:
                errors.append(exc)
                continue
            first = seen.setdefault((read.order_number, read.line_no), position)
            if first != position:
                errors.append(ImportRowError(position, f"{read.order_number} line "
                                             f"{read.line_no} is already row {first}",
                                             "line_no"))
            lines.append(read)
        if errors:
            raise _problem_of(errors)
        with ctx.transaction() as session:
            report = import_lines(session, lines, f"api:{who.name}", ctx.now())
            if report.errors:
                raise _problem_of(report.errors)
        return {"created": report.created, "updated": report.updated,
                "unchanged": report.unchanged, "orders": sorted(report.orders)}

    return router
