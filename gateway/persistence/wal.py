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

import os
from pathlib import Path

from sqlalchemy import Connection


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
