"""The overdue check: silence flagged early (`gateway check-overdue`, later a periodic task)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.silence import overdue
from gateway.persistence.models import OrderLineRow, PurchaseOrder
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import Lookups, SupplierInfo
from gateway.services.processing import LINE_COLUMNS, domain_line

_FINISHED = [LineState.DESPATCHED.value, LineState.REJECTED.value]


def check_overdue(session: Session, today: date, now: datetime) -> list[Discrepancy]:
    """Every order with an unfinished line, against its supplier's profile in force. Raises,
    updates or resolves CONFIRMATION_OVERDUE, DESPATCH_OVERDUE and DELIVERY_OVERDUE."""
    lookups = Lookups(session)
    ledger = ExceptionLedger(session)
    found: list[Discrepancy] = []
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    heads: dict[str, tuple[str | None, str | None, date | None]] = {}
    ids: dict[str, dict[str, int]] = defaultdict(dict)
    unfinished = select(OrderLineRow.order_id).where(OrderLineRow.state.not_in(_FINISHED))
    for row in session.execute(
            select(PurchaseOrder.number, PurchaseOrder.owner_email, PurchaseOrder.supplier_code,
                   PurchaseOrder.order_date, *LINE_COLUMNS)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id)
            .where(OrderLineRow.order_id.in_(unfinished)).order_by(OrderLineRow.id)):
        lines[row.number].append(domain_line(row))
        heads[row.number] = (row.supplier_code, row.owner_email, row.order_date)
        ids[row.number][row.line_no] = row.id
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
    return found
