"""The exception queue and one exception as the web pages and the API read them.

The queue is worst first: by risk, highest first, then the newest first; pages follow by
keyset (the last row's risk and id in an opaque cursor), so page 500 costs what page 1 costs
and a row raised meanwhile never shifts a page. One page is one SQL statement whatever its
size: every column a row shows (expected, actual, owner) is on the exception row itself.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import OPEN_STATES, ExceptionState
from gateway.persistence.accounts import UserRow
from gateway.persistence.models import (
    DocumentRow,
    ExceptionRow,
    LineVersionRow,
    OrderLineRow,
    Supplier,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
STATE_OPEN = "open"  # the filter value meaning "open or acknowledged"
STATE_ANY = "any"
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


class BadCursor(ValueError):
    """A cursor this app did not make."""


@dataclass(frozen=True, slots=True)
class QueueFilters:
    supplier: str | None = None
    severity: str | None = None
    code: str | None = None
    state: str = STATE_OPEN
    owner: str | None = None
    order: str | None = None
    # Only exceptions raised at least this many days ago.
    age: int | None = None

    def as_query(self) -> dict[str, str]:
        """The filters as URL query parameters (what a page link keeps)."""
        found: dict[str, str] = {}
        for name in ("supplier", "severity", "code", "owner", "order"):
            value = getattr(self, name)
            if value:
                found[name] = value
        if self.state != STATE_OPEN:
            found["state"] = self.state
        if self.age:
            found["age"] = str(self.age)
        return found


def clean_filters(supplier: str | None = None, severity: str | None = None,
                  code: str | None = None, state: str | None = None, owner: str | None = None,
                  order: str | None = None, age: str | int | None = None) -> QueueFilters:
    """Filters from a URL: blanks are absent, an unknown state or a bad age is ignored."""
    def blank(value: str | None) -> str | None:
        return value.strip()[:200] or None if value else None

    chosen = state if state in {STATE_ANY, *(s.value for s in ExceptionState)} else STATE_OPEN
    days: int | None = None
    if age not in (None, ""):
        try:
            days = max(0, min(int(str(age)), 36500)) or None
        except ValueError:
            days = None
    return QueueFilters(blank(supplier), blank(severity), blank(code), chosen, blank(owner),
                        blank(order), days)


def encode_cursor(risk: float, exception_id: int) -> str:
    return base64.urlsafe_b64encode(struct.pack(">dq", risk, exception_id)).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        risk, exception_id = struct.unpack(">dq", raw)
    except (ValueError, struct.error) as exc:
        raise BadCursor("this cursor was not made by this gateway") from exc
    if not 0 < exception_id <= MAX_ROW_ID:
        raise BadCursor("this cursor was not made by this gateway")
    return float(risk), int(exception_id)


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[ExceptionRow]
    next_cursor: str | None


def queue_page(session: Session, filters: QueueFilters, cursor: str | None, limit: int,
               now: datetime) -> QueuePage:
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = select(ExceptionRow)
    if filters.supplier:
        query = query.where(ExceptionRow.supplier_code == filters.supplier)
    if filters.severity:
        query = query.where(ExceptionRow.severity == filters.severity)
    if filters.code:
        query = query.where(ExceptionRow.code == filters.code)
    if filters.state == STATE_OPEN:
        query = query.where(ExceptionRow.state.in_(OPEN_STATES))
    elif filters.state != STATE_ANY:
        query = query.where(ExceptionRow.state == filters.state)
    if filters.owner:
        query = query.where(func.lower(ExceptionRow.owner) == filters.owner.lower())
    if filters.order:
        query = query.where(ExceptionRow.order_number == filters.order)
    if filters.age:
        query = query.where(ExceptionRow.created_at <= now - timedelta(days=filters.age))
    if cursor:
        risk, last_id = decode_cursor(cursor)
        # A row-value comparison in the index's own order: PostgreSQL walks
        # ix_exceptions_risk_id backwards from the cursor, whatever the page number.
        query = query.where(tuple_(ExceptionRow.risk, ExceptionRow.id) < tuple_(risk, last_id))
    rows = list(session.scalars(
        query.order_by(ExceptionRow.risk.desc(), ExceptionRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(rows, encode_cursor(rows[-1].risk, rows[-1].id) if more else None)


def supplier_codes(session: Session) -> list[str]:
    """The supplier filter's choices: the partners (a small table; a DISTINCT over the
    exceptions would read them all)."""
    return list(session.scalars(select(Supplier.code).order_by(Supplier.code)))


def utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; the gateway stores UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def exception_version(row: ExceptionRow, updated_at: str | None = None) -> str:
    """The ETag of an exception: changes whenever its state, owner, evidence or anything an
    action could change does (RFC 9110 section 8.8.3, a strong validator). `updated_at`: the
    row's `updated_at` in UTC ISO form, when the caller has it already."""
    basis = (f"{row.id}|{row.state}|{row.owner}|{row.occurrences}|{row.actual}|"
             f"{updated_at or utc(row.updated_at).isoformat()}")
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


def owner_group(session: Session, owner: str | None) -> str | None:
    if not owner:
        return None
    return session.scalar(select(UserRow.group_name).where(
        func.lower(UserRow.email) == owner.lower()))


@dataclass(frozen=True, slots=True)
class VersionEntry:
    kind: str
    quantity: Decimal | None
    delivery_date: Any
    price: Decimal | None
    source: str
    message_id: int | None
    document_number: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LineHistory:
    line: OrderLineRow | None
    versions: list[VersionEntry]


def line_history(session: Session, order_line_id: int | None) -> LineHistory:
    if order_line_id is None:
        return LineHistory(None, [])
    line = session.get(OrderLineRow, order_line_id)
    found = session.execute(
        select(LineVersionRow, DocumentRow.document_number)
        .outerjoin(DocumentRow, DocumentRow.id == LineVersionRow.document_id)
        .where(LineVersionRow.order_line_id == order_line_id)
        .order_by(LineVersionRow.id)).all()
    return LineHistory(line, [VersionEntry(v.kind, v.quantity, v.delivery_date, v.price,
                                           v.source, v.message_id, number, v.created_at)
                              for v, number in found])


def exception_json(row: ExceptionRow) -> dict[str, Any]:
    updated_at = utc(row.updated_at).isoformat()
    return {
        "id": row.id, "code": row.code, "severity": row.severity, "risk": row.risk,
        "state": row.state, "supplier": row.supplier_code, "order_number": row.order_number,
        "line_no": row.line_no, "expected": row.expected, "actual": row.actual,
        "difference": row.difference, "rule": row.rule, "tolerance": row.tolerance,
        "owner": row.owner, "message_id": row.message_id, "occurrences": row.occurrences,
        "created_at": utc(row.created_at).isoformat(),
        "updated_at": updated_at, "version": exception_version(row, updated_at),
    }

