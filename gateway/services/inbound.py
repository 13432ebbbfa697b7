"""What IT sees of the inbound archive: messages by state, one message in full, its raw bytes,
and the release of a quarantined or failed message (docs/architecture.md, "Inbound
messages")."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import PipelineSettings
from gateway.domain.messages import MessageState
from gateway.persistence.models import DocumentRow, ExceptionRow, InboundMessage
from gateway.services.pipeline import Wait
from gateway.services.processing import MessageReport
from gateway.services.replay import replay
from gateway.services.unit_of_work import UnitOfWork

# States IT can send back through processing; every other state is a result, not a stop.
RELEASABLE = (MessageState.QUARANTINED, MessageState.FAILED)


@dataclass(frozen=True, slots=True)
class MessageSummary:
    id: int
    received_at: datetime
    channel: str
    sender: str
    filename: str | None
    size: int
    state: MessageState
    reason: str | None
    supplier_code: str | None
    duplicate_of: int | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "received_at": self.received_at.isoformat(),
                "channel": self.channel, "sender": self.sender, "filename": self.filename,
                "size": self.size, "state": self.state.value, "reason": self.reason,
                "supplier": self.supplier_code, "duplicate_of": self.duplicate_of}


@dataclass(frozen=True, slots=True)
class MessageDetail:
    summary: MessageSummary
    sha256: str
    problems: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    # Sender authentication: the SMTP connection's facts (client_ip, helo, recipients), the
    # verdict (gateway.mailauth.verdict.Verdict.as_json) and the trust processing gave.
    envelope: dict[str, Any] | None = None
    authentication: dict[str, Any] | None = None
    sender_trust: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**self.summary.as_json(), "sha256": self.sha256, "problems": self.problems,
                "documents": self.documents, "exceptions": self.exceptions,
                "envelope": self.envelope, "authentication": self.authentication,
                "sender_trust": self.sender_trust}


_SUMMARY_COLUMNS = (InboundMessage.id, InboundMessage.received_at, InboundMessage.channel,
                    InboundMessage.sender, InboundMessage.filename, InboundMessage.size,
                    InboundMessage.state, InboundMessage.state_reason,
                    InboundMessage.supplier_code, InboundMessage.duplicate_of_id)


def _summary(row: Any) -> MessageSummary:
    return MessageSummary(row.id, row.received_at, row.channel, row.sender, row.filename,
                          row.size, MessageState(row.state), row.state_reason,
                          row.supplier_code, row.duplicate_of_id)


def list_messages(session: Session, states: Sequence[MessageState] = (),
                  channel: str | None = None, limit: int = 50) -> list[MessageSummary]:
    """The newest messages first, optionally only in `states` and from one channel."""
    query = select(*_SUMMARY_COLUMNS).order_by(InboundMessage.id.desc()).limit(limit)
    if states:
        query = query.where(InboundMessage.state.in_([s.value for s in states]))
    if channel:
        query = query.where(InboundMessage.channel == channel)
    return [_summary(row) for row in session.execute(query)]


def message_detail(session: Session, message_id: int) -> MessageDetail:
    row = session.execute(select(*_SUMMARY_COLUMNS, InboundMessage.sha256,
                                 InboundMessage.problems, InboundMessage.envelope,
                                 InboundMessage.authentication, InboundMessage.sender_trust)
                          .where(InboundMessage.id == message_id)).first()
    if row is None:
        raise LookupError(f"no message #{message_id}")
    documents = [{"id": d.id, "kind": d.kind, "message_type": d.message_type,
                  "document_number": d.document_number}
                 for d in session.scalars(select(DocumentRow)
                                          .where(DocumentRow.message_id == message_id)
                                          .order_by(DocumentRow.id))]
    exceptions = [{"id": e.id, "code": e.code, "severity": e.severity, "state": e.state,
                   "order_number": e.order_number, "line_no": e.line_no}
                  for e in session.scalars(select(ExceptionRow)
                                           .where(ExceptionRow.message_id == message_id)
                                           .order_by(ExceptionRow.id))]
    return MessageDetail(_summary(row), row.sha256, list(row.problems or []), documents,
                         exceptions, row.envelope, row.authentication, row.sender_trust)


def raw_bytes(session: Session, message_id: int) -> bytes:
    raw = session.scalar(select(InboundMessage.raw).where(InboundMessage.id == message_id))
    if raw is None:
        raise LookupError(f"no message #{message_id}")
    return bytes(raw)


def release(transaction: UnitOfWork, message_id: int, today: date, now: datetime,
            settings: PipelineSettings | None = None,
            wait: Wait = time.sleep) -> MessageReport:
    """Process a quarantined or failed message again, once IT has fixed the cause (a supplier
    address added, the database back): it starts from `received`, like a new arrival, through
    `replay` (read outside, write inside, transient errors retried). In the write transaction
    the row is locked (PostgreSQL) before its state is read again: a second release at once
    waits, then finds the message handled (`InvalidTransition`) instead of processing it
    again."""
    return replay(transaction, message_id, today, now, settings, wait, only_from=RELEASABLE)
