"""The overdue check: silence flagged early (`gateway check-overdue`, later a periodic task)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.silence import overdue
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import Lookups, SupplierInfo
from gateway.services.processing import LINE_COLUMNS, LINES, ORDERS, domain_line

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
    return found
