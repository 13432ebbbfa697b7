"""Where each connector stands, for IT: one `connector_status` row per connector and name.

An IMAP mailbox keeps its position there (UIDVALIDITY and the last UID taken in, RFC 3501
section 2.3.1.1) and its health (last success, last error, consecutive failures). While the
database is down nothing can be written: the connector keeps its failures in memory and the
first write after the database is back records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.persistence.models import ConnectorStatusRow


@dataclass(frozen=True, slots=True)
class Position:
    uidvalidity: int | None = None
    last_uid: int = 0


def read_position(session: Session, connector: str, name: str) -> Position:
    row = _find(session, connector, name)
    return Position() if row is None else Position(row.uidvalidity, row.last_uid)


def record_position(session: Session, connector: str, name: str, position: Position,
                    taken_in: int, now: datetime) -> None:
    row = _row(session, connector, name, now)
    row.uidvalidity = position.uidvalidity
    row.last_uid = position.last_uid
    row.messages_taken_in += taken_in


def record_notice(session: Session, connector: str, name: str, notice: str,
                  now: datetime) -> None:
    """Something IT should know that is not an error (a mailbox rescanned, a mail set aside)."""
    row = _row(session, connector, name, now)
    row.notice = notice[:2000]
    row.notice_at = now


def record_failure(session: Session, connector: str, name: str, error: str, at: datetime,
                   failures: int, now: datetime) -> None:
    """`failures` failed attempts, the last one at `at` with `error`, not recorded before
    (while the database was down, say): they add to the consecutive failures."""
    row = _row(session, connector, name, now)
    row.last_error = error[:2000]
    row.last_error_at = at
    row.consecutive_failures += failures


def record_success(session: Session, connector: str, name: str, now: datetime) -> None:
    """The last error stays, with its time, so IT can still see what happened."""
    row = _row(session, connector, name, now)
    row.last_success_at = now
    row.consecutive_failures = 0


def all_statuses(session: Session) -> list[ConnectorStatusRow]:
    return list(session.scalars(select(ConnectorStatusRow)
                                .order_by(ConnectorStatusRow.connector, ConnectorStatusRow.name)))


def _find(session: Session, connector: str, name: str) -> ConnectorStatusRow | None:
    return session.scalars(select(ConnectorStatusRow).where(
        ConnectorStatusRow.connector == connector, ConnectorStatusRow.name == name)).first()


def _row(session: Session, connector: str, name: str, now: datetime) -> ConnectorStatusRow:
    row = _find(session, connector, name)
    if row is None:
        row = ConnectorStatusRow(connector=connector, name=name, last_uid=0,
                                 messages_taken_in=0, consecutive_failures=0, updated_at=now)
        session.add(row)
    row.updated_at = now
    return row
