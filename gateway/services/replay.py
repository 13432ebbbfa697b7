"""Replay: undo what a message did, and what every later message did to the same order lines,
then process them all again in arrival order (after a tolerance change, once a missing order
was imported, or when IT releases or retries a quarantined or failed message).

It takes the one processing path's two steps (`gateway.services.pipeline`), read outside the
write transaction and write inside it, on a chain of messages at once:

1. **Read**, in a transaction that only reads: the chain (the message and every later one
   that wrote versions of the lines it wrote, and of theirs, transitively) and each message of
   it loaded, parsed, mapped and its supplier found as if it had just arrived
   (`processing.read_batch(..., as_received=True)`). What that step produces depends only on
   the message's bytes, sender, stored sender-authentication verdict and the partner data,
   none of which the chain's processing changes.
2. **Write**, in one short transaction: the replayed message's row is locked (`FOR UPDATE` on
   PostgreSQL) and its state checked again, so a second release at once waits and then finds
   the message handled. The chain's order lines are locked and the chain found again under
   those locks, until it no longer grows: a worker writes a line's version only while holding
   that line's lock (`processing.write_batch`), so nothing can join the chain once its lines
   are locked. A message that joined it between the two transactions (processed meanwhile) is
   read here, inside; the rest use what step 1 read. Then the chain's versions and documents
   are deleted, each line restored from the newest remaining snapshot
   (`line_versions.line_after`), the chain moved back to `received` and written again in
   arrival order by `processing.write_batch`; open exceptions of the chain that the new run no
   longer reports are resolved.

The whole runs under the transient-error policy (`pipeline.retry_transient`): a lock timeout,
a deadlock (the chain's lines are locked by id, a worker locks them by order number), a
serialization failure or the database gone rolls the attempt back and runs it again after a
back-off, at most `max_retries` times; then `ProcessingDeferred` is raised and the message
keeps the state it had.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from gateway.bootstrap import READ_ONLY
from gateway.config import PipelineSettings
from gateway.domain.discrepancies import OPEN_STATES, ExceptionState
from gateway.domain.messages import MessageState, move_message
from gateway.domain.orders import LineState
from gateway.errors import InvalidTransition
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
)
from gateway.persistence.queries import chunked
from gateway.services.pipeline import Wait, retry_transient
from gateway.services.processing import MessageReport, ReadBatch, read_batch, write_batch
from gateway.services.unit_of_work import UnitOfWork


def replay(transaction: UnitOfWork, message_id: int, today: date, now: datetime,
           settings: PipelineSettings | None = None, wait: Wait = time.sleep,
           only_from: Sequence[MessageState] | None = None) -> MessageReport:
    """Replay the message (steps above); `only_from`: the states it may be in (a release
    takes only quarantined or failed ones; `InvalidTransition` otherwise). A duplicate is
    reported as it is."""
    return retry_transient(
        lambda: _replay_once(transaction, message_id, today, now, only_from),
        settings or PipelineSettings(), wait)


def _replay_once(transaction: UnitOfWork, message_id: int, today: date, now: datetime,
                 only_from: Sequence[MessageState] | None) -> MessageReport:
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        found = _state(session, message_id, only_from, lock=False)
        if found.state is MessageState.DUPLICATE:
            return found
        chain, _lines = _replay_chain(session, message_id)
        read = read_batch(session, chain, today, now, as_received=True)
    with transaction() as session:
        found = _state(session, message_id, only_from, lock=True)
        if found.state is MessageState.DUPLICATE:
            return found
        chain, lines = _locked_chain(session, message_id)
        read = _read_joined(session, read, chain, today, now)
        stale = _undo(session, chain, lines, now)
        reports = write_batch(session, read, today, now)
        reported = set().union(*(report.exception_ids for report in reports))
        _resolve_unreported(session, stale - reported, message_id, now)
        return reports[chain.index(message_id)]


def _state(session: Session, message_id: int, only_from: Sequence[MessageState] | None,
           lock: bool) -> MessageReport:
    query = select(InboundMessage.state, InboundMessage.state_reason).where(
        InboundMessage.id == message_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    found = session.execute(query).first()
    if found is None:
        raise LookupError(f"no message #{message_id}")
    state = MessageState(found.state)
    if only_from is not None and state not in only_from:
        raise InvalidTransition(f"message #{message_id}", state, MessageState.RECEIVED)
    return MessageReport(message_id, state, reason=found.state_reason)


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


def _locked_chain(session: Session, message_id: int) -> tuple[list[int], set[int]]:
    """The chain, found again with its order lines locked (PostgreSQL; SQLite's write
    transaction excludes every other writer already), until locking finds no new line."""
    locked: set[int] = set()
    while True:
        chain, lines = _replay_chain(session, message_id)
        if lines <= locked or session.get_bind().dialect.name == "sqlite":
            return chain, lines
        for batch in chunked(sorted(lines - locked)):
            session.execute(select(OrderLineRow.id).where(OrderLineRow.id.in_(batch))
                            .order_by(OrderLineRow.id).with_for_update())
        locked |= lines


def _read_joined(session: Session, read: ReadBatch, chain: list[int], today: date,
                 now: datetime) -> ReadBatch:
    """What the read step read, for the chain as it is now: a message that joined it since
    is read here; one that left it is dropped."""
    if read.message_ids == chain:
        return read
    known = {message.id: (message, report)
             for message, report in zip(read.messages, read.reports, strict=True)}
    joined = [message_id for message_id in chain if message_id not in known]
    if joined:
        extra = read_batch(session, joined, today, now, as_received=True)
        known.update((message.id, (message, report))
                     for message, report in zip(extra.messages, extra.reports, strict=True))
    return ReadBatch(chain, [known[m][0] for m in chain], [known[m][1] for m in chain])


def _undo(session: Session, chain: list[int], lines: set[int], now: datetime) -> set[int]:
    """Delete what the chain wrote, restore its lines and move it back to `received`;
    returns the open exceptions it had raised."""
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
    return stale


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
