"""Read side of the supplier pages: the suppliers, one supplier's entry and tolerance profile
versions, and the facts its scorecard is computed from (gateway.domain.scorecard), each in a
fixed number of queries whatever the number of lines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import OPEN_STATES
from gateway.domain.orders import VersionKind
from gateway.domain.scorecard import Event, LineFacts
from gateway.persistence.models import (
    ExceptionRow,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
    Supplier,
    SupplierIdentity,
    ToleranceProfileRow,
)


@dataclass(frozen=True, slots=True)
class SupplierSummary:
    code: str
    name: str
    buyer_contact: str | None
    profile_name: str | None
    open_exceptions: int


@dataclass(frozen=True, slots=True)
class SupplierEntry:
    supplier: Supplier
    identities: list[SupplierIdentity]
    profiles: list[ToleranceProfileRow]  # every version of its profile, newest first


def list_suppliers(session: Session) -> list[SupplierSummary]:
    """Every supplier by code with its open exceptions: two queries."""
    counts = dict(session.execute(
        select(ExceptionRow.supplier_code, func.count())
        .where(ExceptionRow.state.in_([str(state) for state in OPEN_STATES]))
        .group_by(ExceptionRow.supplier_code)).all())
    return [SupplierSummary(row.code, row.name, row.buyer_contact, row.profile_name,
                            counts.get(row.code, 0))
            for row in session.scalars(select(Supplier).order_by(Supplier.code))]


def supplier_entry(session: Session, code: str) -> SupplierEntry | None:
    supplier = session.scalars(select(Supplier).where(Supplier.code == code)).one_or_none()
    if supplier is None:
        return None
    identities = list(session.scalars(
        select(SupplierIdentity).where(SupplierIdentity.supplier_id == supplier.id)
        .order_by(SupplierIdentity.kind, SupplierIdentity.value)))
    profiles = list(session.scalars(
        select(ToleranceProfileRow)
        .where(ToleranceProfileRow.name == (supplier.profile_name or "default"))
        .order_by(ToleranceProfileRow.version.desc())))
    return SupplierEntry(supplier, identities, profiles)


def line_facts(session: Session, supplier_code: str, start: date, end: date) -> list[LineFacts]:
    """The supplier's order lines requested from `start` to `end` (inclusive) with their
    versions and the count of exceptions raised on each: three queries."""
    lines = (select(OrderLineRow.id).join(PurchaseOrder, OrderLineRow.order_id == PurchaseOrder.id)
             .where(PurchaseOrder.supplier_code == supplier_code,
                    OrderLineRow.requested_date >= start, OrderLineRow.requested_date <= end))
    rows = session.execute(
        select(OrderLineRow.id, OrderLineRow.quantity, OrderLineRow.requested_date)
        .where(OrderLineRow.id.in_(lines)).order_by(OrderLineRow.id)).all()
    versions: dict[int, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for version in session.scalars(select(LineVersionRow)
                                   .where(LineVersionRow.order_line_id.in_(lines))
                                   .order_by(LineVersionRow.id)):
        versions[version.order_line_id][version.kind].append(
            Event(version.created_at, version.quantity, version.delivery_date))
    exceptions = dict(session.execute(
        select(ExceptionRow.order_line_id, func.count())
        .where(ExceptionRow.order_line_id.in_(lines))
        .group_by(ExceptionRow.order_line_id)).all())
    facts = []
    for line_id, quantity, requested in rows:
        if requested is None:  # never: the query asked for a requested date in the period
            continue
        kinds = versions[line_id]
        requested_versions = kinds[VersionKind.REQUESTED]
        facts.append(LineFacts(
            line_id, quantity or Decimal(0), requested,
            requested_versions[0].at if requested_versions else None,
            tuple(kinds[VersionKind.CONFIRMATION]), tuple(kinds[VersionKind.DESPATCH]),
            tuple(kinds[VersionKind.RECEIPT]), exceptions.get(line_id, 0)))
    return facts
