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

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.domain.messages import MessageState, move_message
from gateway.domain.orders import LineState, VersionKind
from gateway.persistence.models import (
    DocumentRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
)
from gateway.persistence.queries import chunked
from gateway.services.processing import MessageReport, process_batch


@dataclass(frozen=True, slots=True)
class Intake:
    """What a channel hands in: the bytes exactly as received, and who sent them how."""

    raw: bytes
    channel: str
    sender: str
    filename: str | None = None
    supplier_code: str | None = None


@dataclass(frozen=True, slots=True)
class Archived:
    message_id: int
    duplicate_of: int | None


def archive(session: Session, intake: Intake, now: datetime) -> Archived:
    """Store the raw bytes as a `received` message, or as a `duplicate` of the same bytes
    from the same sender that were kept before (a failed first attempt is not an original)."""
    return archive_many(session, [intake], now)[0]


def archive_many(session: Session, intakes: list[Intake], now: datetime) -> list[Archived]:
    """Archive several intakes in one transaction: one query for earlier copies, one insert
    for the new rows. A copy within the batch is a duplicate of the first in it."""
    digests = [hashlib.sha256(intake.raw).hexdigest() for intake in intakes]
    originals: dict[tuple[str, str], int] = {}
    for batch in chunked(sorted(set(digests))):
        for digest, sender, message_id in session.execute(
                select(InboundMessage.sha256, InboundMessage.sender, InboundMessage.id)
                .where(InboundMessage.sha256.in_(batch),
                       InboundMessage.state.not_in([MessageState.FAILED,
                                                    MessageState.DUPLICATE]))
                .order_by(InboundMessage.id.desc())):
            originals[(digest, sender)] = message_id
    results: list[Archived] = []
    first: list[int] = []
    seen: set[tuple[str, str]] = set()
    for index, (intake, digest) in enumerate(zip(intakes, digests, strict=True)):
        key = (digest, intake.sender)
        if key not in originals and key not in seen:
            seen.add(key)
            first.append(index)
    new_ids = _insert_messages(session, [(intakes[i], digests[i], None) for i in first], now)
    for index, message_id in zip(first, new_ids, strict=True):
        originals[(digests[index], intakes[index].sender)] = message_id
    by_index = dict(zip(first, new_ids, strict=True))
    for index, (intake, digest) in enumerate(zip(intakes, digests, strict=True)):
        if index in by_index:
            results.append(Archived(by_index[index], None))
            continue
        original = originals[(digest, intake.sender)]
        (message_id,) = _insert_messages(session, [(intake, digest, original)], now)
        results.append(Archived(message_id, original))
    return results


def _insert_messages(session: Session, rows: list[tuple[Intake, str, int | None]],
                     now: datetime) -> list[int]:
    if not rows:
        return []
    return list(session.execute(
        insert(InboundMessage).returning(InboundMessage.id, sort_by_parameter_order=True),
        [{"sha256": digest, "size": len(intake.raw), "channel": intake.channel,
          "sender": intake.sender, "filename": intake.filename, "received_at": now,
          "updated_at": now, "raw": intake.raw, "supplier_code": intake.supplier_code,
          "duplicate_of_id": original,
          "state": (MessageState.DUPLICATE if original else MessageState.RECEIVED).value,
          "state_reason": f"the same bytes from this sender are message #{original}"
          if original else None}
         for intake, digest, original in rows]).scalars())


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
            with transaction() as session:
                reports += process_batch(session, ids, today, now)
        except SQLAlchemyError:
            reports += [_process_alone(transaction, message_id, today, now)
                        for message_id in ids]
    return reports


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
        return MessageReport(message_id, MessageState.FAILED, reason=reason)


def process(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Parse, map and reconcile one `received` message. Idempotent."""
    return process_batch(session, [message_id], today, now)[0]


def replay(session: Session, message_id: int, today: date, now: datetime) -> MessageReport:
    """Undo what a message did to the order lines and process it again."""
    state, reason = session.execute(
        select(InboundMessage.state, InboundMessage.state_reason)
        .where(InboundMessage.id == message_id)).one()
    if state == MessageState.DUPLICATE:
        return MessageReport(message_id, MessageState.DUPLICATE, reason=reason)
    touched = set(session.scalars(select(LineVersionRow.order_line_id).where(
        LineVersionRow.message_id == message_id)))
    session.execute(delete(LineVersionRow).where(LineVersionRow.message_id == message_id))
    session.execute(update(ExceptionRow).where(ExceptionRow.message_id == message_id)
                    .values(document_id=None))
    session.execute(delete(DocumentRow).where(DocumentRow.message_id == message_id))
    for line_id in touched:
        rebuild_line(session, line_id)
    if state != MessageState.RECEIVED:
        move_message(MessageState(state), MessageState.RECEIVED)
        session.execute(update(InboundMessage).where(InboundMessage.id == message_id).values(
            state=MessageState.RECEIVED.value, state_reason=f"replayed at {now.isoformat()}",
            updated_at=now))
    session.flush()
    return process(session, message_id, today, now)


def rebuild_line(session: Session, line_id: int) -> None:
    """Recompute a line's promise from its remaining versions, oldest first."""
    line = session.get(OrderLineRow, line_id)
    if line is None:
        return
    line.state, line.confirmed_quantity = LineState.OPEN.value, None
    line.confirmed_date, line.confirmed_price = None, None
    line.despatched_quantity, line.expected_delivery = line.quantity * 0, None
    versions = session.scalars(select(LineVersionRow).where(
        LineVersionRow.order_line_id == line_id).order_by(LineVersionRow.id))
    for version in versions:
        if version.kind == VersionKind.CONFIRMATION:
            line.confirmed_quantity = version.quantity
            line.confirmed_date, line.confirmed_price = version.delivery_date, version.price
            as_ordered = (version.quantity == line.quantity and version.price == line.price
                          and version.delivery_date == line.requested_date)
            line.state = (LineState.REJECTED if version.quantity == 0 else
                          LineState.CONFIRMED if as_ordered else LineState.CHANGED).value
        elif version.kind == VersionKind.DESPATCH and version.quantity is not None:
            line.despatched_quantity += version.quantity
            line.expected_delivery = version.delivery_date or line.expected_delivery
    if line.despatched_quantity:
        target = line.confirmed_quantity if line.confirmed_quantity is not None else line.quantity
        line.state = (LineState.DESPATCHED if line.despatched_quantity >= target
                      else LineState.PARTLY_DESPATCHED).value
