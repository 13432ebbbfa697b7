"""Flushing SQLite's write-ahead log outside its write lock, for the SMTP intake's group commit.

At synchronous=FULL (every other transaction of the gateway) SQLite flushes the write-ahead log
(WAL) inside COMMIT, while it holds the database's only write lock: the next batch of mail, and
any worker, waits for the disk. A transaction begun with `FLUSH_LATER` (`gateway.bootstrap`)
commits at synchronous=NORMAL instead: COMMIT appends the batch's frames to the WAL file and
returns without flushing it. `WalFlush` then flushes that file (fsync) in another thread, while
the next batch is already being written; only after it returned is any message of the batch
answered 250. One fsync covers every batch committed before it began, so under load several
batches share one flush as several messages share one commit.

Why this keeps the promise of "archive before acknowledge" (sqlite.org/wal.html,
sqlite.org/pragma.html#pragma_synchronous):

- A commit's frames are in the WAL file when COMMIT returns (written, not yet on disk); fsync of
  that file, from any descriptor, puts them on disk. After a power loss, recovery replays every
  committed transaction whose frames are intact: ours are.
- At NORMAL, SQLite flushes the WAL before each checkpoint copies frames into the database file,
  flushes the database file after it, and flushes the WAL header when the log restarts. So frames
  that a checkpoint took before our fsync are on disk in the database file, and a restarted log
  only overwrites frames that were.
- When the last connection closes, SQLite checkpoints (with those flushes) and deletes the WAL:
  a missing file means the data is in the database file, on disk.
- A WAL file created since the last flush has its directory entry flushed too, as SQLite does
  for a log it creates.

An fsync that fails leaves the batch's messages stored but not known to be on disk: each of them
is answered 451, the sender retries, and the retry is kept as a duplicate delivery.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection

log = logging.getLogger(__name__)

# SQLite's own wait for its write lock (`PRAGMA busy_timeout`, `gateway.bootstrap`).
BUSY_TIMEOUT_SECONDS = 30.0


def wal_file(connection: Connection) -> Path | None:
    """The WAL file of the SQLite file database `connection` is on (the gateway's SQLite
    connections are in WAL mode, `gateway.bootstrap`); None for PostgreSQL and in-memory
    databases, whose commits are durable (or not) when they return."""
    if connection.dialect.name != "sqlite":
        return None
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    if str(mode).lower() != "wal":
        return None
    return Path(f"{database}-wal").absolute()


class WalFlush:
    """fsync of one database's WAL file; called from one thread at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inode: int | None = None

    def __call__(self) -> None:
        """Every commit made before this call is on disk when it returns; raises OSError when
        the system could not say so."""
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return   # checkpointed into the database file, flushed, and removed at close
        try:
            os.fsync(descriptor)
            inode = os.fstat(descriptor).st_ino
        finally:
            os.close(descriptor)
        if inode != self._inode:
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            self._inode = inode


class WriterTurn:
    """The group commits of several processes on one SQLite database (`gateway as2` and
    `gateway web` run one worker process per CPU, each with its own) taking turns at writing.

    SQLite has one write lock per database. A writer that finds it taken waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between attempts (sqlite3.c,
    `sqliteDefaultBusyCallback`), while the lock is free again after a millisecond or two. So
    a group commit (from its second commit on: the first decides that the database is a SQLite
    file) first takes an exclusive `flock(2)` on a file of its own beside the database
    (`<database>-writers`) and holds it for its transaction; a writer that finds it taken
    tries again every `POLL_SECONDS`. No order among the waiting writers is promised.

    The turn only orders the gateway's group commits among themselves; every other writer
    still meets SQLite's own lock, which alone keeps the data safe. So when the file cannot be
    opened or locked (another user's database, a read-only folder), or another process keeps
    the turn past `timeout` (a stopped process), the transaction goes ahead without it, as it
    did before, and says so in the log. A separate file, not the database: over NFS, Linux
    emulates `flock` with the byte-range locks SQLite itself takes (flock(2), NOTES). Used
    from one thread at a time (the group commit's writer)."""

    POLL_SECONDS = 0.0005

    def __init__(self, database: Path, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.database = database.resolve()
        self.path = Path(f"{self.database}-writers")
        self._timeout = timeout
        self._descriptor: int | None = None
        self._unusable = False

    @contextmanager
    def __call__(self) -> Iterator[bool]:
        """Holds the turn for the `with` block; yields whether it was taken."""
        taken = self._take()
        try:
            yield taken
        finally:
            if taken and self._descriptor is not None:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def _take(self) -> bool:
        if self._unusable:
            return False
        try:
            if self._descriptor is None:
                # The database file's permissions, as SQLite gives its -wal and -shm files.
                mode = os.stat(self.database).st_mode & 0o666
                self._descriptor = os.open(self.path, os.O_RDONLY | os.O_CREAT, mode)
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        log.warning("another process has held %s for over %.0f s: writing "
                                    "without waiting for it", self.path, self._timeout)
                        return False
                    time.sleep(self.POLL_SECONDS)
        except OSError as exc:
            log.warning("the writers' turn file %s cannot be used (%s): the group commit "
                        "writes without it", self.path, exc)
            self._unusable = True
            return False

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
