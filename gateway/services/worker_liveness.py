"""Workers lost whole: a `gateway worker` killed with SIGKILL, out of memory, or on a machine
that went away leaves the messages it had started `received`, and with Redis its task
unacknowledged until the visibility timeout (an hour). Late acknowledgement and
reject-on-worker-lost only help while the worker's parent process lives.

So each worker records a heartbeat (`worker_heartbeats`) every `heartbeat_seconds` and
claims its messages under its node name (`inbound_messages.claimed_by`). A worker whose
heartbeat is older than `worker_lost_seconds` is lost: at their own heartbeat, the live workers
(and the sweeper) take its `received` messages over and publish them again. Taking over is one
UPDATE ... RETURNING, so of two workers that look at once each message goes to one; and the
state machine makes a second delivery (RabbitMQ requeues the task of a lost connection at once,
Redis after its visibility timeout) process each message once anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.domain.messages import MessageState
from gateway.persistence.models import InboundMessage, WorkerHeartbeatRow
from gateway.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def record_heartbeat(session: Session, worker: str, now: datetime) -> None:
    """`worker` is alive at `now` (only the worker itself writes its row)."""
    found = session.execute(update(WorkerHeartbeatRow).where(WorkerHeartbeatRow.name == worker)
                            .values(beat_at=now))
    if not getattr(found, "rowcount", 0):
        session.execute(insert(WorkerHeartbeatRow).values(name=worker, started_at=now,
                                                          beat_at=now))


def forget_worker(session: Session, worker: str) -> None:
    """A worker that stopped cleanly: what it claimed and left `received` is taken over at
    the next look, without waiting for its heartbeat to age."""
    session.execute(delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.name == worker))


def take_over_lost(session: Session, now: datetime, lost_seconds: float,
                   taker: str | None = None) -> list[int]:
    """The `received` messages claimed by a worker without a heartbeat in the last
    `lost_seconds`, released (no claim, published at `now`) for the caller to publish again;
    the lost workers' rows are removed.

    A `taker` (the worker looking) takes over only while its own heartbeat is fresh (within
    half of `lost_seconds`): after a database outage every heartbeat is old, the live workers'
    as much as the lost ones', until each has beaten once again."""
    if taker is not None and not _beat_since(session, taker,
                                             now - timedelta(seconds=lost_seconds / 2)):
        return []
    cutoff = now - timedelta(seconds=lost_seconds)
    alive = select(WorkerHeartbeatRow.name).where(WorkerHeartbeatRow.beat_at >= cutoff)
    lost = session.scalars(
        update(InboundMessage)
        .where(InboundMessage.state == MessageState.RECEIVED,
               InboundMessage.claimed_by.is_not(None),
               InboundMessage.claimed_by.not_in(alive))
        .values(claimed_by=None, enqueued_at=now)
        .returning(InboundMessage.id)).all()
    session.execute(delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.beat_at < cutoff))
    return sorted(lost)


def _beat_since(session: Session, worker: str, moment: datetime) -> bool:
    return session.scalar(select(WorkerHeartbeatRow.name).where(
        WorkerHeartbeatRow.name == worker, WorkerHeartbeatRow.beat_at >= moment)) is not None


class Heartbeat:
    """A thread of the worker's main process: records the heartbeat, then takes over and
    publishes the messages of lost workers, every `every` seconds. The database or the broker
    being down is logged and tried again at the next beat; the sweeper publishes what a failed
    publish left behind."""

    def __init__(self, transaction: UnitOfWork, worker: str, clock: Callable[[], datetime],
                 every: float, lost_seconds: float,
                 publish: Callable[[list[int]], None]) -> None:
        self._transaction = transaction
        self.worker = worker
        self._clock = clock
        self._every = every
        self._lost_seconds = lost_seconds
        self._publish = publish
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        try:
            with self._transaction() as session:
                forget_worker(session, self.worker)
        except SQLAlchemyError as exc:   # the row ages and the others remove it
            log.warning("heartbeat of %s not removed: %s", self.worker, type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.beat()

    def beat(self) -> list[int]:
        """One heartbeat and one look for lost workers; the ids published again."""
        try:
            with self._transaction() as session:
                now = self._clock()
                lost = take_over_lost(session, now, self._lost_seconds, self.worker)
                record_heartbeat(session, self.worker, now)
        except SQLAlchemyError as exc:   # the next beat tries again
            log.warning("heartbeat of %s not recorded: %s", self.worker, type(exc).__name__)
            return []
        if lost:
            publish_again(self._publish, lost, f"a worker silent for over "
                                               f"{self._lost_seconds:.0f} s")
        return lost


def publish_again(publish: Callable[[list[int]], None], message_ids: list[int],
                  why: str) -> None:
    try:
        publish(message_ids)
    except Exception as exc:  # noqa: BLE001 - released with enqueued_at: the sweeper's then
        log.error("%d message(s) of %s not published again (%s); the sweeper will",
                  len(message_ids), why, type(exc).__name__)
        return
    log.warning("published again %d message(s) of %s (#%d-#%d)", len(message_ids), why,
                message_ids[0], message_ids[-1])
