"""`/api/v1/suppliers` (partner entries with their tolerance profile versions, scope
`suppliers:read`) and `/api/v1/outbox` (what leaves or left, scope `outbox:read`).

The outbox list shows each message's envelope and state, never its payload: a reply quotes
the supplier, and an alert names orders and prices.
"""

from __future__ import annotations

import base64
import struct
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.access import Actor, Scope
from gateway.domain.outbound import OutboundKind, OutboundState
from gateway.persistence.models import (
    OutboundMessageRow,
    Supplier,
    SupplierIdentity,
    ToleranceProfileRow,
)
from gateway.web.api import NO_NUL, PREFIX, PROBLEM_RESPONSES, ApiProblem, scoped
from gateway.web.context import WebContext
from gateway.web.queue_view import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_ROW_ID, utc

DEFAULT_PROFILE = "default"  # the profile of a supplier that names none (docs/partners)
# Module level: FastAPI resolves the string annotations against the module's names.
SuppliersReader = Annotated[Actor, Depends(scoped(Scope.SUPPLIERS_READ))]
OutboxReader = Annotated[Actor, Depends(scoped(Scope.OUTBOX_READ))]


class SupplierOut(BaseModel):
    code: str
    name: str
    buyer_contact: str | None
    profile: str | None = Field(description="the tolerance profile's name; null: `default`")
    language: str | None
    mail_auth: str | None
    reminders: bool
    contrl: str | None
    aperak: str | None


class IdentityOut(BaseModel):
    kind: str = Field(description="email, domain, edi, as2 …")
    value: str
    qualifier: str


class ProfileVersionOut(BaseModel):
    name: str
    version: int
    created_at: str
    limits: dict[str, str] = Field(description="each tolerance, as a decimal string")


class SupplierDetailOut(SupplierOut):
    identities: list[IdentityOut]
    profile_versions: list[ProfileVersionOut] = Field(
        description="every version of its tolerance profile, oldest first: an old decision "
                    "is explained by the version it used")


class SupplierList(BaseModel):
    items: list[SupplierOut]


class OutboxOut(BaseModel):
    id: int
    kind: str
    transport: str
    recipient: str
    state: str
    reason: str
    state_reason: str | None
    supplier: str | None
    message_id: int | None
    exception_id: int | None
    attempts: int
    created_at: str
    next_attempt_at: str | None
    sent_at: str | None


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    next_cursor: str | None


_LIMITS = ("qty_under_pct", "qty_under_abs", "qty_over_pct", "qty_over_abs",
           "date_early_warning_days", "date_early_error_days", "date_late_warning_days",
           "date_late_error_days", "price_pct", "confirmation_due_hours", "despatch_lead_days")


def _when(moment: Any) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def supplier_json(row: Supplier) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "buyer_contact": row.buyer_contact,
            "profile": row.profile_name, "language": row.language, "mail_auth": row.mail_auth,
            "reminders": bool(row.reminders), "contrl": row.contrl, "aperak": row.aperak}


def _limit_text(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def supplier_detail(session: Session, code: str) -> dict[str, Any] | None:
    row = session.scalars(select(Supplier).where(Supplier.code == code)).first()
    if row is None:
        return None
    body = supplier_json(row)
    body["identities"] = [
        {"kind": i.kind, "value": i.value, "qualifier": i.qualifier}
        for i in session.scalars(select(SupplierIdentity).where(
            SupplierIdentity.supplier_id == row.id).order_by(SupplierIdentity.id))]
    versions = session.scalars(
        select(ToleranceProfileRow)
        .where(ToleranceProfileRow.name == (row.profile_name or DEFAULT_PROFILE))
        .order_by(ToleranceProfileRow.version))
    body["profile_versions"] = [
        {"name": p.name, "version": p.version, "created_at": utc(p.created_at).isoformat(),
         "limits": {name: _limit_text(getattr(p, name)) for name in _LIMITS}}
        for p in versions]
    return body


def outbox_json(row: OutboundMessageRow) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "transport": row.transport,
            "recipient": row.recipient, "state": row.state, "reason": row.reason,
            "state_reason": row.state_reason, "supplier": row.supplier_code,
            "message_id": row.message_id, "exception_id": row.exception_id,
            "attempts": row.attempts, "created_at": utc(row.created_at).isoformat(),
            "next_attempt_at": _when(row.next_attempt_at), "sent_at": _when(row.sent_at)}


def _decode(cursor: str) -> int:
    try:
        (found,) = struct.unpack(">q", base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, struct.error) as exc:
        raise ApiProblem(400, "Bad cursor", "this cursor was not made by this gateway") from exc
    if not 0 < found <= MAX_ROW_ID:
        raise ApiProblem(400, "Bad cursor", "this cursor was not made by this gateway")
    return int(found)


def _encode(row_id: int) -> str:
    return base64.urlsafe_b64encode(struct.pack(">q", row_id)).decode().rstrip("=")


def outbox_page(session: Session, kind: OutboundKind | None, state: OutboundState | None,
                supplier: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
    """Newest first, by keyset on the id: one statement whatever the page."""
    query = select(OutboundMessageRow)
    if kind is not None:
        query = query.where(OutboundMessageRow.kind == kind.value)
    if state is not None:
        query = query.where(OutboundMessageRow.state == state.value)
    if supplier:
        query = query.where(OutboundMessageRow.supplier_code == supplier)
    if cursor:
        query = query.where(OutboundMessageRow.id < _decode(cursor))
    rows = list(session.scalars(query.order_by(OutboundMessageRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [outbox_json(row) for row in rows],
            "next_cursor": _encode(rows[-1].id) if more else None}


def resources_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES, dependencies=NO_NUL)

    @router.get("/suppliers", response_model=SupplierList, tags=["suppliers"],
                summary="Every partner entry, by code")
    def list_suppliers(who: SuppliersReader) -> dict[str, Any]:
        with ctx.transaction() as session:
            return {"items": [supplier_json(row) for row in session.scalars(
                select(Supplier).order_by(Supplier.code))]}

    @router.get("/suppliers/{code}", response_model=SupplierDetailOut, tags=["suppliers"],
                summary="One partner entry, its identities and tolerance profile versions")
    def get_supplier(code: str, who: SuppliersReader) -> dict[str, Any]:
        with ctx.transaction() as session:
            found = supplier_detail(session, code)
        if found is None:
            raise ApiProblem(404, "Not found", f"no supplier {code!r}")
        return found

    @router.get("/outbox", response_model=OutboxPage, tags=["outbox"],
                summary="Outbound messages, newest first, one page")
    def list_outbox(
            who: OutboxReader, kind: OutboundKind | None = None,
            state: OutboundState | None = None, supplier: str | None = None,
            cursor: str | None = None,
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        with ctx.transaction() as session:
            return outbox_page(session, kind, state, supplier, cursor, limit)

    return router
