"""Silence is a risk too: lines the supplier has not answered, shipped or delivered in time.

`overdue` looks at an order's lines on a given day and reports, per line, the latest stage that
is late (docs/architecture.md, "Discrepancy codes"): no confirmation `confirmation_due_hours`
after the order date, no despatch `despatch_lead_days` before the promised date, nothing
delivered by it. Severity
rises one level per week overdue while nothing happens (`alerts.rising_severity`). Pure: the
service layer runs it over the open orders and stores what it finds like any discrepancy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from gateway.domain.alerts import rising_severity
from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode, discrepancy_key, risk_score
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.tolerances import Severity, ToleranceProfile

C = DiscrepancyCode
SILENCE_CODES = (C.CONFIRMATION_OVERDUE, C.DESPATCH_OVERDUE, C.DELIVERY_OVERDUE)
_DONE = frozenset({LineState.DESPATCHED, LineState.REJECTED})


@dataclass(slots=True)
class Silence:
    discrepancies: list[Discrepancy] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


def overdue(order: Order, order_date: date | None, profile: ToleranceProfile,
            today: date) -> Silence:
    found = Silence()
    for line in order.lines:
        late = _stage(line, order_date, profile, today)
        fired = late.code if late else None
        if late is not None:
            found.discrepancies.append(_discrepancy(line, order, late, profile, today))
        found.cleared += [discrepancy_key(code, line.order_number, line.line_no)
                          for code in SILENCE_CODES if code != fired]
    return found


@dataclass(frozen=True, slots=True)
class _Late:
    code: DiscrepancyCode
    due: date
    expected: str


def _stage(line: OrderLine, order_date: date | None, profile: ToleranceProfile,
           today: date) -> _Late | None:
    if line.state in _DONE or line.promised_quantity == 0:
        return None
    promised = line.promised_date
    if promised is not None and today > promised:
        return _Late(C.DELIVERY_OVERDUE, promised, f"delivered by {promised.isoformat()}")
    if line.state is LineState.OPEN:
        if order_date is None:
            return None
        # Due hours count from the order date; whole days late are what a date can show.
        due = order_date + timedelta(days=math.ceil(profile.confirmation_due_hours / 24))
        return (_Late(C.CONFIRMATION_OVERDUE, due, f"a confirmation by {due.isoformat()}")
                if today > due else None)
    if line.state is not LineState.PARTLY_DESPATCHED and promised is not None:
        due = promised - timedelta(days=profile.despatch_lead_days)
        if today > due:
            return _Late(C.DESPATCH_OVERDUE, due, f"a despatch by {due.isoformat()}")
    return None


def _discrepancy(line: OrderLine, order: Order, late: _Late, profile: ToleranceProfile,
                 today: date) -> Discrepancy:
    days = (today - late.due).days
    need = line.promised_date
    severity = rising_severity(
        Severity.HIGH if late.code is C.DELIVERY_OVERDUE
        or (need is not None and (need - today).days <= profile.despatch_lead_days)
        else Severity.MEDIUM, days)
    return Discrepancy(
        late.code, severity, line.order_number, line.line_no, late.expected,
        "nothing yet", f"{days} day(s) overdue", _RULES[late.code], profile.label,
        risk_score(severity, Decimal(days) / 7, line.value,
                   (need - today).days if need else None),
        None, order.owner)


_RULES = {
    C.CONFIRMATION_OVERDUE: "no confirmation within the profile's confirmation due hours",
    C.DESPATCH_OVERDUE: "no despatch advice by the despatch lead days before the promised date",
    C.DELIVERY_OVERDUE: "the promised date has passed without the full quantity despatched",
}
