"""Processing archived messages by id, the way the Celery tasks run it (DESIGN.md sections 6-7).

The message row is the source of truth; a task only says "look at these ids". So a task that
is delivered twice, or a message whose task was lost, costs time and never a second set of
events: `process_batch` takes only `received` messages, and locks their rows while it writes
(it parses first, in a transaction that only reads: `ingest.process_apart`).

Per run, in arrival order:

1. `claim` counts a start of processing on each `received` message (committed before the
   work). A message started `max_attempts` times that never finished (each time its worker was
   killed, ran out of memory, lost its machine) is `failed` with that reason instead of being
   tried forever; one started before is processed alone, so it cannot take its batch down
   again.
2. `process_in_order` processes consecutive fresh messages as one batch. A batch that fails
   for a reason that is not transient is processed message by message; a message that fails
   alone is `failed` with the reason. A transient error (the database or the network gone, a
   lock timeout, a deadlock) is raised to the caller, which retries later with back-off.

`stuck_messages` and `mark_enqueued` are the sweeper's: what is still `received` some time
after its task was published is published again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.domain.messages import MessageState, move_message
from gateway.errors import GatewayError
from gateway.persistence.models import InboundMessage
from gateway.persistence.queries import chunked
from gateway.services.failures import TRANSIENT as TRANSIENT  # where workers import it from
from gateway.services.failures import tell_buyers
from gateway.services.ingest import UnitOfWork, process_apart
from gateway.services.processing import MessageReport

if TYPE_CHECKING:
    from gateway.services.mail_auth import Authenticate

log = logging.getLogger(__name__)


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
                                       .where(InboundMessage.id.in_(batch),
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
                        .where(InboundMessage.id.in_(batch),
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
    above). Raises `ProcessingDeferred` on a transient error; what was committed before it
    stays done. `authenticate` checks the senders of mail first, outside the processing
    transaction (`gateway.services.mail_auth`); without it, mail has no verdict and is not
    verified."""
    try:
        with transaction() as session:
            claimed = claim(session, message_ids, max_attempts, clock(), worker)
    except TRANSIENT as exc:
        raise ProcessingDeferred(describe(exc)) from exc
    try:
        if authenticate is not None:
            authenticate(transaction, claimed.process)
        return claimed.failed + process_in_order(transaction, claimed.process, claimed.alone,
                                                 today, clock, batch_size)
    except TRANSIENT as exc:
        # Stopped by a known, transient error, not lost: the start is not one that "never
        # finished" (else the attempts cap, lower than the retry cap, fails the messages
        # with the wrong reason before the retries are spent).
        _unclaim(transaction, claimed.process)
        raise ProcessingDeferred(describe(exc)) from exc


def _unclaim(transaction: UnitOfWork, message_ids: list[int]) -> None:
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


def process_in_order(transaction: UnitOfWork, message_ids: list[int], alone: frozenset[int],
                     today: date, clock: Callable[[], datetime],
                     batch_size: int = 200) -> list[MessageReport]:
    """Each group is stamped (`created_at`) with the time its own transaction began, read
    from `clock`, and the messages it moved carry in `updated_at` the time it finished, just
    before its commit: a message's `updated_at - received_at` is how long it took from archive
    to reconciled, not when the task that carried it started."""
    reports: list[MessageReport] = []
    for group in _groups(message_ids, alone, batch_size):
        reports += _process_group(transaction, group, today, clock)
    return reports


def _groups(message_ids: list[int], alone: frozenset[int], size: int) -> Iterator[list[int]]:
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


def _process_group(transaction: UnitOfWork, group: list[int], today: date,
                   clock: Callable[[], datetime]) -> list[MessageReport]:
    try:
        return process_apart(transaction, group, today, clock)
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - split below; alone, recorded as `failed`
        if len(group) > 1:
            log.warning("batch of %d message(s) failed (%s); processing them one by one",
                        len(group), type(exc).__name__)
            return [report for message_id in group
                    for report in _process_group(transaction, [message_id], today, clock)]
        reason = f"processing failed: {describe(exc)}"
    with transaction() as session:
        now = clock()
        failed = mark_failed(session, group, reason, now)
        tell_buyers(session, [report.message_id for report in failed], reason, now)
        return failed


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
