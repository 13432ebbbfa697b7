"""Processing spread over worker processes, in arrival order where batches share an order.

One process that reads and writes its batches (`pipeline.process_in_order`) is held to one
core by its own Python code, however the server keeps up (docs/benchmarks.md). On
PostgreSQL, `gateway ingest` hands its batches to worker processes instead, each with its own
connections, forked from this one (so nothing is pickled but the ids, keys and reports).

A worker claims its batch and reads it (parse, map, the order lines) as
`process_in_order` does, then tells this process what its write may share with another
batch's (`processing.write_keys`: the orders its documents name, the document numbers it
sends, ...), and writes only when told to (`Turns`): once every earlier batch has told its
keys and none that shares one is still unwritten. So batches that touch the same order or
send the same document number are written one after the other in arrival order, as one
process writes them; batches that share nothing are written side by side, as two Celery
workers write. The row locks of the write step (`processing.write_batch`) stay what keeps
two writes apart; the turns only add the order.

A transient error, or a worker lost (killed, out of memory), in batch i stops the spread at
i: the batches before it finish, the later ones not yet written are given back (their start
taken back, `pipeline.unclaim`), and every message still `received` is then processed by
this process, in arrival order, through `pipeline.process_retrying` with its back-off: what
is left is processed as `gateway ingest` processed everything before.
"""

from __future__ import annotations

import gc
import io
import logging
import multiprocessing
import pickle
import signal
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkProcess
from typing import Any, cast

from gateway.config import PipelineSettings
from gateway.services.pipeline import (
    TRANSIENT,
    Ahead,
    Wait,
    as_listed,
    claim,
    describe,
    groups_of,
    process_group,
    process_retrying,
    read_ahead,
    unclaim,
)
from gateway.services.processing import MessageReport, write_keys
from gateway.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
# A batch whose keys could not be told (its read failed): it shares something with every batch.
EVERYTHING: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Spread:
    """How many worker processes, and how a worker opens the database afresh: its unit of
    work and how to close it (`gateway.bootstrap.open_database`)."""

    processes: int
    connect: Callable[[], tuple[UnitOfWork, Callable[[], None]]]


@dataclass(slots=True)
class Turns:
    """Which batches may be written now. Batch i may be written once every batch before it
    told its keys (what its write may share) and none of those that share a key with it is
    still unwritten; `EVERYTHING` shares a key with every batch. Pure: the spread's
    coordinator feeds it what the workers say."""

    keys: dict[int, frozenset[str] | None] = field(default_factory=dict)
    written: set[int] = field(default_factory=set)
    released: set[int] = field(default_factory=set)
    stopped_at: int | None = None

    def told(self, index: int, keys: frozenset[str] | None) -> None:
        self.keys[index] = keys

    def wrote(self, index: int) -> None:
        self.written.add(index)

    def stop(self, index: int) -> None:
        """Batch `index` will not be written here (its worker stopped or was lost), nor any
        later batch not yet released."""
        self.stopped_at = index if self.stopped_at is None else min(self.stopped_at, index)
        self.released.add(index)

    def ready(self) -> list[int]:
        """The batches told, not yet released, that may be written now (each released once)."""
        ready = [index for index in sorted(self.keys)
                 if index not in self.released and not self.stopped(index)
                 and all(self._clear(before, self.keys[index]) for before in range(index))]
        self.released.update(ready)
        return ready

    def given_back(self) -> list[int]:
        """The batches told, not released, that come after a stop: never to be written here."""
        back = [index for index in sorted(self.keys)
                if index not in self.released and self.stopped(index)]
        self.released.update(back)
        return back

    def stopped(self, index: int) -> bool:
        """Whether batch `index` comes after a stop: it is not to be handed out or written."""
        return self.stopped_at is not None and index > self.stopped_at

    def _clear(self, before: int, keys: frozenset[str] | None) -> bool:
        if before in self.written:
            return True
        if before not in self.keys:
            return False
        earlier = self.keys[before]
        return earlier is not None and keys is not None and earlier.isdisjoint(keys)


def process_spread(transaction: UnitOfWork, spread: Spread, message_ids: list[int],
                   today: date, clock: Callable[[], datetime], settings: PipelineSettings,
                   wait_for: Wait) -> list[MessageReport]:
    """Process archived messages in worker processes (above); a report for each, in order."""
    size = settings.batch_size
    batches = [message_ids[start : start + size] for start in range(0, len(message_ids), size)]
    reports: dict[int, MessageReport] = {}
    workers: list[_Worker] = []
    try:
        _start(workers, min(spread.processes, len(batches)), spread, today, clock, settings)
        _coordinate(workers, batches, reports)
    finally:
        _end(workers)
    rest = [message_id for message_id in message_ids if message_id not in reports]
    if rest:
        log.warning("%d message(s) left to this process after the spread stopped", len(rest))
        for report in process_retrying(transaction, rest, today, clock, settings,
                                       wait=wait_for):
            reports[report.message_id] = report
    return as_listed(transaction, message_ids, reports)


def _start(workers: list[_Worker], count: int, spread: Spread, today: date,
           clock: Callable[[], datetime], settings: PipelineSettings) -> None:
    context = multiprocessing.get_context("fork")
    for number in range(count):
        ours, theirs = context.Pipe()
        # The child inherits this process's ends of its pipe and of the pipes of the workers
        # before it: it closes them, else a worker would never see its pipe's end when this
        # process closes its own.
        process = context.Process(
            target=_work, name=f"gateway-spread-{number}", daemon=True,
            args=(theirs, [ours, *(w.connection for w in workers)], spread.connect, today,
                  clock, settings))
        process.start()
        theirs.close()
        workers.append(_Worker(process, ours))


@dataclass(slots=True)
class _Worker:
    process: ForkProcess
    connection: Connection
    batch: int | None = None


def _coordinate(workers: list[_Worker], batches: list[list[int]],
                reports: dict[int, MessageReport]) -> None:
    turns = Turns()
    following = iter(range(len(batches)))

    def hand_out(worker: _Worker) -> None:
        index = next(following, None)
        if index is not None and not turns.stopped(index):
            worker.batch = index
            _say(worker.connection, ("read", index, batches[index]))
        else:
            worker.batch = None

    for worker in workers:
        hand_out(worker)
    while any(worker.batch is not None for worker in workers):
        busy = {worker.connection: worker for worker in workers if worker.batch is not None}
        for connection in wait(list(busy)):
            worker = busy[connection]  # type: ignore[index]
            said = _receive(worker)
            if said[0] == "told":
                turns.told(said[1], said[2])
            elif said[0] in ("wrote", "given back"):
                turns.wrote(said[1])
                reports.update((report.message_id, report) for report in said[2])
                hand_out(worker)
            else:  # "stopped" by a transient error, or "lost"
                log.warning("spread stopped at batch %d: %s", said[1], said[3])
                reports.update((report.message_id, report) for report in said[2])
                turns.stop(said[1])
                if said[0] == "stopped":
                    hand_out(worker)
        by_batch = {worker.batch: worker for worker in workers if worker.batch is not None}
        for index in turns.ready():
            _say(by_batch[index].connection, ("write", index))
        for index in turns.given_back():
            _say(by_batch[index].connection, ("give back", index))


def _receive(worker: _Worker) -> tuple[Any, ...]:
    """What the worker said; a worker lost (its end of the pipe closed) stops the spread at
    its batch, whose claimed starts stay counted (`pipeline.claim`: they never finished)."""
    index = worker.batch
    try:
        said = _loads(worker.connection.recv_bytes())
    except (EOFError, OSError):
        worker.batch = None
        worker.process.join(5)   # its pipe closes as it exits: the exit code comes just after
        return ("lost", index, [], f"worker process {worker.process.name} was lost "
                f"(exit code {worker.process.exitcode})")
    return said


def _end(workers: list[_Worker]) -> None:
    """Tell every worker to end and close the pipes (a worker waiting for its turn gives its
    batch back; one writing finishes its write), then wait for them: 10 s, then SIGTERM."""
    for worker in workers:
        _say(worker.connection, ("end",))
        worker.connection.close()
    for worker in workers:
        worker.process.join(10)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join()


def _work(connection: Connection, inherited: list[Connection],
          connect: Callable[[], tuple[UnitOfWork, Callable[[], None]]], today: date,
          clock: Callable[[], datetime], settings: PipelineSettings) -> None:
    """A worker process: read the batch it is handed, tell its keys, write it when told.
    Ctrl-C reaches the whole process group; the calling process decides what it ends
    (`_end`), so a worker ignores it rather than stop in the middle of a batch."""
    # What the worker inherited (the chunk's bytes, the caller's data) is moved out of the
    # garbage collector's view: its collections would walk all of it again and again, about
    # a fifth of a worker's CPU in `gateway bench reconcile` (gc.freeze, after a fork).
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:
        other.close()
    # A terminal display of the calling process (rich's progress bar) may have put proxies in
    # place of the standard streams: a worker's log lines go to the streams themselves.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    transaction, close = connect()
    try:
        while (order := _said(connection))[0] == "read":
            _, index, batch = order
            _say(connection, _one_batch(connection, transaction, index, batch, today, clock,
                                        settings))
    finally:
        close()
        connection.close()


def _said(connection: Connection) -> tuple[Any, ...]:
    """The next order; the coordinator gone (its end closed) is the order to end."""
    try:
        return _loads(connection.recv_bytes())
    except (EOFError, OSError):
        return ("end",)


def _say(connection: Connection, message: tuple[Any, ...]) -> None:
    with suppress(OSError):  # the other end gone: a lost worker, or the coordinator ended
        connection.send_bytes(_dumps(message))


class _Pickler(pickle.Pickler):
    """Pickles the reports' frozen dataclasses field by field. The compiled build's (mypyc)
    have no `__setstate__`: pickle's default sets their slots through `setattr`, which a
    frozen dataclass refuses (`FrozenInstanceError` on load)."""

    def reducer_override(self, obj: Any) -> Any:
        if is_dataclass(obj) and not isinstance(obj, type) \
                and obj.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return _rebuilt, (type(obj), {f.name: getattr(obj, f.name) for f in fields(obj)})
        return NotImplemented


def _rebuilt(kind: type[Any], values: dict[str, Any]) -> Any:
    made = cast(Any, kind).__new__(kind)
    for name, value in values.items():
        object.__setattr__(made, name, value)   # what a frozen dataclass's __init__ does
    return made


def _dumps(message: tuple[Any, ...]) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(message)
    return buffer.getvalue()


def _loads(data: bytes) -> tuple[Any, ...]:
    # Only ever bytes our own worker processes (or this one) pickled.
    message: tuple[Any, ...] = pickle.loads(data)
    return message


def _one_batch(connection: Connection, transaction: UnitOfWork, index: int, batch: list[int],
               today: date, clock: Callable[[], datetime], settings: PipelineSettings
               ) -> tuple[Any, ...]:
    """Claim, read, tell the keys, then write or give back one batch. The claim names no
    worker, as `gateway ingest`'s own never did: a Celery worker's take-over of lost workers'
    messages (`worker_liveness`) would take a name without a heartbeat for a lost one."""
    claimed: list[int] = []
    # What was done, reported whatever stops the batch: a group written before a transient
    # error in the next one stays written.
    reports: list[MessageReport] = []
    try:
        with transaction() as session:
            claimed_now = claim(session, batch, settings.max_attempts, clock())
        claimed, reports = claimed_now.process, list(claimed_now.failed)
        read = [read_ahead(transaction, group, today, clock) for group
                in groups_of(claimed, claimed_now.alone, settings.batch_size)]
        _say(connection, ("told", index, _keys(read)))
        if _said(connection)[0] != "write":
            # Given back after a stop, or the spread ended: written by no one here.
            unclaim(transaction, claimed)
            return ("given back", index, reports)
        for ahead in read:
            reports += process_group(transaction, ahead.group, today, clock, ahead)
        return ("wrote", index, _sent_back(reports))
    except TRANSIENT as exc:
        unclaim(transaction, claimed)
        return ("stopped", index, _sent_back(reports), describe(exc))


def _sent_back(reports: list[MessageReport]) -> list[MessageReport]:
    """The reports without the documents each one applied (`answered`, every line of them):
    the write step's acknowledgements were made from them already, and pickling them cost
    the worker and the calling process more than the rest of the report."""
    for report in reports:
        report.answered = []
    return reports


def _keys(read: list[Ahead]) -> frozenset[str] | None:
    keys: set[str] = set()
    for ahead in read:
        if ahead.batch is None:
            return EVERYTHING
        keys |= write_keys(ahead.batch)
    return frozenset(keys)
