"""The outbox: one path for everything the gateway sends.

A service that decides to answer (an acknowledgement, a reply, a reminder, an alert) builds an
`OutboundDraft` and calls `enqueue` inside the transaction of that decision: the row commits
with the decision or not at all, and nothing is sent from inside a request or a
reconciliation. The sender (`gateway.services.outbox_sender`) takes due rows later, sends them
through their transport and records each attempt. A reply decided and deliberately not sent
(loop protection, a rate cap) is recorded with `record_suppressed`, so IT can see why.

This module also holds what operators do with rows (`gateway outbox`): list, show, retry,
cancel. Times are passed in (`now`) or taken in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.outbound import (
    OutboundDraft,
    OutboundKind,
    OutboundState,
    move_outbound,
    sources_of,
)
from gateway.persistence.bulk import insert_many
from gateway.persistence.models import OutboundAttemptRow, OutboundMessageRow

OUTBOX = cast(Table, OutboundMessageRow.__table__)
_INSERT = insert(OUTBOX).returning(OUTBOX.c.id)


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue(session: Session, draft: OutboundDraft, now: datetime | None = None) -> int:
    """Add `draft` as a `pending` row, due at once, in the caller's transaction (no commit, no
    sending); its id. A `wire_id` already in the outbox breaks the caller's transaction
    (IntegrityError): a wire id names one message, and the caller makes it unique."""
    return _add(session, draft, OutboundState.PENDING, None, now or _now())


def enqueue_many(session: Session, drafts: Sequence[OutboundDraft],
                 now: datetime | None = None) -> list[int]:
    """`enqueue` for the drafts of a batch of decisions, in one statement (a COPY on
    PostgreSQL, an executemany elsewhere: `gateway.persistence.bulk.insert_many`); their ids,
    in the order of `drafts`."""
    if not drafts:
        return []
    moment = now or _now()
    rows = [_values(draft, OutboundState.PENDING, None, moment) for draft in drafts]
    return insert_many(session.connection(), OUTBOX, rows)


def record_suppressed(session: Session, draft: OutboundDraft, why: str,
                      now: datetime | None = None) -> int:
    """Record `draft` as decided and deliberately not sent (`suppressed`), with `why`, in the
    caller's transaction; its id. It is never sent."""
    return _add(session, draft, OutboundState.SUPPRESSED, why, now or _now())


def _add(session: Session, draft: OutboundDraft, state: OutboundState, why: str | None,
         now: datetime) -> int:
    # A Core INSERT, not an ORM object and a flush: services enqueue one row per decision,
    # thousands in a batch of reconciliations, and the flush machinery cost more than the
    # insert itself (`gateway bench outbox`).
    return int(session.connection().execute(
        _INSERT, _values(draft, state, why, now)).scalar_one())


def _values(draft: OutboundDraft, state: OutboundState, why: str | None,
            now: datetime) -> dict[str, Any]:
    return {
        "kind": draft.kind.value, "transport": draft.transport.value,
        "recipient": draft.recipient, "sender": draft.sender, "payload": draft.payload,
        "content_type": draft.content_type,
        "headers": [[name, value] for name, value in draft.headers] or None,
        "wire_id": draft.wire_id, "state": state.value, "reason": draft.reason,
        "state_reason": why, "supplier_code": draft.supplier_code,
        "message_id": draft.message_id, "exception_id": draft.exception_id,
        "extra": dict(draft.extra) or None, "attempts": 0, "created_at": now,
        "next_attempt_at": now if state is OutboundState.PENDING else None,
        "updated_at": now}


# -- What operators see and do -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundSummary:
    id: int
    kind: str
    transport: str
    recipient: str
    state: str
    attempts: int
    wire_id: str
    supplier_code: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    state_reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "transport": self.transport,
                "recipient": self.recipient, "state": self.state, "attempts": self.attempts,
                "wire_id": self.wire_id, "supplier": self.supplier_code,
                "created_at": _iso(self.created_at),
                "next_attempt_at": _iso(self.next_attempt_at),
                "sent_at": _iso(self.sent_at), "state_reason": self.state_reason}


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    at: datetime
    duration_ms: int
    outcome: str
    response: str | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "duration_ms": self.duration_ms, "outcome": self.outcome,
                "response": self.response, "error": self.error}


@dataclass(frozen=True, slots=True)
class OutboundDetail:
    summary: OutboundSummary
    sender: str
    content_type: str
    reason: str
    message_id: int | None
    exception_id: int | None
    size: int
    attempts: list[AttemptRecord]

    def as_json(self) -> dict[str, Any]:
        return {**self.summary.as_json(), "sender": self.sender,
                "content_type": self.content_type, "reason": self.reason,
                "message_id": self.message_id, "exception_id": self.exception_id,
                "size": self.size, "attempt_log": [a.as_json() for a in self.attempts]}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


_SUMMARY = (OutboundMessageRow.id, OutboundMessageRow.kind, OutboundMessageRow.transport,
            OutboundMessageRow.recipient, OutboundMessageRow.state,
            OutboundMessageRow.attempts, OutboundMessageRow.wire_id,
            OutboundMessageRow.supplier_code, OutboundMessageRow.created_at,
            OutboundMessageRow.next_attempt_at, OutboundMessageRow.sent_at,
            OutboundMessageRow.state_reason)


def list_outbound(session: Session, state: OutboundState | None = None,
                  kind: OutboundKind | None = None, supplier: str | None = None,
                  limit: int = 50) -> list[OutboundSummary]:
    """The newest rows first, filtered."""
    query = select(*_SUMMARY).order_by(OutboundMessageRow.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OutboundMessageRow.state == state.value)
    if kind is not None:
        query = query.where(OutboundMessageRow.kind == kind.value)
    if supplier is not None:
        query = query.where(OutboundMessageRow.supplier_code == supplier)
    return [OutboundSummary(**row._asdict()) for row in session.execute(query)]


def count_by_state(session: Session) -> dict[str, int]:
    counts = session.execute(
        select(OutboundMessageRow.state, func.count()).group_by(OutboundMessageRow.state))
    return {str(row[0]): int(row[1]) for row in counts}


def show_outbound(session: Session, outbound_id: int) -> OutboundDetail | None:
    row = session.get(OutboundMessageRow, outbound_id)
    if row is None:
        return None
    attempts = [AttemptRecord(*values) for values in session.execute(
        select(OutboundAttemptRow.at, OutboundAttemptRow.duration_ms,
               OutboundAttemptRow.outcome, OutboundAttemptRow.response,
               OutboundAttemptRow.error)
        .where(OutboundAttemptRow.outbound_id == outbound_id)
        .order_by(OutboundAttemptRow.id))]
    summary = OutboundSummary(row.id, row.kind, row.transport, row.recipient, row.state,
                              row.attempts, row.wire_id, row.supplier_code, row.created_at,
                              row.next_attempt_at, row.sent_at, row.state_reason)
    return OutboundDetail(summary, row.sender, row.content_type, row.reason, row.message_id,
                          row.exception_id, len(row.payload), attempts)


def payload_of(session: Session, outbound_id: int) -> bytes | None:
    return session.scalar(select(OutboundMessageRow.payload)
                          .where(OutboundMessageRow.id == outbound_id))


def retry(session: Session, ids: Sequence[int], actor: str,
          now: datetime | None = None) -> list[int]:
    """Give `failed` or `cancelled` rows back to the sender, due at once, with the same wire
    id; the ids moved (others are left as they are)."""
    return _move(session, ids, OutboundState.PENDING, f"retried by {actor}", now or _now(),
                 {OutboundState.FAILED, OutboundState.CANCELLED})


def cancel(session: Session, ids: Sequence[int], actor: str,
           now: datetime | None = None) -> list[int]:
    """Stop `pending` or `failed` rows from being sent; the ids moved. A row being sent at
    this moment (`sending`) cannot be cancelled: its attempt is already on the wire."""
    return _move(session, ids, OutboundState.CANCELLED, f"cancelled by {actor}",
                 now or _now(), sources_of(OutboundState.CANCELLED))


def _move(session: Session, ids: Sequence[int], target: OutboundState, why: str,
          now: datetime, allowed: set[OutboundState] | frozenset[OutboundState]) -> list[int]:
    for state in allowed:
        move_outbound(state, target)   # the table allows it, or this raises
    values: dict[str, Any] = {"state": target.value, "state_reason": why, "updated_at": now}
    if target is OutboundState.PENDING:
        values["next_attempt_at"] = now
    moved = session.execute(
        update(OutboundMessageRow)
        .where(OutboundMessageRow.id.in_(list(ids)),
               OutboundMessageRow.state.in_([state.value for state in allowed]))
        .values(**values).returning(OutboundMessageRow.id))
    return sorted(row_id for (row_id,) in moved)
