"""Certificate expiry warnings for IT: one CERTIFICATE_EXPIRING exception per AS2
certificate (ours or a partner's) that ends within the warning window, opened or seen again
each time the check runs (`gateway as2 check`, and `gateway as2` when it starts), so that a
renewal is listed before the old certificate stops traffic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from gateway.as2.partners import ExpiryNotice
from gateway.domain.discrepancies import (
    OPEN_STATES,
    DiscrepancyCode,
    ExceptionState,
    certificate_expiring,
    discrepancy_key,
)
from gateway.persistence.models import ExceptionEventRow, ExceptionRow

EXCEPTIONS = cast(Table, ExceptionRow.__table__)
EVENTS = cast(Table, ExceptionEventRow.__table__)


def expiry_key(notice: ExpiryNotice) -> str:
    """One exception per certificate, whoever holds it."""
    code = discrepancy_key(DiscrepancyCode.CERTIFICATE_EXPIRING, None, None)
    return f"{notice.supplier_code or ''}|{code}|as2:{notice.fingerprint}"


def record_expiring(session: Session, notices: list[ExpiryNotice], now: datetime
                    ) -> list[int]:
    """Open (or refresh, or reopen) the exception of each notice; their ids."""
    ids = []
    for notice in notices:
        found = certificate_expiring(notice.whose, notice.subject,
                                     notice.not_after.date().isoformat(), notice.days_left)
        values = {"code": found.code.value, "severity": found.severity.value,
                  "risk": found.risk, "expected": found.expected, "actual": found.actual,
                  "rule": found.rule, "updated_at": now}
        key = expiry_key(notice)
        known = session.execute(select(EXCEPTIONS.c.id, EXCEPTIONS.c.state,
                                       EXCEPTIONS.c.occurrences)
                                .where(EXCEPTIONS.c.key == key)).first()
        if known is None:
            exception_id = session.execute(insert(EXCEPTIONS).values(
                key=key, state=ExceptionState.OPEN.value, occurrences=1,
                supplier_code=notice.supplier_code, created_at=now, **values)
                .returning(EXCEPTIONS.c.id)).scalar_one()
            session.execute(insert(EVENTS).values(_event(exception_id, now, "raised", None,
                                                         found.actual or "")))
        else:
            exception_id, state, occurrences = known
            after = ExceptionState.OPEN if state not in OPEN_STATES else ExceptionState(state)
            session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id == exception_id)
                            .values(state=after.value, occurrences=occurrences + 1, **values))
            session.execute(insert(EVENTS).values(_event(
                exception_id, now, "reopened" if after.value != state else "seen_again",
                ExceptionState(state), found.actual or "", after)))
        ids.append(int(exception_id))
    return ids


def _event(exception_id: int, now: datetime, action: str, before: ExceptionState | None,
           detail: str, after: ExceptionState = ExceptionState.OPEN) -> dict[str, Any]:
    return {"exception_id": exception_id, "at": now, "actor": "gateway", "action": action,
            "from_state": before.value if before else None, "to_state": after.value,
            "detail": detail, "message_id": None}
