"""The in-process worker that processes what a channel archived when no broker is configured.

A channel commits the raw message and answers at once (docs/architecture.md, "Archive before
acknowledge"); this worker, in a thread of its own, later picks the channel's `received`
messages in arrival order, in batches, and processes them. The message rows are the queue: a
wake-up after each commit keeps latency low, and a sweep every few seconds finds anything a
crash or an outage left behind, so nothing waits for a signal that was lost.

It processes through the one processing path (`gateway.services.pipeline.process_retrying`),
as a Celery worker does: a batch that fails is processed message by message; a message that
still fails is marked `failed` with the reason, and one that was started `max_attempts` times
without finishing is `failed` too, so one bad message never blocks the others. A transient
error is retried with the pipeline's back-off (`GATEWAY_PIPELINE_RETRY_*`) at most
`max_retries` times; then the messages still `received` are `failed` with the reason. While
the database is unreachable nothing can be recorded, not even that: the worker pauses
(doubling up to a cap) and tries again, and the messages stay `received`.

Processing yields to intake. While a channel keeps handing messages in (its last wake-up less
than `BUSY_SECONDS` ago), the worker takes small batches (`busy_batch_size`) and rests after
each for `rest_per_work` times as long as the batch took. Intake and this worker share the
process's interpreter lock and, on SQLite, the database's one write lock: a big batch's write
step held that lock, and its parse the interpreter, while the intake's sessions waited for
their 250 (`gateway bench smtp`, "with worker": intake fell to about a quarter of a bare
server). Once the mail stops, batches are full size again and nobody rests; a backlog built
during a burst is worked off then, and meanwhile at a quarter of the worker's speed or more.
Starting the worker also shortens the interpreter's switch interval
(`runtime.share_interpreter_with_intake`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from gateway.bootstrap import READ_ONLY
from gateway.config import PipelineSettings
from gateway.domain.messages import MessageState
from gateway.persistence.models import InboundMessage
from gateway.runtime import share_interpreter_with_intake
from gateway.services.pipeline import ProcessingDeferred, process_retrying
from gateway.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from gateway.services.mail_auth import Authenticate

log = logging.getLogger(__name__)

# A batch holds the raw bytes of its messages in memory at once: cap their sum too.
BATCH_BYTES = 64 * 1024 * 1024
# While mail streams in: how recent a wake-up means "busy", the batch size then, and the rest
# after each batch as a multiple of the time it took.
BUSY_SECONDS = 0.5
BUSY_BATCH_SIZE = 10
REST_PER_WORK = 3.0


class ReceivedWorker:
    def __init__(self, transaction: UnitOfWork, channels: Sequence[str] | None,
                 today: Callable[[], date], now: Callable[[], datetime],
                 batch_size: int | None = None, sweep_seconds: float = 5.0,
                 max_pause_seconds: float = 30.0,
                 max_attempts: int | None = None,
                 authenticate: Authenticate | None = None,
                 settings: PipelineSettings | None = None,
                 busy_batch_size: int = BUSY_BATCH_SIZE,
                 rest_per_work: float = REST_PER_WORK) -> None:
        self._transaction = transaction
        self._busy_batch_size = busy_batch_size
        self._rest_per_work = rest_per_work
        self._last_wake = float("-inf")   # time.monotonic() of the last wake-up
        # Sender authentication of mail before processing (gateway.services.mail_auth).
        self._authenticate = authenticate
        # None: the messages of every channel (`gateway run`, the one worker of its machine).
        self._channels = None if channels is None else tuple(channels)
        self._today = today
        self._now = now
        self._sweep_seconds = sweep_seconds
        self._max_pause = max_pause_seconds
        # The pipeline's batch size, attempts cap and transient-error policy.
        policy = settings or PipelineSettings()
        self._settings = replace(policy, batch_size=batch_size or policy.batch_size,
                                 max_attempts=max_attempts or policy.max_attempts)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="intake-worker", daemon=True)

    def start(self) -> None:
        """Process in a thread of this process: the interpreter's switch interval is shortened
        (`runtime.share_interpreter_with_intake`), as a channel's event loop shares it."""
        share_interpreter_with_intake()
        self._thread.start()

    def wake(self, _message_ids: object = None) -> None:
        """Something was archived: look now rather than at the next sweep."""
        self._last_wake = time.monotonic()
        self._wake.set()

    @property
    def intake_busy(self) -> bool:
        """A channel handed messages in within the last `BUSY_SECONDS`."""
        return time.monotonic() - self._last_wake < BUSY_SECONDS

    def stop(self, timeout: float | None = None) -> None:
        """Finish the batch under way, then stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = min(1.0, self._max_pause)
        while not self._stopping.is_set():
            self._wake.clear()
            began = time.monotonic()
            try:
                done = self.run_once()
            except (SQLAlchemyError, ProcessingDeferred) as exc:
                log.warning("processing paused for %.0f s: database unavailable (%s)", pause,
                            type(exc).__name__)
                self._stopping.wait(pause)
                pause = min(pause * 2, self._max_pause)
                continue
            pause = min(1.0, self._max_pause)
            if done == 0:
                self._wake.wait(self._sweep_seconds)
            elif self.intake_busy:   # yield to the channel (module docstring)
                self._stopping.wait((time.monotonic() - began) * self._rest_per_work)

    def run_once(self) -> int:
        """Process one batch of `received` messages; returns how many it took."""
        ids = self._next_batch()
        if not ids:
            return 0
        # The pipeline's own path (gateway.services.pipeline): each start is counted first, so
        # a message that takes the whole process down (out of memory, a crash in a native
        # reader) is `failed` after `max_attempts` restarts instead of blocking every later
        # one; a batch that fails is processed message by message; a transient error is
        # retried with back-off, waited out here (`stop` interrupts the wait).
        reports = process_retrying(self._transaction, ids, self._today(), self._now,
                                   self._settings, self._authenticate,
                                   wait=self._stopping.wait)
        for report in reports:
            log.info("message #%d %s", report.message_id, report.state.value,
                     extra={"message_id": report.message_id, "state": report.state.value})
        return len(ids)

    def _next_batch(self) -> list[int]:
        size = (min(self._busy_batch_size, self._settings.batch_size) if self.intake_busy
                else self._settings.batch_size)
        query = (select(InboundMessage.id, InboundMessage.size)
                 .where(InboundMessage.state == MessageState.RECEIVED.value)
                 .order_by(InboundMessage.id).limit(size))
        if self._channels is not None:
            query = query.where(InboundMessage.channel.in_(self._channels))
        with self._transaction() as session:
            # Only reads: on SQLite it must not queue for the write lock that intake commits.
            session.connection(execution_options={READ_ONLY: True})
            rows = session.execute(query).all()
        ids: list[int] = []
        total = 0
        for message_id, size in rows:
            if ids and total + size > BATCH_BYTES:
                break
            ids.append(message_id)
            total += size
        return ids
