"""Archive inbound messages, and `gateway ingest`: archive, then process.

`archive` stores the raw bytes and their row before anything else and recognises a duplicate
delivery (docs/architecture.md, "Archive before acknowledge" and "Exactly-once processing").
`ingest` archives and commits a batch, then processes it through the one processing path
(`gateway.services.pipeline.process_retrying`), transient errors included; on PostgreSQL,
given a `Spread`, several batches are processed side by side in worker processes
(`gateway.services.spread`). Replaying a message is `gateway.services.replay`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from gateway.config import PipelineSettings
from gateway.domain.messages import MessageState, move_message
from gateway.persistence.bulk import insert_many
from gateway.persistence.models import InboundMessage
from gateway.persistence.queries import chunked, found_by_key, result_rows
from gateway.services.pipeline import Wait, process_retrying
from gateway.services.processing import MessageReport, process_batch
from gateway.services.spread import Spread, process_spread
from gateway.services.unit_of_work import UnitOfWork as UnitOfWork  # where channels import it


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


def _earlier_copies(digests: list[str], dialect: Dialect) -> Select[Any]:
    """The kept messages with one of these digests, newest first."""
    copies = found_by_key(
        select(_MESSAGES.c.sha256, _MESSAGES.c.sender, _MESSAGES.c.id)
        .where(_MESSAGES.c.state.not_in([MessageState.FAILED, MessageState.DUPLICATE])),
        _MESSAGES.c.sha256, digests, dialect)
    return select(*copies.c).order_by(copies.c.id.desc())


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
        for digest, sender, message_id in result_rows(session.connection().execute(
                _earlier_copies(batch, session.get_bind().dialect))):
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


def ingest(transaction: UnitOfWork, intakes: list[Intake], today: date, now: datetime,
           batch_size: int = 200, settings: PipelineSettings | None = None,
           wait: Wait = time.sleep, spread: Spread | None = None) -> list[MessageReport]:
    """Archive and process intakes, `batch_size` per batch; a report for each, in order.

    Every batch is archived and committed first, so the bytes are safe whatever happens next;
    then they are processed as every worker processes (`pipeline.process_retrying`, which
    reads the next batch while it writes one): a batch that fails is processed message by
    message, a message that fails alone is `failed` with the reason and its buyer told; a
    transient error is retried with back-off up to `settings.max_retries`, then the messages
    still `received` are `failed` with the reason. The channel `cli` is trusted: no sender
    authentication.

    With a `spread` of several processes, on PostgreSQL, and more than one batch, the
    batches are processed in that many worker processes, in arrival order where they share an
    order (`gateway.services.spread`); SQLite has one writer at a time and processes here.
    """
    policy = replace(settings or PipelineSettings(), batch_size=batch_size)
    archived: list[int] = []
    dialect = ""
    for start in range(0, len(intakes), batch_size):
        with transaction() as session:
            dialect = session.get_bind().dialect.name
            archived += [a.message_id
                         for a in archive_many(session, intakes[start : start + batch_size], now)]
    if spread is not None and spread.processes > 1 and dialect == "postgresql" \
            and len(archived) > batch_size:
        return process_spread(transaction, spread, archived, today, lambda: now, policy, wait)
    return process_retrying(transaction, archived, today, lambda: now, policy, wait=wait)


def process(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Parse, map and reconcile one `received` message in the caller's transaction.
    Idempotent. For tests and tools that hold a session; the entry points process through
    `gateway.services.pipeline`."""
    return process_batch(session, [message_id], today, now)[0]
