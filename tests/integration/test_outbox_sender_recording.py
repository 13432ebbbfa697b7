"""How the outbox sender records, on SQLite and PostgreSQL: one commit per batch (the
outcomes go in the transaction that claims the next batch), the same statements whatever the
batch's size, and a long batch recording as it goes, so that the rows still waiting are seen
alive and a sender killed mid-batch repeats only what was sent since the last record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, select

from gateway.bootstrap import make_session_factory
from gateway.persistence.models import OutboundAttemptRow, OutboundMessageRow
from gateway.services import outbox_sender
from gateway.services.outbox_sender import OutboxSender, Transports
from outbound.transports.base import Delivered, Outgoing
from outbound.transports.filedrop import FileDrop
from tests.integration.test_outbox_sender import (
    START,
    Clock,
    Transactions,
    email,
    enqueue,
    settings_for,
)


@dataclass(slots=True)
class Traffic:
    """Statements sent through SQLAlchemy by their first words (an executemany counts once),
    COPY operations opened on the driver, and commits."""

    statements: Counter[str] = field(default_factory=Counter)
    texts: list[str] = field(default_factory=list)
    commits: int = 0


@pytest.fixture
def begin(engine: Engine) -> Transactions:
    return make_session_factory(engine).begin


@pytest.fixture
def traffic(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traffic]:
    seen = Traffic()

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.statements[" ".join(statement.split()[:2])] += 1
        seen.texts.append(statement)

    def committed(_conn: Any) -> None:
        seen.commits += 1

    copy = psycopg.Cursor.copy

    def counted_copy(cursor: psycopg.Cursor[Any], statement: Any, *args: Any,
                     **kwargs: Any) -> Any:
        seen.statements[" ".join(str(statement).split()[:2])] += 1
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", counted_copy)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", committed)
    yield seen
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "commit", committed)


def drain_counted(begin: Transactions, traffic: Traffic, tmp_path: Path, first: int,
                  rows: int, batch_size: int) -> tuple[Counter[str], int]:
    ids = enqueue(begin, *(email(n) for n in range(first, first + rows)))
    traffic.statements.clear()
    traffic.texts.clear()
    traffic.commits = 0
    settings = settings_for(tmp_path / str(first), None, batch_size=batch_size)
    report = OutboxSender(begin, Transports.from_settings(settings), settings, Clock(),
                          "test").drain()
    assert sorted(report.sent) == ids
    return Counter(traffic.statements), traffic.commits


def test_a_batch_costs_one_commit_and_the_same_statements_whatever_its_size(
        begin: Transactions, traffic: Traffic, tmp_path: Path) -> None:
    small, small_commits = drain_counted(begin, traffic, tmp_path, 1, 3, 100)
    large, large_commits = drain_counted(begin, traffic, tmp_path, 100, 60, 100)
    # The claim, then the outcomes recorded with the next claim (which finds nothing).
    assert small_commits == large_commits == 2
    assert small == large
    # First attempts that were sent: no OUTBOUND_FAILED exception to look for.
    assert not [text for text in traffic.texts if "exceptions" in text]
    _, commits = drain_counted(begin, traffic, tmp_path, 200, 25, 10)
    assert commits == 3 + 1   # three batches, the last one's outcomes on their own


class Watching:
    """The drop folder, a slow one: each message takes a second of the clock, and before
    each the rows are looked at in a transaction of their own."""

    def __init__(self, folder: Path, begin: Transactions, clock: Clock) -> None:
        self.files = FileDrop(folder)
        self.begin = begin
        self.clock = clock
        self.seen: list[dict[int, tuple[str, datetime]]] = []

    def send(self, message: Outgoing) -> Delivered:
        with self.begin() as session:
            self.seen.append({row.id: (row.state, _utc(row.updated_at)) for row in
                              session.execute(select(OutboundMessageRow.id,
                                                     OutboundMessageRow.state,
                                                     OutboundMessageRow.updated_at))})
        self.clock.advance(1)
        return self.files.send(message)

    def close(self) -> None:
        self.files.close()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.parametrize(("every", "after_seconds"), [(100, 0.0), (2, 3600.0)])
def test_a_long_batch_records_as_it_goes_and_keeps_its_waiting_rows_alive(
        begin: Transactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int,
        after_seconds: float) -> None:
    monkeypatch.setattr(outbox_sender, "RECORD_EVERY", every)
    monkeypatch.setattr(outbox_sender, "RECORD_AFTER_SECONDS", after_seconds)
    recorded_every = 1 if after_seconds == 0 else every
    ids = enqueue(begin, *(email(n) for n in range(1, 6)))
    clock = Clock()
    settings = settings_for(tmp_path, None, batch_size=10)
    watching = Watching(tmp_path / "outbox", begin, clock)
    transports = Transports(watching, None, None)
    report = OutboxSender(begin, transports, settings, clock, "test").drain()
    assert sorted(report.sent) == ids
    for index, rows in enumerate(watching.seen):
        recorded = index - index % recorded_every   # rows sent and recorded before this one
        assert [rows[i][0] for i in ids] == ["sent"] * recorded + ["sending"] * (5 - recorded)
        waiting_since = {rows[i][1] for i in ids[recorded:]}
        # Claimed at START; each record since tells the waiting rows their sender is alive.
        if recorded == 0:
            assert waiting_since == {START}
        else:
            assert min(waiting_since) > START
    with begin() as session:
        attempts = session.scalars(select(OutboundAttemptRow.outbound_id)).all()
    assert sorted(attempts) == ids


def test_a_pass_stopped_after_its_batches_records_the_last_one_and_claims_no_more(
        begin: Transactions, traffic: Traffic, tmp_path: Path) -> None:
    ids = enqueue(begin, *(email(n) for n in range(1, 26)))
    traffic.commits = 0
    settings = settings_for(tmp_path, None, batch_size=10)
    report = OutboxSender(begin, Transports.from_settings(settings), settings, Clock(),
                          "test").drain(max_batches=1)
    assert sorted(report.sent) == ids[:10]
    assert traffic.commits == 2   # the claim, then the outcomes on their own
    with begin() as session:
        states = dict(session.execute(
            select(OutboundMessageRow.id, OutboundMessageRow.state)).all())
    assert [states[i] for i in ids] == ["sent"] * 10 + ["pending"] * 15
