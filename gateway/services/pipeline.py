"""The one processing path: every entry point processes archived messages by id through it.

The Celery task (`gateway.tasks.app`), the embedded worker of `gateway run`
(`gateway.services.intake_worker`) and `gateway ingest` (`gateway.services.ingest`) call
`process_ids`; `gateway replay` and `gateway messages release/retry` run the same read and
write steps on a chain of messages (`gateway.services.replay`). The message row is the source
of truth; a task only says "look at these ids". So a task that is delivered twice, or a
message whose task was lost, costs time and never a second set of events: the write step
takes only `received` messages and locks their rows while it writes.

Per run, in arrival order, a batch (`batch_size` messages) at a time:

1. `claim` counts a start of processing on each `received` message of the batch (committed
   before its work). A message started `max_attempts` times that never finished (each time its
   worker was killed, ran out of memory, lost its machine) is `failed` with that reason instead
   of being tried forever; one started before is processed alone, so it cannot take its batch
   down again.
2. `process_in_order` processes consecutive fresh messages as one batch, each batch in two
   transactions (read and parse in one that only reads, reconcile and write in a short one).
   The next batch is claimed, read and parsed while one is written (a second thread, a second
   connection); the writes go one after the other, in order. A batch that fails for a reason
   that is not transient is processed message by message; a message that fails alone is
   `failed` with the reason, and its buyer is told.
3. A transient error (`failures.TRANSIENT`: the database unavailable, a serialization
   failure, a deadlock, a lock or statement timeout) says nothing about the messages: the
   start is taken back and `ProcessingDeferred` is raised. Every entry point then waits a
   random back-off (`retry_delay`) and tries again, at most `max_retries` times; past that
   cap the messages still `received` are `failed` with the reason, for IT alone (`give_up`).
   If even that cannot be written (the database still gone) they stay `received` and the
   sweeper takes them. `process_retrying` is that loop for the entry points that wait in
   their own thread; the Celery task waits as a task countdown instead.

`stuck_messages` and `mark_enqueued` are the sweeper's: what is still `received` some time
after its task was published is published again.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.bootstrap import READ_ONLY
from gateway.config import PipelineSettings
from gateway.domain.messages import MessageState, move_message
from gateway.errors import GatewayError
from gateway.persistence.models import InboundMessage
from gateway.persistence.queries import chunked, one_of
from gateway.services.failures import TRANSIENT as TRANSIENT  # where workers import it from
from gateway.services.failures import tell_buyers
from gateway.services.processing import MessageReport, ReadBatch, read_batch, write_batch
from gateway.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from gateway.services.mail_auth import Authenticate

log = logging.getLogger(__name__)
MESSAGE_ID = cast(Table, InboundMessage.__table__).c.id
T = TypeVar("T")
# How an entry point that retries in its own thread waits: returns true when it was told to
# stop meanwhile (`threading.Event.wait`), false or None when the time is up (`time.sleep`).
Wait = Callable[[float], object]


class ProcessingDeferred(GatewayError):
    """Processing stopped on a transient error and will be tried again (retryable). Carries a
    one-line description only: a database error's text holds the statement and its
    parameters, which may be message bytes, and must not reach a log or a broker."""

    retryable = True


def describe(exc: BaseException) -> str:
    """One line naming the error, without statements or parameters."""
    name = type(exc).__name__
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        name, text = type(exc.orig).__name__, str(exc.orig).strip()   # the driver's own
    elif isinstance(exc, SQLAlchemyError):
        text = ""
    else:
        text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{name}: {first}".rstrip(": ")[:300]


@dataclass(frozen=True, slots=True)
class Claim:
    process: list[int]       # to process now, in arrival order
    alone: frozenset[int]    # started before without finishing: each processed on its own
    failed: list[MessageReport]


def claim(session: Session, message_ids: list[int], max_attempts: int, now: datetime,
          worker: str | None = None) -> Claim:
    """Record a start of processing (by `worker`, a Celery node name) on the `received`
    messages among `message_ids`; fail the ones already started `max_attempts` times. Others
    (done, missing) are left out."""
    rows = [tuple(row) for batch in chunked(sorted(set(message_ids)))
            for row in session.execute(select(InboundMessage.id, InboundMessage.attempts)
                                       .where(one_of(MESSAGE_ID, batch,
                                                     session.get_bind().dialect),
                                              InboundMessage.state == MessageState.RECEIVED))]
    rows.sort()
    spent = [message_id for message_id, attempts in rows if attempts >= max_attempts]
    reason = (f"processing was started {max_attempts} time(s) and never finished (the worker "
              "was lost each time: a message that crashes it?); release it once the cause "
              "is fixed")
    failed = mark_failed(session, spent, reason, now)
    tell_buyers(session, [report.message_id for report in failed], reason, now)
    process = [message_id for message_id, attempts in rows if attempts < max_attempts]
    for batch in chunked(process):
        session.execute(update(InboundMessage)
                        .where(one_of(MESSAGE_ID, batch,
                                      session.get_bind().dialect),
                               InboundMessage.state == MessageState.RECEIVED)
                        .values(attempts=InboundMessage.attempts + 1, claimed_by=worker))
    alone = frozenset(m for m, attempts in rows if 0 < attempts < max_attempts)
    return Claim(process, alone, failed)


def mark_failed(session: Session, message_ids: list[int], reason: str,
                now: datetime) -> list[MessageReport]:
    """`received` -> `failed` with the reason; messages in other states are left as they are."""
    move_message(MessageState.RECEIVED, MessageState.FAILED)
    changed: list[int] = []
    for batch in chunked(sorted(message_ids)):
        changed += session.scalars(
            update(InboundMessage)
            .where(InboundMessage.id.in_(batch), InboundMessage.state == MessageState.RECEIVED)
            .values(state=MessageState.FAILED.value, state_reason=reason[:500], updated_at=now)
            .returning(InboundMessage.id)).all()
    for message_id in changed:
        log.error("message #%d failed: %s", message_id, reason[:200])
    return [MessageReport(message_id, MessageState.FAILED, reason=reason[:500])
            for message_id in sorted(changed)]


def process_ids(transaction: UnitOfWork, message_ids: list[int], today: date,
                clock: Callable[[], datetime], max_attempts: int,
                batch_size: int = 200, authenticate: Authenticate | None = None,
                worker: str | None = None) -> list[MessageReport]:
    """Claim (for `worker`), then process the messages in arrival order (steps 1 and 2
    above), `batch_size` at a time: each batch is claimed just before it is read, so a run
    stopped half way (killed, or by a transient error) counted a start only on what it began.
    Raises `ProcessingDeferred` on a transient error; what was committed before it stays done.
    `authenticate` checks the senders of mail first, outside the processing transaction
    (`gateway.services.mail_auth`); without it, mail has no verdict and is not verified."""
    claimed: list[int] = []            # what was claimed, for `unclaim`
    failed: list[MessageReport] = []   # what `claim` failed (started too often)

    def claimed_groups() -> Iterator[list[int]]:
        for chunk in chunked(sorted(set(message_ids)), batch_size):
            with transaction() as session:
                batch = claim(session, chunk, max_attempts, clock(), worker)
            claimed.extend(batch.process)
            failed.extend(batch.failed)
            if authenticate is not None:
                authenticate(transaction, batch.process)
            yield from groups_of(batch.process, batch.alone, batch_size)

    try:
        done = process_in_order(transaction, claimed_groups(), today, clock)
    except TRANSIENT as exc:
        # Stopped by a known, transient error, not lost: the start is not one that "never
        # finished" (else the attempts cap, lower than the retry cap, fails the messages
        # with the wrong reason before the retries are spent).
        unclaim(transaction, claimed)
        raise ProcessingDeferred(describe(exc)) from exc
    return failed + done


def unclaim(transaction: UnitOfWork, message_ids: list[int]) -> None:
    """Take back the start `claim` counted on the messages still `received`. Best effort:
    with the database gone it stays counted, one attempt per outage."""
    try:
        with transaction() as session:
            for batch in chunked(message_ids):
                session.execute(update(InboundMessage)
                                .where(InboundMessage.id.in_(batch),
                                       InboundMessage.state == MessageState.RECEIVED,
                                       InboundMessage.attempts > 0)
                                .values(attempts=InboundMessage.attempts - 1))
    except TRANSIENT as exc:
        log.warning("%d message(s): the interrupted start stays counted (%s)",
                    len(message_ids), describe(exc))


def process_in_order(transaction: UnitOfWork, groups: Iterable[list[int]], today: date,
                     clock: Callable[[], datetime]) -> list[MessageReport]:
    """Process each group of message ids as one batch, in order. While a batch is reconciled
    and written, the next one is read and parsed in a second thread, in its own read-only
    transaction (`read_ahead`): on PostgreSQL the server writes one batch while this process
    parses the next. Writes stay one at a time, in order: a batch's write transaction begins
    after the one before it committed, and reads the states again under its lock, so a
    message is applied once whatever was read ahead. The next group is taken from `groups`
    (which claims it) in this thread, before the write: never while this thread holds the
    write lock, which on SQLite is the database's one.

    Each group is stamped (`created_at`) with the time its read began, read from `clock`,
    and the messages it moved carry in `updated_at` the time it finished, just before its
    commit: a message's `updated_at - received_at` is how long it took from archive to
    reconciled, not when the task that carried it started."""
    pending = iter(groups)
    group = next(pending, None)
    if group is None:
        return []
    reports: list[MessageReport] = []
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        reading: Future[Ahead] | None = reader.submit(read_ahead, transaction, group,
                                                       today, clock)
        while reading is not None:
            ahead = reading.result()
            group = next(pending, None)
            reading = None if group is None else reader.submit(
                read_ahead, transaction, group, today, clock)
            reports += process_group(transaction, ahead.group, today, clock, ahead)
    return reports


@dataclass(frozen=True, slots=True)
class Ahead:
    """A group read ahead of its write: what `read_batch` found, or the error it raised
    (not transient: the group is then processed message by message, as when its write
    fails)."""

    group: list[int]
    began: datetime
    batch: ReadBatch | None
    error: Exception | None = None


def read_ahead(transaction: UnitOfWork, group: list[int], today: date,
               clock: Callable[[], datetime]) -> Ahead:
    """Read, parse and map a group in its own read-only transaction, before its write."""
    began = clock()
    try:
        return Ahead(group, began, read_apart(transaction, group, today, began))
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - raised again by `process_group`, which splits
        return Ahead(group, began, None, exc)


def groups_of(message_ids: list[int], alone: frozenset[int], size: int) -> Iterator[list[int]]:
    """Consecutive messages `size` at a time, each of `alone` in a group of its own."""
    group: list[int] = []
    for message_id in message_ids:
        if message_id in alone or len(group) >= size:
            if group:
                yield group
            group = []
        if message_id in alone:
            yield [message_id]
        else:
            group.append(message_id)
    if group:
        yield group


def process_group(transaction: UnitOfWork, group: list[int], today: date,
                  clock: Callable[[], datetime],
                  ahead: Ahead | None = None) -> list[MessageReport]:
    """Write a group (read now, or `ahead`); one that fails is split, message by message."""
    try:
        if ahead is None:
            return process_apart(transaction, group, today, clock)
        if ahead.error is not None:
            raise ahead.error
        assert ahead.batch is not None
        return write_apart(transaction, ahead.batch, today, ahead.began, clock)
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - split below; alone, recorded as `failed`
        if len(group) > 1:
            log.warning("batch of %d message(s) failed (%s); processing them one by one",
                        len(group), type(exc).__name__)
            return [report for message_id in group
                    for report in process_group(transaction, [message_id], today, clock)]
        reason = f"processing failed: {describe(exc)}"
    with transaction() as session:
        now = clock()
        failed = mark_failed(session, group, reason, now)
        tell_buyers(session, [report.message_id for report in failed], reason, now)
        return failed


def process_apart(transaction: UnitOfWork, message_ids: list[int], today: date,
                  now: datetime | Callable[[], datetime]) -> list[MessageReport]:
    """Process `received` messages in two transactions: read, parse and map in one that only
    reads, then reconcile and write in a short write transaction (`read_apart`,
    `write_apart`). `now` may be a clock: then the batch's rows get the time it began, and
    the messages it moved the time its write finished (`stamp_finished`)."""
    began = now() if callable(now) else now
    return write_apart(transaction, read_apart(transaction, message_ids, today, began), today,
                       began, now if callable(now) else None)


def read_apart(transaction: UnitOfWork, message_ids: list[int], today: date,
               began: datetime) -> ReadBatch:
    """Read, parse and map in a transaction that only reads (`processing.read_batch`). On
    SQLite it begins deferred (`READ_ONLY`): in WAL mode it never takes the write lock, so a
    channel's commit (the SMTP 250, the IMAP move) never waits while a big message is read,
    nor a batch's write while the next batch is read."""
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        return read_batch(session, message_ids, today, began)


def write_apart(transaction: UnitOfWork, batch: ReadBatch, today: date, began: datetime,
                clock: Callable[[], datetime] | None) -> list[MessageReport]:
    """Reconcile and write what `read_apart` read, in a short write transaction
    (`processing.write_batch`); with a clock, the messages it moved are stamped with the
    time it finished."""
    with transaction() as session:
        reports = write_batch(session, batch, today, began)
        if clock is not None:
            stamp_finished(session, batch.message_ids, began, clock())
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
                        .where(one_of(MESSAGE_ID, batch,
                                      session.get_bind().dialect),
                               InboundMessage.updated_at == began)
                        .values(updated_at=finished))


def give_up(transaction: UnitOfWork, message_ids: list[int], retries: int, error: str,
            now: datetime) -> list[MessageReport]:
    """A transient error outlasted the retry cap: the messages still `received` are `failed`
    with the reason (IT retries them with `gateway messages retry`). Raises if the database
    is still unreachable: then they stay `received` and the sweeper publishes them again."""
    reason = f"gave up after {retries} retries on a transient error: {error}"
    try:
        with transaction() as session:
            return mark_failed(session, message_ids, reason, now)
    except TRANSIENT as exc:
        raise ProcessingDeferred(describe(exc)) from exc


def process_retrying(transaction: UnitOfWork, message_ids: list[int], today: date,
                     clock: Callable[[], datetime], settings: PipelineSettings,
                     authenticate: Authenticate | None = None, worker: str | None = None,
                     wait: Wait = time.sleep) -> list[MessageReport]:
    """`process_ids` with the transient-error policy applied in this thread: wait
    `retry_delay`, try again, at most `settings.max_retries` times, then `give_up`. Returns a
    report for every id, in the order given (a message another run finished, or a duplicate,
    as it is now). Raises `ProcessingDeferred` when `wait` was interrupted or when even
    `give_up` could not write (the messages stay `received` for the sweeper)."""
    error: ProcessingDeferred | None = None
    for retries in range(settings.max_retries + 1):
        if error is not None and _back_off(retries - 1, settings, error, wait):
            raise error
        try:
            done = process_ids(transaction, message_ids, today, clock, settings.max_attempts,
                               settings.batch_size, authenticate, worker)
        except ProcessingDeferred as exc:
            error = exc
            continue
        return as_listed(transaction, message_ids, {r.message_id: r for r in done})
    assert error is not None
    failed = give_up(transaction, message_ids, settings.max_retries, str(error), clock())
    return as_listed(transaction, message_ids, {r.message_id: r for r in failed})


def _back_off(retries: int, settings: PipelineSettings, exc: ProcessingDeferred,
              wait: Wait) -> bool:
    """Wait before retry `retries + 1`; true when told to stop meanwhile."""
    delay = retry_delay(retries, settings.retry_base_seconds, settings.retry_max_seconds)
    log.warning("processing deferred (%s); retry %d of %d in %.1f s", exc, retries + 1,
                settings.max_retries, delay)
    return bool(wait(delay))


def retry_transient(attempt: Callable[[], T], settings: PipelineSettings,
                    wait: Wait = time.sleep) -> T:
    """Run `attempt` (its own transactions) under the transient-error policy: on a transient
    error, wait `retry_delay` and run it again, at most `settings.max_retries` times; then
    raise `ProcessingDeferred` with a one-line description. For the operator's commands on
    one message (`gateway replay`, `gateway messages release/retry`): what an attempt wrote
    is rolled back with it, so the message keeps the state it had."""
    for retries in itertools.count():
        try:
            return attempt()
        except TRANSIENT as exc:
            deferred = ProcessingDeferred(describe(exc))
            if retries >= settings.max_retries or _back_off(retries, settings, deferred, wait):
                raise deferred from exc
    raise AssertionError("itertools.count() never ends")


def as_listed(transaction: UnitOfWork, message_ids: list[int],
              reports: dict[int, MessageReport]) -> list[MessageReport]:
    """A report for each of `message_ids` in their order; those without one (done by another
    run, a duplicate, missing) as their row is now."""
    missing = sorted(set(message_ids) - set(reports))
    if missing:
        with transaction() as session:
            session.connection(execution_options={READ_ONLY: True})
            for batch in chunked(missing):
                for message_id, state, reason in session.execute(
                        select(InboundMessage.id, InboundMessage.state,
                               InboundMessage.state_reason)
                        .where(InboundMessage.id.in_(batch))):
                    reports[message_id] = MessageReport(message_id, MessageState(state),
                                                        reason=reason, found_done=True)
    unknown = [message_id for message_id in message_ids if message_id not in reports]
    if unknown:
        raise LookupError(f"no message #{unknown[0]}")
    return [reports[message_id] for message_id in message_ids]


def stuck_messages(session: Session, now: datetime, stuck_seconds: float,
                   limit: int = 50_000) -> list[int]:
    """`received` messages whose task was last published over `stuck_seconds` ago (on the
    archiving commit when the sweeper never published one), oldest first."""
    cutoff = now - timedelta(seconds=stuck_seconds)
    published = func.coalesce(InboundMessage.enqueued_at, InboundMessage.received_at)
    return list(session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.state == MessageState.RECEIVED, published < cutoff)
        .order_by(InboundMessage.id).limit(limit)))


def mark_enqueued(session: Session, message_ids: list[int], now: datetime) -> None:
    for batch in chunked(message_ids):
        session.execute(update(InboundMessage)
                        .where(InboundMessage.id.in_(batch),
                               InboundMessage.state == MessageState.RECEIVED)
                        .values(enqueued_at=now))


def retry_delay(retries: int, base: float, cap: float,
                rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with full jitter: a random wait between 0 and `base` doubled per
    retry, at most `cap` (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), so
    the workers that met the same outage do not all come back in the same second."""
    return rand() * min(cap, base * 2.0 ** min(retries, 32))
