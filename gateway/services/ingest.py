"""Archive, process and replay inbound messages: the gateway's main job.

`archive` stores the raw bytes and their row before anything else (DESIGN.md section 7) and
recognises a duplicate delivery. `process` parses, maps and reconciles one archived message
(`processing.process_batch` does it for many in one transaction) and moves it through its
states; run twice it does nothing the second time.
`replay` undoes what a message did and processes it again (after a tolerance change, say).
Queries are batched per message, never per line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.bootstrap import READ_ONLY
from gateway.domain.discrepancies import OPEN_STATES, ExceptionState
from gateway.domain.messages import MessageState, move_message
from gateway.domain.orders import LineState
from gateway.persistence.bulk import insert_many
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
)
from gateway.persistence.queries import chunked
from gateway.services.failures import TRANSIENT, tell_buyers
from gateway.services.processing import MessageReport, process_batch, read_batch, write_batch


@dataclass(frozen=True, slots=True)
class Intake:
    """What a channel hands in: the bytes exactly as received, and who sent them how."""

    raw: bytes
    channel: str
    sender: str
    filename: str | None = None
    supplier_code: str | None = None
    # What the SMTP channel saw of the connection: client_ip, helo, recipients (the envelope
    # recipients are kept, the bytes are not changed to carry them).
    envelope: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Archived:
    message_id: int
    duplicate_of: int | None


# The table itself, not the mapped class: archiving runs on Core's paths. The ORM's bulk insert
# and row loading took half the CPU of the SMTP intake's writer (`gateway bench smtp`).
_MESSAGES = cast(Table, InboundMessage.__table__)


def archive(session: Session, intake: Intake, now: datetime) -> Archived:
    """Store the raw bytes as a `received` message, or as a `duplicate` of the same bytes
    from the same sender that were kept before (a failed first attempt is not an original)."""
    return archive_many(session, [intake], now)[0]


def archive_many(session: Session, intakes: list[Intake], now: datetime) -> list[Archived]:
    """Archive several intakes in one transaction: one query for earlier copies, one insert
    for the new rows. A copy within the batch is a duplicate of the first in it."""
    digests = [hashlib.sha256(intake.raw).hexdigest() for intake in intakes]
    _lock_copies(session, {(digest, _stored_sender(intake))
                           for intake, digest in zip(intakes, digests, strict=True)})
    originals: dict[tuple[str, str], int] = {}
    for batch in chunked(sorted(set(digests))):
        for digest, sender, message_id in session.connection().execute(
                select(_MESSAGES.c.sha256, _MESSAGES.c.sender, _MESSAGES.c.id)
                .where(_MESSAGES.c.sha256.in_(batch),
                       _MESSAGES.c.state.not_in([MessageState.FAILED,
                                                 MessageState.DUPLICATE]))
                .order_by(_MESSAGES.c.id.desc())):
            originals[(digest, sender)] = message_id
    results: list[Archived] = []
    first: list[int] = []
    seen: set[tuple[str, str]] = set()
    for index, (intake, digest) in enumerate(zip(intakes, digests, strict=True)):
        key = (digest, _stored_sender(intake))
        if key not in originals and key not in seen:
            seen.add(key)
            first.append(index)
    new_ids = _insert_messages(session, [(intakes[i], digests[i], None) for i in first], now)
    for index, message_id in zip(first, new_ids, strict=True):
        originals[(digests[index], _stored_sender(intakes[index]))] = message_id
    by_index = dict(zip(first, new_ids, strict=True))
    for index, (intake, digest) in enumerate(zip(intakes, digests, strict=True)):
        if index in by_index:
            results.append(Archived(by_index[index], None))
            continue
        original = originals[(digest, _stored_sender(intake))]
        (message_id,) = _insert_messages(session, [(intake, digest, original)], now)
        results.append(Archived(message_id, original))
    return results


def archive_failed(session: Session, refused: list[tuple[Intake, str]],
                   now: datetime) -> list[Archived]:
    """Archive what could be kept of messages a channel could not take in whole (the header
    of an IMAP message over the size limit) as `failed` with the reason: IT sees them in
    `gateway messages`, and nothing processes them."""
    archived = archive_many(session, [intake for intake, _reason in refused], now)
    move_message(MessageState.RECEIVED, MessageState.FAILED)
    for (_intake, reason), row in zip(refused, archived, strict=True):
        session.execute(update(_MESSAGES).where(_MESSAGES.c.id == row.message_id,
                                                _MESSAGES.c.state == MessageState.RECEIVED)
                        .values(state=MessageState.FAILED.value, state_reason=reason[:500],
                                updated_at=now))
    return archived


def _stored_sender(intake: Intake) -> str:
    # Names from email headers can be any length: the bytes are kept whatever they say.
    return intake.sender[:200]


def _lock_copies(session: Session, keys: set[tuple[str, str]]) -> None:
    """On PostgreSQL, two transactions archiving the same bytes from the same sender at once
    (an SMTP retry while the first commit runs, two pollers during a restart) would both find
    no earlier copy and both keep an original. A transaction-scoped advisory lock per
    (sha256, sender), taken in key order so two batches never deadlock, makes the second wait
    for the first and then see it. SQLite needs none: BEGIN IMMEDIATE already serialises
    writers."""
    if session.get_bind().dialect.name != "postgresql" or not keys:
        return
    numbers = sorted({int.from_bytes(hashlib.sha256(f"{digest}|{sender}".encode()).digest()[:8],
                                     "big", signed=True) for digest, sender in keys})
    session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[]))"
                         " AS k ORDER BY k"), {"keys": numbers})


def _insert_messages(session: Session, rows: list[tuple[Intake, str, int | None]],
                     now: datetime) -> list[int]:
    if not rows:
        return []
    return insert_many(
        session.connection(), _MESSAGES,
        [{"sha256": digest, "size": len(intake.raw), "channel": intake.channel,
          "sender": _stored_sender(intake),
          "filename": intake.filename[:400] if intake.filename else None, "received_at": now,
          "updated_at": now, "raw": intake.raw, "supplier_code": intake.supplier_code,
          "duplicate_of_id": original, "envelope": intake.envelope,
          "state": (MessageState.DUPLICATE if original else MessageState.RECEIVED).value,
          "state_reason": f"the same bytes from this sender are message #{original}"
          if original else None, "attempts": 0}
         for intake, digest, original in rows])


UnitOfWork = Callable[[], AbstractContextManager[Session]]


def ingest(transaction: UnitOfWork, intakes: list[Intake], today: date, now: datetime,
           batch_size: int = 200) -> list[MessageReport]:
    """Archive and process intakes, `batch_size` per transaction.

    Each batch is archived and committed first, so the bytes are safe whatever happens next;
    then processed in one transaction. If processing the batch fails, each message of it is
    processed alone, so one bad message cannot hold back the others; a message that fails
    alone is marked `failed` with the reason.
    """
    reports: list[MessageReport] = []
    for start in range(0, len(intakes), batch_size):
        with transaction() as session:
            archived = archive_many(session, intakes[start : start + batch_size], now)
        ids = [a.message_id for a in archived]
        try:
            reports += process_apart(transaction, ids, today, now)
        except SQLAlchemyError:
            reports += [_process_alone(transaction, message_id, today, now)
                        for message_id in ids]
    return reports


def process_apart(transaction: UnitOfWork, message_ids: list[int], today: date,
                  now: datetime | Callable[[], datetime]) -> list[MessageReport]:
    """`process_batch` in two transactions: the messages are read, parsed and mapped in one
    that only reads, then reconciled and written in a short write transaction. On SQLite the
    first begins deferred (`READ_ONLY`): in WAL mode it never takes the write lock, so a
    channel's commit (the SMTP 250, the IMAP move) never waits while a big message is read.
    `now` may be a clock: then the batch's rows get the time it began, and the messages it
    moved the time its write finished (`stamp_finished`)."""
    began = now() if callable(now) else now
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        batch = read_batch(session, message_ids, today, began)
    with transaction() as session:
        reports = write_batch(session, batch, today, began)
        if callable(now):
            stamp_finished(session, message_ids, began, now())
        return reports


def stamp_finished(session: Session, message_ids: list[int], began: datetime,
                   finished: datetime) -> None:
    """`write_batch` stamps the messages it moves with the time its batch began (one value
    for every row it writes); those, and only those (a message done by an earlier batch keeps
    its time), get the time the batch finished, so `updated_at` is when it was reconciled
    (`gateway_processing_latency_seconds` runs from the archive to that commit)."""
    if finished == began:
        return
    for batch in chunked(message_ids):
        session.execute(update(InboundMessage)
                        .where(InboundMessage.id.in_(batch), InboundMessage.updated_at == began)
                        .values(updated_at=finished))


def _process_alone(transaction: UnitOfWork, message_id: int, today: date,
                   now: datetime) -> MessageReport:
    try:
        with transaction() as session:
            return process(session, message_id, today, now)
    except SQLAlchemyError as exc:
        reason = f"processing failed: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        with transaction() as session:
            session.execute(update(InboundMessage).where(InboundMessage.id == message_id)
                            .values(state=MessageState.FAILED.value, state_reason=reason,
                                    updated_at=now))
            if not isinstance(exc, TRANSIENT):
                tell_buyers(session, [message_id], reason, now)
        return MessageReport(message_id, MessageState.FAILED, reason=reason)


def process(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Parse, map and reconcile one `received` message. Idempotent."""
    return process_batch(session, [message_id], today, now)[0]


def replay(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Undo what a message did, and what every later message did to the same order lines, then
    process them all again in their original order (after a tolerance change, or once a missing
    order was imported). Exceptions the new run no longer reports are resolved."""
    found = session.execute(
        select(InboundMessage.state, InboundMessage.state_reason)
        .where(InboundMessage.id == message_id)).first()
    if found is None:
        raise LookupError(f"no message #{message_id}")
    state, reason = found
    if state == MessageState.DUPLICATE:
        return MessageReport(message_id, MessageState.DUPLICATE, reason=reason)
    chain, lines = _replay_chain(session, message_id)
    session.execute(delete(LineVersionRow).where(LineVersionRow.message_id.in_(chain)))
    session.execute(update(ExceptionRow).where(ExceptionRow.message_id.in_(chain))
                    .values(document_id=None))
    session.execute(delete(DocumentRow).where(DocumentRow.message_id.in_(chain)))
    for line_id in sorted(lines):
        rebuild_line(session, line_id)
    stale = set(session.scalars(select(ExceptionRow.id).where(
        ExceptionRow.message_id.in_(chain), ExceptionRow.state.in_(OPEN_STATES))))
    for replayed, replayed_state in session.execute(
            select(InboundMessage.id, InboundMessage.state)
            .where(InboundMessage.id.in_(chain), InboundMessage.state != MessageState.RECEIVED)):
        move_message(MessageState(replayed_state), MessageState.RECEIVED)
        session.execute(update(InboundMessage).where(InboundMessage.id == replayed).values(
            state=MessageState.RECEIVED.value, state_reason=f"replayed at {now.isoformat()}",
            updated_at=now))
    session.flush()
    reports = process_batch(session, chain, today, now)
    reported = set().union(*(report.exception_ids for report in reports))
    _resolve_unreported(session, stale - reported, message_id, now)
    return reports[chain.index(message_id)]




def _replay_chain(session: Session, message_id: int) -> tuple[list[int], set[int]]:
    """The message and every later one that wrote versions of the lines it wrote (and of
    theirs, transitively), oldest first; and those lines."""
    chain = {message_id}
    lines: set[int] = set()
    while True:
        found = set(session.scalars(select(LineVersionRow.order_line_id).where(
            LineVersionRow.message_id.in_(chain))))
        later = set(session.scalars(select(LineVersionRow.message_id).where(
            LineVersionRow.order_line_id.in_(found), LineVersionRow.message_id > message_id)
            .distinct())) - {None}
        if found <= lines and later <= chain:
            return sorted(chain), lines
        lines |= found
        chain |= {m for m in later if m is not None}


def _resolve_unreported(session: Session, stale: set[int], message_id: int,
                        now: datetime) -> None:
    """Open exceptions of the replayed messages that the new run did not report again."""
    gone = sorted(stale)
    if not gone:
        return
    session.execute(update(ExceptionRow).where(ExceptionRow.id.in_(gone)).values(
        state=ExceptionState.RESOLVED.value, updated_at=now))
    session.execute(insert(ExceptionEventRow), [
        {"exception_id": exception_id, "at": now, "actor": "gateway", "action": "resolved",
         "from_state": ExceptionState.OPEN.value, "to_state": ExceptionState.RESOLVED.value,
         "detail": f"no longer reported when message #{message_id} was replayed",
         "message_id": message_id} for exception_id in gone])


def rebuild_line(session: Session, line_id: int) -> None:
    """Restore a line's promise as the newest remaining version left it; with none, as
    ordered and unanswered."""
    line = session.get(OrderLineRow, line_id)
    if line is None:
        return
    snapshot = session.scalars(select(LineVersionRow.line_after).where(
        LineVersionRow.order_line_id == line_id, LineVersionRow.line_after.is_not(None))
        .order_by(LineVersionRow.id.desc()).limit(1)).first()
    line.state = (snapshot or {}).get("state") or LineState.OPEN.value
    for name in ("confirmed_quantity", "confirmed_price"):
        setattr(line, name, _decimal((snapshot or {}).get(name)))
    line.despatched_quantity = _decimal((snapshot or {}).get("despatched_quantity")) or \
        Decimal(0)
    for name in ("confirmed_date", "expected_delivery"):
        value = (snapshot or {}).get(name)
        setattr(line, name, date.fromisoformat(value) if value else None)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
