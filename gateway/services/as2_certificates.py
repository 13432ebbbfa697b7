"""Certificate expiry warnings for IT: one CERTIFICATE_EXPIRING exception per AS2
certificate (ours or a partner's) that ends within the warning window, opened or seen again
each time the check runs (the daily job `as2-certificates` of `gateway run` and `gateway
beat`, `gateway as2 check --record`, and `gateway as2` when it starts), so that a renewal is
listed before the old certificate stops traffic."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.as2.partners import ExpiryNotice, directory_from_file, expiring
from gateway.domain.discrepancies import (
    OPEN_STATES,
    DiscrepancyCode,
    ExceptionState,
    certificate_expiring,
    discrepancy_key,
    partner_file_rejected,
)
from gateway.errors import ConfigurationError
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.services.connector_status import record_failure, record_notice, record_success

log = logging.getLogger(__name__)
# The rows of `connector_status` the dashboard's connector panel shows for AS2.
CONNECTOR = "as2"
CERTIFICATES = "certificates"
PARTNER_FILE = "partner file"
# (the job's transaction, now) -> how many certificates were told to IT
CertificateCheck = Callable[[Session, datetime], int]

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


def rejected_key(path: Path) -> str:
    """One exception per partner file."""
    code = discrepancy_key(DiscrepancyCode.AS2_PARTNER_FILE_REJECTED, None, None)
    return f"|{code}|as2:{str(path)[:400]}"


def record_partner_file(session: Session, path: Path, error: str | None, now: datetime
                        ) -> int | None:
    """A changed partner file that does not load (`error`): its exception opened, or seen
    again; one that loads again (`error` None): that exception resolved. Its id."""
    key = rejected_key(path)
    known = session.execute(select(EXCEPTIONS.c.id, EXCEPTIONS.c.state,
                                   EXCEPTIONS.c.occurrences)
                            .where(EXCEPTIONS.c.key == key)).first()
    if error is None:
        if known is None or known.state not in OPEN_STATES:
            return None
        session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id == known.id).values(
            state=ExceptionState.RESOLVED.value, updated_at=now))
        session.execute(insert(EVENTS).values(_event(
            known.id, now, "resolved", ExceptionState(known.state), "the partner file loads "
            "again", ExceptionState.RESOLVED)))
        return int(known.id)
    found = partner_file_rejected(str(path), error)
    values = {"code": found.code.value, "severity": found.severity.value, "risk": found.risk,
              "expected": found.expected, "actual": found.actual, "rule": found.rule,
              "updated_at": now}
    if known is None:
        exception_id = session.execute(insert(EXCEPTIONS).values(
            key=key, state=ExceptionState.OPEN.value, occurrences=1, supplier_code=None,
            created_at=now, **values).returning(EXCEPTIONS.c.id)).scalar_one()
        session.execute(insert(EVENTS).values(_event(exception_id, now, "raised", None,
                                                     found.actual or "")))
        return int(exception_id)
    after = ExceptionState.OPEN if known.state not in OPEN_STATES else \
        ExceptionState(known.state)
    session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id == known.id).values(
        state=after.value, occurrences=known.occurrences + 1, **values))
    session.execute(insert(EVENTS).values(_event(
        known.id, now, "reopened" if after.value != known.state else "seen_again",
        ExceptionState(known.state), found.actual or "", after)))
    return int(known.id)


def partner_file_reporter(transaction: Callable[[], AbstractContextManager[Session]],
                          clock: Callable[[], datetime], path: Path
                          ) -> Callable[[str | None], None]:
    """What a `PartnerFileWatch` tells, recorded for IT in a transaction of its own. The
    database away costs the record, never the request that noticed the change."""

    def tell(error: str | None) -> None:
        try:
            with transaction() as session:
                now = clock()
                record_partner_file(session, path, error, now)
                if error is None:
                    record_success(session, CONNECTOR, PARTNER_FILE, now)
                else:
                    record_failure(session, CONNECTOR, PARTNER_FILE,
                                   f"a changed version is not used: {error}", now, 1, now)
        except SQLAlchemyError as exc:
            log.error("AS2: could not record the partner file's state for IT (%s): %s",
                      type(exc).__name__, error or "it loads again")

    return tell


def certificates_notice(notices: list[ExpiryNotice], warn_days: int) -> str:
    """The line the dashboard's connector panel shows for the AS2 certificates."""
    if not notices:
        return f"no AS2 certificate ends within {warn_days} days"
    soonest = sorted(notices, key=lambda n: n.not_after)
    listed = "; ".join(f"{n.whose}: {n.subject} ends {n.not_after:%Y-%m-%d}"
                       for n in soonest[:5])
    more = f" and {len(soonest) - 5} more" if len(soonest) > 5 else ""
    return f"{len(notices)} AS2 certificate(s) end within {warn_days} days: {listed}{more}"


def daily_certificate_check(env: Mapping[str, str]) -> CertificateCheck | None:
    """The daily job's check when GATEWAY_AS2_PARTNERS names the partner file (else None):
    the file is read anew each day, so a renewal listed since counts, with the `[as2]`
    table's `certificate_warn_days`. A file that does not load is logged and checked again
    the next day (the endpoint keeps serving with what it loaded)."""
    name = env.get("GATEWAY_AS2_PARTNERS")
    if not name:
        return None
    path = Path(name)

    def check(session: Session, now: datetime) -> int:
        try:
            directory = directory_from_file(path, env)
        except ConfigurationError as exc:
            log.error("AS2 certificate check skipped: the partner file does not load: %s",
                      exc)
            return 0
        notices = expiring(directory, now, directory.warn_days)
        record_expiring(session, notices, now)
        record_notice(session, CONNECTOR, CERTIFICATES, certificates_notice(
            notices, directory.warn_days), now)
        record_success(session, CONNECTOR, CERTIFICATES, now)
        return len(notices)

    return check


def _event(exception_id: int, now: datetime, action: str, before: ExceptionState | None,
           detail: str, after: ExceptionState = ExceptionState.OPEN) -> dict[str, Any]:
    return {"exception_id": exception_id, "at": now, "actor": "gateway", "action": action,
            "from_state": before.value if before else None, "to_state": after.value,
            "detail": detail, "message_id": None}
