"""The SMTP intake on SQLite commits without flushing the write-ahead log inside the write lock,
and flushes it itself before any 250: a message is answered only once the log that holds it was
flushed to disk; a failed flush answers 451; the rest of the gateway keeps synchronous=FULL."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.bootstrap import FLUSH_LATER, READ_ONLY, make_engine, make_session_factory
from gateway.channels.group_commit import GroupCommitWriter
from gateway.config import Settings
from gateway.persistence.schema import upgrade
from gateway.persistence.wal import WalFlush, wal_file
from gateway.services.ingest import Archived, Intake
from tests.integration.test_smtp import NOW, OURS, count, mail, smtp_server

SYNCHRONOUS = {1: "NORMAL", 2: "FULL"}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


class RecordedFsyncs:
    """os.fsync as the flush calls it, recording the path of each descriptor; it blocks while
    `gate` is clear, and raises `error` when one is set."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.error: OSError | None = None
        self._fsync = os.fsync

    def __call__(self, descriptor: int) -> None:
        assert self.gate.wait(30)
        if self.error is not None:
            raise self.error
        self.paths.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        self._fsync(descriptor)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> RecordedFsyncs:
    recorded = RecordedFsyncs()
    monkeypatch.setattr("gateway.persistence.wal.os.fsync", recorded)
    return recorded


def _synchronous(engine: Engine, **options: bool) -> str:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        connection = session.connection(execution_options=options)
        return SYNCHRONOUS[int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())]


def test_a_flush_later_transaction_commits_at_normal_and_every_other_at_full(
        sqlite_engine: Engine) -> None:
    assert _synchronous(sqlite_engine) == "FULL"
    assert _synchronous(sqlite_engine, **{FLUSH_LATER: True}) == "NORMAL"
    # The same pooled connection, given back: the next ordinary transaction flushes again.
    assert _synchronous(sqlite_engine) == "FULL"
    assert _synchronous(sqlite_engine, **{READ_ONLY: True}) == "FULL"


def test_the_log_file_is_that_of_a_sqlite_file_database_only(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        path = wal_file(connection)
    assert path == Path(f"{sqlite_engine.url.database}-wal").absolute()
    memory = make_engine(Settings("sqlite:///:memory:"))
    try:
        with memory.connect() as connection:
            assert wal_file(connection) is None
    finally:
        memory.dispose()


def test_the_flush_syncs_the_log_and_its_folder_once_per_new_log_file(
        sqlite_engine: Engine, fsyncs: RecordedFsyncs) -> None:
    with make_session_factory(sqlite_engine).begin() as session:
        path = wal_file(session.connection())
    assert path is not None
    assert path.exists()
    flush = WalFlush(path)
    flush()
    flush()
    assert fsyncs.paths == [str(path), str(path.parent), str(path)]
    path.unlink()   # as SQLite removes it at the last close, once checkpointed
    flush()
    assert fsyncs.paths == [str(path), str(path.parent), str(path)]


def test_no_message_is_settled_before_the_log_holding_it_was_flushed(
        sqlite_engine: Engine, fsyncs: RecordedFsyncs) -> None:
    writer = GroupCommitWriter(make_session_factory(sqlite_engine).begin, lambda: NOW)

    async def main() -> tuple[bool, int, list[Archived]]:
        # The first commit decides how the log is flushed; it flushes inside COMMIT.
        await writer.submit(Intake(mail(1), "smtp", "orders@acme.example"))
        fsyncs.gate.clear()
        futures = [writer.submit(Intake(mail(n), "smtp", "orders@acme.example"))
                   for n in range(2, 6)]
        await asyncio.sleep(0.5)
        waiting = not any(future.done() for future in futures)
        stored = count(sqlite_engine)   # committed already, visible to a reader
        fsyncs.gate.set()
        return waiting, stored, list(await asyncio.gather(*futures))

    try:
        waiting, stored, archived = asyncio.run(main())
    finally:
        fsyncs.gate.set()
        writer.close()
    assert waiting
    assert stored == 5
    assert len(archived) == 4
    assert all(a.duplicate_of is None for a in archived)
    assert f"{sqlite_engine.url.database}-wal" in fsyncs.paths
    assert writer.flushes >= 1


def test_a_failed_flush_answers_451_and_the_retry_is_kept_as_a_duplicate(
        sqlite_engine: Engine, fsyncs: RecordedFsyncs) -> None:
    transaction = make_session_factory(sqlite_engine).begin
    second = mail(2)
    with smtp_server(transaction) as running, running.client() as client:
        client.ehlo()
        assert client.sendmail("orders@acme.example", [OURS], mail(1)) == {}
        fsyncs.error = OSError(errno.EIO, "Input/output error")
        client.mail("orders@acme.example")
        client.rcpt(OURS)
        code, _text = client.data(second)
        assert code == 451
        fsyncs.error = None
        client.mail("orders@acme.example")
        client.rcpt(OURS)
        code, text = client.data(second)
    assert code == 250
    assert b"already received as #2" in text
    assert count(sqlite_engine) == 3
