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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select, tuple_
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


def queue_values(filters: QueueFilters, cursor: str | None, limit: int,
                 now: datetime) -> dict[str, Any]:
    """The page statement's values by bind parameter name: one per filter given, the cursor's
    row value, the number of rows. Which names are present decides the statement's text
    (`queue_query`), their values never do: the text of a page can be made once and sent
    again with other values (`gateway.web.api_queue`). `BadCursor` for a cursor this gateway
    did not make."""
    values: dict[str, Any] = {}
    for name, value in (("supplier", filters.supplier), ("severity", filters.severity),
                        ("code", filters.code), ("order_number", filters.order)):
        if value:
            values[name] = value
    if filters.state not in (STATE_OPEN, STATE_ANY):
        values["state"] = filters.state
    if filters.owner:
        values["owner"] = filters.owner.lower()
    if filters.age:
        values["raised_before"] = now - timedelta(days=filters.age)
    if cursor:
        values["after_risk"], values["after_id"] = decode_cursor(cursor)
    values["page_rows"] = page_size(limit) + 1
    return values


def queue_shape(filters: QueueFilters, values: dict[str, Any]) -> tuple[object, ...]:
    """What the text of the page's statement depends on: the state filter's kind and which
    values `queue_values` gave."""
    return (filters.state == STATE_OPEN, filters.state == STATE_ANY, *sorted(values))


def queue_query(columns: Sequence[Any], filters: QueueFilters, cursor: str | None,
                limit: int, now: datetime) -> Select[Any]:
    """The page's one statement, selecting `columns` (the ORM row for the HTML page, the
    columns the API shows for `/api/v1/exceptions`): one more row than `limit`, so the caller
    knows whether another page follows."""
    return queue_statement(columns, filters, queue_values(filters, cursor, limit, now))


def queue_statement(columns: Sequence[Any], filters: QueueFilters,
                    values: dict[str, Any]) -> Select[Any]:
    """`queue_query` from `queue_values`: every value a named bind parameter."""
    table = ExceptionRow.__table__.c

    def value(name: str, column: Any) -> Any:
        return bindparam(name, values[name], type_=column.type)

    query = select(*columns)
    for name, column in (("supplier", table.supplier_code), ("severity", table.severity),
                         ("code", table.code), ("state", table.state),
                         ("order_number", table.order_number),
                         ("raised_before", table.created_at)):
        if name in values:
            query = query.where(column <= value(name, column) if name == "raised_before"
                                else column == value(name, column))
    if filters.state == STATE_OPEN:
        query = query.where(table.state.in_(OPEN_STATES))
    if "owner" in values:
        query = query.where(func.lower(table.owner) == value("owner", table.owner))
    if "after_id" in values:
        # A row-value comparison in the index's own order: PostgreSQL walks
        # ix_exceptions_risk_id backwards from the cursor, whatever the page number.
        query = query.where(tuple_(table.risk, table.id) < tuple_(
            value("after_risk", table.risk), value("after_id", table.id)))
    return query.order_by(table.risk.desc(), table.id.desc()).limit(
        bindparam("page_rows", values["page_rows"], type_=Integer))


def page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE_SIZE))


def queue_page(session: Session, filters: QueueFilters, cursor: str | None, limit: int,
               now: datetime) -> QueuePage:
    rows = list(session.scalars(queue_query([ExceptionRow], filters, cursor, limit, now)))
    more = len(rows) > page_size(limit)
    rows = rows[:page_size(limit)]
    return QueuePage(rows, encode_cursor(rows[-1].risk, rows[-1].id) if more else None)


def supplier_codes(session: Session) -> list[str]:
    """The supplier filter's choices: the partners (a small table; a DISTINCT over the
    exceptions would read them all)."""
    return list(session.scalars(select(Supplier.code).order_by(Supplier.code)))


def utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; the gateway stores UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def exception_version(row: ExceptionRow) -> str:
    """The ETag of an exception (RFC 9110 section 8.8.3, a strong validator)."""
    return version_of(row.id, row.state, row.owner, row.occurrences, row.actual,
                      row.updated_at)


def version_of(exception_id: int, state: str, owner: str | None, occurrences: int,
               actual: str | None, updated_at: datetime) -> str:
    """Changes whenever its state, owner, evidence or anything an action could change does:
    every change stamps `updated_at`, and the fields themselves are in it too, so two changes
    stamped with the same clock reading still differ. A digest of a short text (no JSON, no
    ISO date): the API computes one per item of a page."""
    stamp = updated_at.timestamp() if updated_at.tzinfo is not None else utc(updated_at).timestamp()
    basis = f"{exception_id}|{state}|{owner}|{occurrences}|{actual}|{stamp!r}"
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
        "updated_at": updated_at, "version": exception_version(row),
    }

