"""The outbox sender: takes due rows, sends them through their transport, records each attempt.

One pass (`drain`), as the Celery task, `gateway run`'s sender thread and `gateway outbox
send` run it:

1. `claim_due` moves up to `batch_size` due `pending` rows to `sending` in one guarded UPDATE
   (on PostgreSQL its subquery takes the rows `FOR UPDATE SKIP LOCKED`, so two senders never
   wait for each other; SQLite runs one writer at a time), counting the attempt, and commits.
2. Each row goes out through its transport (one SMTP connection for the whole batch), outside
   any transaction, as stored: the payload is the message's final bytes, made at enqueue.
3. The outcomes are recorded in the transaction that claims the next batch (or in one of
   their own after the last): one commit per batch, a few statements whatever its size. A
   long batch also records every `RECORD_EVERY` rows or `RECORD_AFTER_SECONDS`, which tells
   the rows still waiting that their sender is alive. Outcomes: sent; back to `pending` after
   a full-jitter back-off (a transient failure); `failed` with the reason and an
   OUTBOUND_FAILED exception for IT (a permanent failure, or `max_attempts` transient ones).
   A message that answers an inbound message (a CONTRL, an APERAK, an email reply) moves
   that message from `reconciled` to `acknowledged` in the transaction that records it sent
   (`_acknowledge_messages`). A row whose transport says its receipt comes later (an AS2
   partner's asynchronous MDN) is `awaiting_mdn` until `record_receipt` (the AS2 endpoint,
   when the MDN arrives) or `expire_awaited` (the sweep, when its window has passed) decides.

Idempotent on the wire: a row's `wire_id` (its Message-ID, its interchange reference, its
webhook delivery id) is in the stored bytes and the same on every attempt. A sender killed
between sending and recording leaves rows `sending` (at most a batch, `RECORD_EVERY` rows or
`RECORD_AFTER_SECONDS` of sending were sent and not recorded); `give_back_stuck` returns them
to `pending` after `stuck_seconds` without news, and they go again: at worst the receiver gets
a message twice and recognises it as the same one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.config import OutboundSettings
from gateway.domain.discrepancies import (
    OPEN_STATES,
    DiscrepancyCode,
    ExceptionState,
    discrepancy_key,
    outbound_failed,
)
from gateway.domain.messages import MessageState, move_message
from gateway.domain.outbound import (
    AttemptOutcome,
    OutboundKind,
    OutboundState,
    Transport,
    retry_delay,
)
from gateway.persistence.bulk import insert_rows, write_many
from gateway.persistence.models import (
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    OutboundAttemptRow,
    OutboundMessageRow,
)
from gateway.persistence.queries import chunked
from outbound.errors import DeliveryError, PermanentDelivery, TransportUnavailable
from outbound.transports.base import Delivered, Outgoing, Sender

log = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractContextManager[Session]]
Clock = Callable[[], datetime]

OUTBOX = cast(Table, OutboundMessageRow.__table__)
ATTEMPTS = cast(Table, OutboundAttemptRow.__table__)
EXCEPTIONS = cast(Table, ExceptionRow.__table__)
EVENTS = cast(Table, ExceptionEventRow.__table__)
MESSAGES = cast(Table, InboundMessage.__table__)

RECORD_EVERY = 100           # outcomes of a batch recorded together at most
RECORD_AFTER_SECONDS = 1.0   # ... or as soon as this long passed since the last record


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    transport: Transport
    attempts: int
    supplier_code: str | None
    message_id: int | None
    outgoing: Outgoing


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    at: datetime
    duration_ms: int
    delivered: Delivered | None = None
    error: DeliveryError | None = None
    tried: bool = True   # False: given back untried (its transport was unavailable)


@dataclass(slots=True)
class SendReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    untried: list[int] = field(default_factory=list)
    locations: dict[int, str] = field(default_factory=dict)
    awaiting: list[int] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.awaiting += other.awaiting
        self.retrying += other.retrying
        self.failed += other.failed
        self.untried += other.untried
        self.locations.update(other.locations)


class Transports:
    """Which transport sends a row. Without a relay URL, email is dropped into the drop folder
    (the embedded default); with `drop_all`, webhooks too."""

    def __init__(self, files: Sender, smtp: Sender | None, webhooks: Sender | None,
                 as2: Sender | None = None) -> None:
        self.files = files
        self.smtp = smtp
        self.webhooks = webhooks
        self.as2 = as2   # without one (no GATEWAY_AS2_PARTNERS), AS2 rows go to the folder

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> Transports:
        from outbound.transports.filedrop import FileDrop
        from outbound.transports.smtp import RelayAddress, SmtpRelay
        from outbound.transports.webhook import Webhooks

        smtp = None if settings.smtp_url is None or settings.drop_all else SmtpRelay(
            RelayAddress.from_url(settings.smtp_url, settings.smtp_password,
                                  settings.smtp_timeout, settings.smtp_ca_file))
        webhooks = None if settings.drop_all else Webhooks(settings.webhook_timeout)
        return cls(FileDrop(settings.drop_dir), smtp, webhooks,
                   None if settings.drop_all else _as2_sender(settings.webhook_timeout))

    def for_row(self, transport: Transport) -> Sender:
        chosen = {Transport.SMTP: self.smtp, Transport.WEBHOOK: self.webhooks,
                  Transport.AS2: self.as2}.get(transport)
        return chosen or self.files

    def close(self) -> None:
        for sender in {id(s): s for s in (self.files, self.smtp, self.webhooks, self.as2)
                       if s is not None}.values():
            sender.close()


def _as2_sender(timeout: float) -> Sender | None:
    """The AS2 transport, when GATEWAY_AS2_PARTNERS names the partner file (docs/as2.md)."""
    import os

    path = os.environ.get("GATEWAY_AS2_PARTNERS")
    if not path:
        return None
    from pathlib import Path

    from gateway.as2.reload import PartnerFileWatch
    from gateway.services.as2_outbound import mdn_check
    from outbound.transports.as2 import As2Poster

    # Read again when it or a file it names changes (`gateway run`'s sender lives long).
    return As2Poster(timeout, mdn_check(PartnerFileWatch(Path(path), os.environ),
                                        lambda: datetime.now(UTC)))


def claim_due(session: Session, now: datetime, limit: int, worker: str) -> list[Claimed]:
    """Up to `limit` due `pending` rows, oldest due first, moved to `sending` under `worker`
    with their attempt counted (commit before sending). Two senders never take the same row:
    on PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED` (another sender takes the
    next ones without waiting), and the UPDATE is guarded by the state."""
    due = (select(OUTBOX.c.id)
           .where(OUTBOX.c.state == OutboundState.PENDING.value,
                  OUTBOX.c.next_attempt_at <= now)
           .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # The ids first, then the UPDATE: PostgreSQL may run an `IN (SELECT ... LIMIT n FOR
    # UPDATE SKIP LOCKED)` subquery more than once and take more than n rows. On SQLite the
    # transaction began IMMEDIATE: no other writer between the two statements.
    ids = list(session.scalars(due))
    if not ids:
        return []
    claimed = session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.state == OutboundState.PENDING.value)
        .values(state=OutboundState.SENDING.value, attempts=OUTBOX.c.attempts + 1,
                last_attempt_at=now, updated_at=now, claimed_by=worker)
        .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.transport, OUTBOX.c.attempts,
                   OUTBOX.c.supplier_code, OUTBOX.c.message_id, OUTBOX.c.wire_id,
                   OUTBOX.c.sender, OUTBOX.c.recipient, OUTBOX.c.payload,
                   OUTBOX.c.content_type, OUTBOX.c.headers))
    rows = [_claimed(*row) for row in claimed]
    return sorted(rows, key=lambda row: row.id)


def _claimed(row_id: int, kind: str, transport: str, attempts: int, supplier_code: str | None,
             message_id: int | None, wire_id: str, sender: str, recipient: str,
             payload: bytes, content_type: str, headers: list[list[str]] | None) -> Claimed:
    pairs = tuple((str(name), str(value)) for name, value in headers or ())
    return Claimed(row_id, kind, Transport(transport), attempts, supplier_code, message_id,
                   Outgoing(wire_id, sender, recipient, payload, content_type, pairs))


def give_back_stuck(session: Session, now: datetime, stuck_seconds: float,
                    max_attempts: int) -> list[int]:
    """Rows `sending` with no news for `stuck_seconds` (their sender died mid-attempt) go back
    to `pending`, due at once; their ids. The attempt may have reached the receiver: the next
    one repeats it with the same wire id. A row whose sender died `max_attempts` times (a
    message that kills its sender, say) is `failed` instead, with an OUTBOUND_FAILED
    exception, rather than tried for ever."""
    stuck = and_(OUTBOX.c.state == OutboundState.SENDING.value,
                 OUTBOX.c.updated_at < now - timedelta(seconds=stuck_seconds))
    why = "its sender stopped during each of {} attempts"
    exhausted = session.execute(
        update(OUTBOX).where(stuck, OUTBOX.c.attempts >= max_attempts)
        .values(state=OutboundState.FAILED.value, next_attempt_at=None, updated_at=now,
                state_reason=why.format(max_attempts))
        .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.transport, OUTBOX.c.attempts,
                   OUTBOX.c.supplier_code, OUTBOX.c.message_id)).all()
    if exhausted:
        _raise_failures(session, [(Claimed(row_id, kind, Transport(transport), attempts,
                                           supplier, message, _NOTHING), why.format(attempts))
                                  for row_id, kind, transport, attempts, supplier, message
                                  in exhausted], now)
        log.error("outbox: %d row(s) failed, their sender stopped during each attempt (#%s)",
                  len(exhausted), ", #".join(str(row[0]) for row in exhausted[:20]))
    moved = session.execute(
        update(OUTBOX).where(stuck)
        .values(state=OutboundState.PENDING.value, next_attempt_at=now, updated_at=now,
                state_reason="its sender stopped during an attempt; sent again with the "
                             "same wire id")
        .returning(OUTBOX.c.id))
    ids = sorted(row_id for (row_id,) in moved)
    if ids:
        log.warning("outbox: %d row(s) `sending` for over %.0f s given back (#%s)", len(ids),
                    stuck_seconds, ", #".join(map(str, ids[:20])))
    return ids


_NOTHING = Outgoing("", "", "", b"", "")


@dataclass(slots=True)
class OutboxSender:
    """Sends what is due, batch after batch. One instance per process; not thread-safe."""

    begin: UnitOfWork
    transports: Transports
    settings: OutboundSettings
    clock: Clock
    worker: str = "outbox"
    rand: Callable[[], float] = random.random

    def drain(self, max_batches: int | None = None,
              stop: Callable[[], bool] = lambda: False) -> SendReport:
        """Send batches until nothing is due (or a transport is unavailable: the rest
        waits for its back-off, or `stop()` says so); the transports' connections are closed
        at the end. The outcomes of a batch are recorded in the transaction that claims the
        next one: one commit per batch, and no row is sent before the commit that claims it."""
        report = SendReport()
        unrecorded: list[Outcome] = []
        batches = 0
        try:
            while True:
                go_on = ((max_batches is None or batches < max_batches) and not stop()
                         and all(outcome.tried for outcome in unrecorded))
                with self.begin() as session:
                    now = self.clock()
                    if unrecorded:
                        report.add(record_outcomes(session, unrecorded, [], now,
                                                   self.settings, self.rand))
                    claimed = (claim_due(session, now, self.settings.batch_size, self.worker)
                               if go_on else [])
                unrecorded = []
                if not claimed:
                    break
                batches += 1
                unrecorded = self.send_batch(claimed, report)
        finally:
            self.transports.close()
        return report

    def sweep(self) -> list[int]:
        """Give back rows whose sender died (their ids), and fail the rows whose
        asynchronous MDN did not come within their partner's window."""
        with self.begin() as session:
            now = self.clock()
            expire_awaited(session, now)
            return give_back_stuck(session, now, self.settings.stuck_seconds,
                                   self.settings.max_attempts)

    def send_batch(self, claimed: list[Claimed], report: SendReport) -> list[Outcome]:
        """Send `claimed` in order; the outcomes not yet recorded. A long batch (a slow
        relay, a big `batch_size`) records what it has every `RECORD_EVERY` rows or
        `RECORD_AFTER_SECONDS`, which also tells the rows still waiting that their sender is
        alive; so a sender killed mid-batch repeats at most that many messages."""
        waiting: list[Outcome] = []
        last_record = time.monotonic()
        unavailable: set[Transport] = set()
        for index, row in enumerate(claimed):
            outcome = (self._untried(row) if row.transport in unavailable
                       else self._send(row))
            if isinstance(outcome.error, TransportUnavailable):
                unavailable.add(row.transport)
            waiting.append(outcome)
            if index + 1 < len(claimed) and (
                    len(waiting) >= RECORD_EVERY
                    or time.monotonic() - last_record >= RECORD_AFTER_SECONDS):
                report.add(self._record(waiting, claimed[index + 1:]))
                waiting, last_record = [], time.monotonic()
        return waiting

    def _send(self, row: Claimed) -> Outcome:
        at, started = self.clock(), time.monotonic()
        try:
            delivered = self.transports.for_row(row.transport).send(row.outgoing)
        except DeliveryError as exc:
            return Outcome(row, at, _ms(started), error=exc)
        except Exception as exc:   # a bug in a transport fails its row, with why
            # Recorded as a permanent failure with the error's name (never its text: it may
            # quote the payload), so one such message cannot stop the batch, nor loop.
            log.exception("outbox: sending #%d raised %s", row.id, type(exc).__name__)
            return Outcome(row, at, _ms(started), error=PermanentDelivery(
                f"the sender failed on this message ({type(exc).__name__}); see its log"))
        return Outcome(row, at, _ms(started), delivered=delivered)

    def _untried(self, row: Claimed) -> Outcome:
        return Outcome(row, self.clock(), 0, tried=False,
                       error=TransportUnavailable(f"not tried: its {row.transport} transport "
                                                  "was unavailable in this batch"))

    def _record(self, outcomes: list[Outcome], still_claimed: list[Claimed]) -> SendReport:
        with self.begin() as session:
            return record_outcomes(session, outcomes, still_claimed, self.clock(),
                                   self.settings, self.rand)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# -- Recording --------------------------------------------------------------------------


def record_outcomes(session: Session, outcomes: list[Outcome], still_claimed: list[Claimed],
                    now: datetime, settings: OutboundSettings,
                    rand: Callable[[], float]) -> SendReport:
    """Write the outcomes of one stretch of a batch (guarded: only rows still `sending`
    move), their attempts, the OUTBOUND_FAILED exceptions of rows that failed for good and
    the resolution of those whose retry was sent; and tell the rows still claimed that
    their sender is alive. A few statements whatever the number of rows: one executemany per
    kind of change and one for the attempts (a COPY on PostgreSQL)."""
    report = SendReport()
    changes = [_change(outcome, now, settings, rand, report) for outcome in outcomes]
    reasons = {change["_id"]: change.get("state_reason") or "" for change in changes}
    connection = session.connection()
    for group in _same_keys(changes):
        write_many(connection,
                   update(OUTBOX).where(and_(OUTBOX.c.id == bindparam("_id"),
                                             OUTBOX.c.state == bindparam("_was")))
                   .values({key: bindparam(key) for key in group[0] if key != "_id"}),
                   [{**change, "_was": OutboundState.SENDING.value} for change in group])
    insert_rows(connection, ATTEMPTS,
                [_attempt(outcome) for outcome in outcomes if outcome.tried])
    if still_claimed:
        connection.execute(
            update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in still_claimed]),
                                 OUTBOX.c.state == OutboundState.SENDING.value)
            .values(updated_at=now))
    failed, sent = set(report.failed), set(report.sent)
    if failed:
        _raise_failures(session, [(o.claimed, reasons[o.claimed.id]) for o in outcomes
                                  if o.claimed.id in failed], now)
    if sent:
        # Only a row tried before can have an OUTBOUND_FAILED exception to resolve: one is
        # raised when an attempt fails for good, and the retry that follows counts another.
        _resolve_failures(session, [o for o in outcomes
                                    if o.claimed.id in sent and o.claimed.attempts > 1], now)
        _acknowledge_messages(session, [o.claimed for o in outcomes if o.claimed.id in sent])
    return report


# What answers the supplier about one inbound message: once one of these is sent, the
# message is `acknowledged`. Reminders, alerts and digests answer nothing the supplier sent.
ANSWERS = frozenset({OutboundKind.CONTRL.value, OutboundKind.APERAK.value,
                     OutboundKind.FUNCTIONAL_ACK.value, OutboundKind.EMAIL_REPLY.value})


def _acknowledge_messages(session: Session, sent: list[Claimed]) -> None:
    """Move the inbound messages the sent rows answer from `reconciled` to `acknowledged`
    (gateway/domain/messages.py). Only rows this recording moved to `sent` count (a row
    cancelled meanwhile did not), and only a `reconciled` message moves: a quarantined
    interchange answered by a CONTRL stays quarantined, and one replayed meanwhile is
    `received` again (its new answers acknowledge it anew)."""
    answered = [row.id for row in sent if row.kind in ANSWERS and row.message_id is not None]
    if not answered:
        return
    move_message(MessageState.RECONCILED, MessageState.ACKNOWLEDGED)  # allowed, or raise
    for ids in chunked(answered):
        session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.state == MessageState.RECONCILED.value,
                   MESSAGES.c.id.in_(select(OUTBOX.c.message_id).where(
                       OUTBOX.c.id.in_(ids), OUTBOX.c.state == OutboundState.SENT.value)))
            .values(state=MessageState.ACKNOWLEDGED.value))


def _change(outcome: Outcome, now: datetime, settings: OutboundSettings,
            rand: Callable[[], float], report: SendReport) -> dict[str, Any]:
    row, error = outcome.claimed, outcome.error
    waiting = outcome.delivered.awaiting_receipt_seconds if outcome.delivered else None
    if error is None and waiting is not None:
        report.awaiting.append(row.id)
        return {"_id": row.id, "state": OutboundState.AWAITING_MDN.value, "updated_at": now,
                "next_attempt_at": now + timedelta(seconds=waiting),
                "state_reason": "taken; awaiting the partner's asynchronous MDN"}
    if error is None:
        report.sent.append(row.id)
        if outcome.delivered is not None and outcome.delivered.location:
            report.locations[row.id] = outcome.delivered.location
        return {"_id": row.id, "state": OutboundState.SENT.value, "sent_at": now,
                "next_attempt_at": None, "updated_at": now, "state_reason": None}
    if not outcome.tried:
        report.untried.append(row.id)
        return {"_id": row.id, "state": OutboundState.PENDING.value,
                "attempts": row.attempts - 1, "updated_at": now,
                "next_attempt_at": now + timedelta(seconds=_wait(row.attempts, error,
                                                                 settings, rand)),
                "state_reason": error.reason}
    permanent = isinstance(error, PermanentDelivery)
    if permanent or row.attempts >= settings.max_attempts:
        report.failed.append(row.id)
        why = (_said(error) if permanent else
               f"gave up after {row.attempts} attempts; the last: {_said(error)}")
        return {"_id": row.id, "state": OutboundState.FAILED.value, "next_attempt_at": None,
                "updated_at": now, "state_reason": why}
    report.retrying.append(row.id)
    return {"_id": row.id, "state": OutboundState.PENDING.value, "updated_at": now,
            "next_attempt_at": now + timedelta(seconds=_wait(row.attempts, error, settings,
                                                             rand)),
            "state_reason": _said(error)}


def _wait(attempts: int, error: DeliveryError, settings: OutboundSettings,
          rand: Callable[[], float]) -> float:
    delay = retry_delay(attempts, settings.retry_base_seconds, settings.retry_max_seconds,
                        rand)
    return max(delay, min(error.retry_after or 0.0, settings.retry_max_seconds))


def _said(error: DeliveryError) -> str:
    return f"{error.reason}: {error.response}" if error.response else error.reason


def _attempt(outcome: Outcome) -> dict[str, Any]:
    error = outcome.error
    if error is None:
        kind = AttemptOutcome.SENT
    elif isinstance(error, PermanentDelivery):
        kind = AttemptOutcome.PERMANENT
    else:
        kind = AttemptOutcome.TRANSIENT
    response = (outcome.delivered.response if outcome.delivered is not None
                else error.response if error is not None else None)
    return {"outbound_id": outcome.claimed.id, "at": outcome.at,
            "duration_ms": outcome.duration_ms, "outcome": kind.value, "response": response,
            "error": error.reason if error is not None else None}


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    yield from groups.values()


# -- Receipts that come later (AS2 asynchronous MDNs) ---------------------------------------

RECEIPT_STATES = (OutboundState.SENDING.value, OutboundState.AWAITING_MDN.value)


@dataclass(frozen=True, slots=True)
class AwaitedRow:
    """An outbound row a receipt names, as the receipt's reader needs it."""

    id: int
    state: OutboundState
    headers: tuple[tuple[str, str], ...]


def awaited_row(session: Session, wire_id: str, transport: Transport) -> AwaitedRow | None:
    """The row with this wire id and transport, locked until the transaction ends (on
    PostgreSQL; SQLite has one writer at a time), so two receipts never decide it twice."""
    query = (select(OUTBOX.c.id, OUTBOX.c.state, OUTBOX.c.headers)
             .where(OUTBOX.c.wire_id == wire_id[:255], OUTBOX.c.transport == transport.value))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = session.execute(query).first()
    if found is None:
        return None
    row_id, state, headers = found
    return AwaitedRow(row_id, OutboundState(state),
                      tuple((str(k), str(v)) for k, v in headers or ()))


def record_receipt(session: Session, row_id: int, delivered: Delivered | None,
                   error: PermanentDelivery | None, now: datetime) -> bool:
    """A receipt that came later decides a row still `awaiting_mdn` (or still `sending`: the
    partner answered before its sender recorded the POST, whose record then moves nothing):
    `sent` (its OUTBOUND_FAILED resolved, the message it answers acknowledged) or `failed`
    with the reason and an OUTBOUND_FAILED exception. Recorded as an attempt of zero
    duration. False when the row was in neither state (decided already)."""
    return _record_receipt(session, row_id, delivered, error, now,
                           OUTBOX.c.state.in_(RECEIPT_STATES), "sent on retry")


def record_late_receipt(session: Session, row_id: int, delivered: Delivered | None,
                        error: PermanentDelivery | None, now: datetime) -> bool:
    """A receipt that came after its window: the row is `failed` because none came
    (`expire_awaited`), and the partner has now said what became of the message. A positive
    one proves the partner took it (RFC 4130 section 7.3: the MDN is the proof of receipt):
    the row is `sent` and the OUTBOUND_FAILED exception the expiry raised is resolved with a
    note saying so, so IT neither sends it again nor chases the partner. An error one keeps
    the row `failed` with the partner's reason in place of "no MDN", and its exception is
    told that reason (reopened if IT had closed it). False, changing nothing, when the row
    is not `failed` for want of an MDN (IT retried or cancelled it, or it failed otherwise)."""
    return _record_receipt(
        session, row_id, delivered, error, now,
        (OUTBOX.c.state == OutboundState.FAILED.value)
        & (OUTBOX.c.state_reason == NO_MDN_REASON),
        f"its MDN arrived after the window ({now:%Y-%m-%d %H:%M} UTC): the partner received "
        "it")


def _record_receipt(session: Session, row_id: int, delivered: Delivered | None,
                    error: PermanentDelivery | None, now: datetime, guard: Any,
                    resolved_because: str) -> bool:
    target = OutboundState.SENT if error is None else OutboundState.FAILED
    values: dict[str, Any] = {"state": target.value, "next_attempt_at": None,
                              "updated_at": now,
                              "state_reason": None if error is None else _said(error)}
    if error is None:
        values["sent_at"] = now
    moved = session.execute(
        update(OUTBOX).where(OUTBOX.c.id == row_id, guard)
        .values(values)
        .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.transport, OUTBOX.c.attempts,
                   OUTBOX.c.supplier_code, OUTBOX.c.message_id)).first()
    if moved is None:
        return False
    claimed = Claimed(moved[0], moved[1], Transport(moved[2]), moved[3], moved[4], moved[5],
                      _NOTHING)
    outcome = Outcome(claimed, now, 0, delivered=delivered, error=error)
    insert_rows(session.connection(), ATTEMPTS, [_attempt(outcome)])
    if error is not None:
        _raise_failures(session, [(claimed, _said(error))], now)
    else:
        _resolve_failures(session, [outcome], now, resolved_because)
        _acknowledge_messages(session, [claimed])
    return True


# Why a row `awaiting_mdn` failed when its window passed; a receipt that comes later finds
# the row by it (`record_late_receipt`).
NO_MDN_REASON = "no MDN came from the partner within its window (mdn_timeout_minutes)"


def expire_awaited(session: Session, now: datetime) -> list[int]:
    """Rows `awaiting_mdn` past their window (`next_attempt_at`): `failed`, each with an
    OUTBOUND_FAILED exception for IT (the partner may not have the message); their ids."""
    late = session.execute(
        update(OUTBOX).where(OUTBOX.c.state == OutboundState.AWAITING_MDN.value,
                             OUTBOX.c.next_attempt_at <= now)
        .values(state=OutboundState.FAILED.value, next_attempt_at=None, updated_at=now,
                state_reason=NO_MDN_REASON)
        .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.transport, OUTBOX.c.attempts,
                   OUTBOX.c.supplier_code, OUTBOX.c.message_id)).all()
    if not late:
        return []
    why = NO_MDN_REASON
    _raise_failures(session, [(Claimed(row_id, kind, Transport(transport), attempts, supplier,
                                       message, _NOTHING), why)
                              for row_id, kind, transport, attempts, supplier, message in late],
                    now)
    ids = sorted(row[0] for row in late)
    log.error("outbox: %d row(s) failed, their asynchronous MDN did not come in time (#%s)",
              len(ids), ", #".join(map(str, ids[:20])))
    return ids


# -- The exception IT works on -----------------------------------------------------------


def failure_key(supplier_code: str | None, outbound_id: int) -> str:
    """One OUTBOUND_FAILED exception per outbound row."""
    return (f"{supplier_code or ''}|{discrepancy_key(DiscrepancyCode.OUTBOUND_FAILED, None, None)}"
            f"|outbox#{outbound_id}")


def _raise_failures(session: Session, failed: list[tuple[Claimed, str]],
                    now: datetime) -> None:
    """Open (or reopen, or count again) the OUTBOUND_FAILED exception of each row, with the
    reason it failed."""
    keys = {failure_key(row.supplier_code, row.id): (row, reason) for row, reason in failed}
    known = {key: (row_id, state, occurrences) for key, row_id, state, occurrences in
             session.execute(select(EXCEPTIONS.c.key, EXCEPTIONS.c.id, EXCEPTIONS.c.state,
                                    EXCEPTIONS.c.occurrences)
                             .where(EXCEPTIONS.c.key.in_(list(keys))))}
    events: list[dict[str, Any]] = []
    for key, (row, reason) in keys.items():
        found = outbound_failed(f"{row.kind} #{row.id} by {row.transport}", reason)
        values = {"code": found.code.value, "severity": found.severity.value,
                  "risk": found.risk, "expected": found.expected, "actual": found.actual,
                  "rule": found.rule, "message_id": row.message_id, "updated_at": now}
        if key not in known:
            exception_id = session.execute(insert(EXCEPTIONS).values(
                key=key, state=ExceptionState.OPEN.value, occurrences=1,
                supplier_code=row.supplier_code, created_at=now, **values)
                .returning(EXCEPTIONS.c.id)).scalar_one()
            events.append(_event(exception_id, now, "raised", None, ExceptionState.OPEN,
                                 found.rule, row.message_id))
            continue
        exception_id, state, occurrences = known[key]
        after = ExceptionState.OPEN if state not in OPEN_STATES else ExceptionState(state)
        session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id == exception_id)
                        .values(state=after.value, occurrences=occurrences + 1, **values))
        events.append(_event(exception_id, now,
                             "reopened" if after.value != state else "seen_again",
                             ExceptionState(state), after, f"outbound #{row.id} failed again",
                             row.message_id))
    session.execute(insert(EVENTS), events)


def _resolve_failures(session: Session, sent: list[Outcome], now: datetime,
                      because: str = "sent on retry") -> None:
    """Resolve the open OUTBOUND_FAILED exceptions of rows a retry has now sent (one indexed
    lookup by key per 500 rows; rows that never failed have none)."""
    keys = {failure_key(o.claimed.supplier_code, o.claimed.id): o.claimed.id for o in sent}
    for batch in chunked(sorted(keys)):
        for exception_id, key, state in session.execute(
                select(EXCEPTIONS.c.id, EXCEPTIONS.c.key, EXCEPTIONS.c.state)
                .where(EXCEPTIONS.c.key.in_(batch), EXCEPTIONS.c.state.in_(OPEN_STATES))):
            session.execute(update(EXCEPTIONS).where(EXCEPTIONS.c.id == exception_id)
                            .values(state=ExceptionState.RESOLVED.value, updated_at=now))
            session.execute(insert(EVENTS).values(_event(
                exception_id, now, "resolved", ExceptionState(state), ExceptionState.RESOLVED,
                f"outbound #{keys[key]} {because}", None)))


def _event(exception_id: int, now: datetime, action: str, before: ExceptionState | None,
           after: ExceptionState, detail: str, message_id: int | None) -> dict[str, Any]:
    return {"exception_id": exception_id, "at": now, "actor": "gateway", "action": action,
            "from_state": before.value if before else None, "to_state": after.value,
            "detail": detail, "message_id": message_id}


# -- In process (`gateway run`) ------------------------------------------------------------


class OutboxThread:
    """The sender of `gateway run`: a thread that gives back stuck rows and sends what is due
    every `poll_seconds` (or at once when woken). A database or transport outage costs a
    pass, never a row: the rows wait in the table."""

    def __init__(self, sender: OutboxSender, poll_seconds: float) -> None:
        self._sender = sender
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the batch under way, then stop."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._sender.sweep()
                report = self._sender.drain(stop=self._stopping.is_set)
            except SQLAlchemyError as exc:
                log.warning("outbox: pass skipped, the database failed: %s",
                            type(exc).__name__)
            else:
                if report.sent or report.failed or report.retrying:
                    log.info("outbox: %d sent, %d to retry, %d failed", len(report.sent),
                             len(report.retrying), len(report.failed))
            self._wake.wait(self._poll)
            self._wake.clear()
