"""Group commit for a channel's intake: the messages that arrive while one commit runs are
archived together in the next one, and each is confirmed only after the commit that stored it.

`GroupCommit` is the writer for items of any kind (the AS2 channel's requests, each stored in
a savepoint of its own); `GroupCommitWriter` is the SMTP intake's, whose items are `Intake`s
archived with `archive_many`.

This is a write-ahead log's group commit applied one level up. One writer thread does all the
intake's database writes; a session hands it a message and waits for the outcome. When the
writer is free it takes every message queued by then (up to `max_batch` messages and
`max_bytes` bytes), archives them with `archive_many` in one transaction, commits, and only then
settles each waiting session with its own row. Nothing waits for a batch to fill: a lone message
is committed at once, and batches grow only when messages arrive faster than commits finish.

Why (`gateway bench smtp`, README "Speed and memory"): with one transaction per message, run
from a pool of four threads, SQLite's writers queued on its write lock (BEGIN IMMEDIATE) in its
busy handler, which sleeps 1 to 100 ms between attempts, and every message paid a WAL flush of
its own; the intake reached about a quarter of a bare handler that fsyncs each message to a file.

On SQLite the commit itself does not wait for the disk: the writer commits without flushing the
write-ahead log and hands the batch to a flusher thread, which flushes the log once for every
batch committed so far (`gateway.persistence.wal`) and only then settles their sessions. So the
write lock is held for the inserts alone, the next batch is written while the disk flushes the
last, and a flush serves several commits. On PostgreSQL the commit returns once the server has
flushed its own log, and the batch is settled at once.

The guarantee is unchanged (docs/architecture.md, "Archive before acknowledge"): a message's future
resolves only after the commit that holds its bytes and row returned and, on SQLite, the log that
holds them was flushed to disk. If that transaction fails, it
rolled back as a whole: no message of the batch is stored, and every one of them gets the exception
(SMTP answers each 451 and the sender retries). A failure that belongs to one message alone would
fail its companions too; none is known on this path (the sender is checked before DATA, the bytes
are stored as they are), and each of them is retried by its sender. A flush that fails
fails every batch it was to cover the same way (their rows stay, and the retries are kept as
duplicate deliveries).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from gateway.bootstrap import FLUSH_LATER
from gateway.persistence.wal import WalFlush, wal_file
from gateway.services.ingest import Archived, Intake, UnitOfWork, archive_many

log = logging.getLogger(__name__)

MAX_BATCH = 100
MAX_BATCH_BYTES = 32 * 1024 * 1024


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Pending(Generic[T, R]):
    item: T
    size: int
    settle: Callable[[R | Exception], None]


@dataclass(frozen=True, slots=True)
class _Committed(Generic[T, R]):
    """A batch committed whose log is not yet flushed."""

    batch: list[_Pending[T, R]]
    rows: Sequence[R | Exception]


_STOP = object()


class GroupCommit(Generic[T, R]):
    """One writer for items of any kind: `write` stores a batch of them in the session of one
    transaction and returns each one's result, in order; an exception in the place of a result
    fails that item alone (its writes rolled back to a savepoint by `write`), the others are
    committed. `submit` from an event loop, `wait` from a thread; `after_commit` runs in the
    writer thread with the results of each committed batch (to hand them on), after their
    callers were settled."""

    def __init__(self, transaction: UnitOfWork,
                 write: Callable[[Session, list[T]], Sequence[R | Exception]],
                 size: Callable[[T], int],
                 after_commit: Callable[[Sequence[R]], None] = lambda _rows: None,
                 max_batch: int = MAX_BATCH, max_bytes: int = MAX_BATCH_BYTES,
                 name: str = "archive") -> None:
        self._transaction = transaction
        self._write = write
        self._size = size
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._max_bytes = max_bytes
        self._queue: queue.SimpleQueue[_Pending[T, R] | object] = queue.SimpleQueue()
        # Decided at the first commit: how this database's log is flushed (None: by COMMIT).
        self._flush: WalFlush | None = None
        self._decided = False
        self._unflushed: queue.SimpleQueue[_Committed[T, R] | object] = queue.SimpleQueue()
        self._flushing = threading.Lock()   # the writer's and the flusher's, one at a time
        self._thread = threading.Thread(target=self._run, name=f"{name}-write", daemon=True)
        self._flusher = threading.Thread(target=self._run_flusher, name=f"{name}-flush",
                                         daemon=True)
        self._thread.start()
        self._flusher.start()
        self.commits = 0
        self.flushes = 0

    def submit(self, item: T) -> asyncio.Future[R]:
        """The item's result once its commit returned, or the exception that rolled it back."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put(_Pending(item, self._size(item), _in_loop(future, loop)))
        return future

    def wait(self, item: T) -> R:
        """`submit` for a caller on a thread of its own: blocks until the item's commit (and
        flush) returned; raises the exception that rolled it back."""
        future: concurrent.futures.Future[R] = concurrent.futures.Future()
        self._queue.put(_Pending(item, self._size(item), _in_thread(future)))
        return future.result()

    def close(self) -> None:
        """Commit and flush what is queued, then stop the writer and flusher threads."""
        self._queue.put(_STOP)
        self._thread.join()
        self._unflushed.put(_STOP)
        self._flusher.join()

    def _run(self) -> None:
        carry: _Pending[T, R] | object | None = None
        while True:
            first = carry if carry is not None else self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Pending)
            batch, carry = self._gather(first)
            self._commit(batch, more=carry is not None or not self._queue.empty())

    def _gather(self, first: _Pending[T, R]
                ) -> tuple[list[_Pending[T, R]], _Pending[T, R] | object | None]:
        """`first` and whatever else is queued now, within the limits; the item that did not
        fit (or the stop signal) is carried over to the next round."""
        batch, size = [first], first.size
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, None
            if not isinstance(item, _Pending) or size + item.size > self._max_bytes:
                return batch, item
            batch.append(item)
            size += item.size
        return batch, None

    def _commit(self, batch: list[_Pending[T, R]], more: bool) -> None:
        """Archive and commit a batch. On SQLite its log is flushed here when nothing else
        waits to be written, else by the flusher thread while the next batch is written."""
        try:
            with self._transaction() as session:
                connection = session.connection(
                    execution_options={FLUSH_LATER: True} if self._flush else {})
                self._decide(connection)
                rows = self._write(session, [pending.item for pending in batch])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting session to answer
            for pending in batch:
                pending.settle(exc)
            return
        self.commits += 1
        if self._flush is None:
            self._settled([_Committed(batch, rows)], None)
        elif more:
            self._unflushed.put(_Committed(batch, rows))
        else:   # one thread hand-off fewer, which a loaded machine makes costly
            self._settled([_Committed(batch, rows)], self._flushed())

    def _decide(self, connection: Connection) -> None:
        """At the first commit (which flushes as every other transaction does): whether the
        log of this database can be flushed after the commits, by us."""
        if not self._decided:
            path = wal_file(connection)
            self._flush = WalFlush(path) if path is not None else None
            self._decided = True

    def _run_flusher(self) -> None:
        """Flush once for every batch committed so far, then settle them; until stopped."""
        while True:
            items = [self._unflushed.get()]
            while True:
                try:
                    items.append(self._unflushed.get_nowait())
                except queue.Empty:
                    break
            committed = [item for item in items if isinstance(item, _Committed)]
            if committed:
                self._settled(committed, self._flushed())
            if len(committed) < len(items):
                return

    def _flushed(self) -> OSError | None:
        assert self._flush is not None
        try:
            with self._flushing:
                self._flush()
                self.flushes += 1
        except OSError as exc:
            log.error("flushing the database log of %s failed (%s): the messages of the "
                      "batches it covered are answered 451", self._flush.path, exc)
            return exc
        return None

    def _settled(self, committed: list[_Committed[T, R]], failure: OSError | None) -> None:
        """Answer each session of the batches, then hand their rows on."""
        for item in committed:
            for pending, row in zip(item.batch, item.rows, strict=True):
                pending.settle(row if failure is None else failure)
        rows = [row for item in committed for row in item.rows
                if not isinstance(row, Exception)]
        try:
            self._after_commit(rows)
        except Exception:  # the rows are committed: the sweep hands them on later
            log.exception("handing on %d committed message(s) failed", len(rows))


class GroupCommitWriter(GroupCommit[Intake, Archived]):
    """The intake's writer: each item an `Intake`, archived with `archive_many` (one query
    for earlier copies, one insert for the batch)."""

    def __init__(self, transaction: UnitOfWork, now: Callable[[], datetime],
                 after_commit: Callable[[Sequence[Archived]], None] = lambda _rows: None,
                 max_batch: int = MAX_BATCH, max_bytes: int = MAX_BATCH_BYTES) -> None:
        super().__init__(transaction,
                         lambda session, intakes: archive_many(session, intakes, now()),
                         lambda intake: len(intake.raw), after_commit, max_batch, max_bytes,
                         name="smtp")


def _in_loop(future: asyncio.Future[R], loop: asyncio.AbstractEventLoop
             ) -> Callable[[R | Exception], None]:
    def settle(outcome: R | Exception) -> None:
        loop.call_soon_threadsafe(_settle_in_loop, future, outcome)

    return settle


def _settle_in_loop(future: asyncio.Future[R], outcome: R | Exception) -> None:
    if future.done():  # cancelled: the session went away
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _in_thread(future: concurrent.futures.Future[R]) -> Callable[[R | Exception], None]:
    def settle(outcome: R | Exception) -> None:
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    return settle
