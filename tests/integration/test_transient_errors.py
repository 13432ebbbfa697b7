"""One behaviour for a transient error, at every entry point of the processing path, against a
real PostgreSQL lock timeout (docs/architecture.md, "Transient and permanent errors").

A second connection holds every order line `FOR UPDATE`; the gateway's connections run with
`lock_timeout = 200ms`, so its write step fails with PostgreSQL's own LockNotAvailable (an
OperationalError). Each entry point retries with back-off up to the cap: released in time, the
message is processed; past the cap, a message on its first processing is `failed` with the
reason for IT alone (no MESSAGE_FAILED for the buyer), and an operator's replay, release or
retry is rolled back and leaves the message as it was. Also here: a replay whose chain grows
between its read and its write (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, text

import gateway.services.replay as replay_module
import gateway.tasks.app as tasks_module
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import PipelineSettings, Settings
from gateway.persistence.models import ExceptionRow, InboundMessage, LineVersionRow
from gateway.services.inbound import release
from gateway.services.ingest import Intake, ingest
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.pipeline import ProcessingDeferred
from gateway.services.processing import ReadBatch
from gateway.services.replay import replay
from gateway.services.unit_of_work import UnitOfWork
from gateway.tasks.app import PROCESS_MESSAGES, create_app
from tests.integration.conftest import _postgres_settings
from tests.integration.test_pipeline import (
    LINES_PER_ORDER,
    archived,
    order_response,
    prepare,
)

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
# Two retries, and no real waiting: the waits asked for are recorded instead.
POLICY = PipelineSettings(max_retries=2, retry_base_seconds=0.01, retry_max_seconds=0.02)
GAVE_UP = "gave up after 2 retries on a transient error: LockNotAvailable"


@pytest.fixture
def postgres() -> Iterator[Settings]:
    yield from _postgres_settings()


@pytest.fixture
def engine(postgres: Settings, tmp_path: Path) -> Iterator[Engine]:
    engine = prepare(postgres, tmp_path, 1)
    yield engine
    engine.dispose()


@pytest.fixture
def impatient(postgres: Settings) -> Iterator[Settings]:
    """The same database, reached by connections that wait 200 ms for a row lock."""
    return Settings(postgres.database_url + "?options=-c%20lock_timeout%3D200")


@pytest.fixture
def transaction(impatient: Settings) -> Iterator[UnitOfWork]:
    engine = make_engine(impatient)
    yield make_session_factory(engine).begin
    engine.dispose()


@contextmanager
def lines_locked(engine: Engine) -> Iterator[Connection]:
    """Every order line locked by another transaction until the block ends (or the test
    rolls the holder back to let the gateway through)."""
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM order_lines FOR UPDATE"))
        yield holder
        holder.rollback()


class Waits:
    """A `wait` for the retry loops: records each back-off, and can end the lock holder's
    transaction at the first one (the lock taken away while the gateway waits)."""

    def __init__(self, holder: Connection | None = None) -> None:
        self.delays: list[float] = []
        self.holder = holder

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        if self.holder is not None:
            self.holder.rollback()
            self.holder = None
        return False


def state_of(engine: Engine, message_id: int) -> tuple[str, str | None, int]:
    with engine.connect() as connection:
        state, reason = connection.execute(
            select(InboundMessage.state, InboundMessage.state_reason)
            .where(InboundMessage.id == message_id)).one()
        versions = connection.execute(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.message_id == message_id)).scalar_one()
    return state, reason, versions


def message_failed_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ExceptionRow).where(
            ExceptionRow.code == "MESSAGE_FAILED")).scalar_one()


def set_failed(engine: Engine, message_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbound_messages SET state = 'failed', "
                                "state_reason = 'gave up earlier' WHERE id = :id"),
                           {"id": message_id})


# -- gateway ingest --------------------------------------------------------------------------


def test_ingest_retries_a_lock_timeout_and_processes_once_the_lock_is_gone(
        engine: Engine, transaction: UnitOfWork) -> None:
    with lines_locked(engine) as holder:
        waits = Waits(holder)
        [report] = ingest(transaction, [Intake(order_response(0), "cli", "orders@acme.example")],
                          TODAY, NOW, settings=POLICY, wait=waits)
    assert len(waits.delays) == 1
    assert report.state.value == "reconciled"
    assert state_of(engine, report.message_id) == ("reconciled", None, LINES_PER_ORDER)


def test_ingest_past_the_retry_cap_fails_the_message_for_it_alone(
        engine: Engine, transaction: UnitOfWork) -> None:
    waits = Waits()
    with lines_locked(engine):
        [report] = ingest(transaction, [Intake(order_response(0), "cli", "orders@acme.example")],
                          TODAY, NOW, settings=POLICY, wait=waits)
    assert len(waits.delays) == POLICY.max_retries
    assert report.state.value == "failed"
    state, reason, versions = state_of(engine, report.message_id)
    assert (state, versions) == ("failed", 0)
    assert reason is not None
    assert reason.startswith(GAVE_UP)
    assert message_failed_count(engine) == 0   # the error says nothing about the message


# -- the embedded worker of `gateway run` ----------------------------------------------------


def test_the_embedded_worker_retries_a_lock_timeout_then_fails_past_the_cap(
        engine: Engine, transaction: UnitOfWork) -> None:
    first, second = archived(engine, order_response(0)), archived(engine, order_response(0, "b"))
    worker = ReceivedWorker(transaction, None, lambda: TODAY, lambda: NOW, settings=POLICY)
    with lines_locked(engine):
        assert worker.run_once() == 2
    for message_id in (first, second):
        state, reason, _versions = state_of(engine, message_id)
        assert state == "failed"
        assert reason is not None
        assert reason.startswith(GAVE_UP)
    assert message_failed_count(engine) == 0


def test_the_embedded_worker_processes_once_the_lock_is_released_while_it_waits(
        engine: Engine, transaction: UnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = archived(engine, order_response(0))
    worker = ReceivedWorker(transaction, None, lambda: TODAY, lambda: NOW, settings=POLICY)
    with lines_locked(engine) as holder:
        waits = Waits(holder)
        # The worker waits on its stop event (`stop` interrupts the back-off).
        monkeypatch.setattr(worker._stopping, "wait", waits)
        assert worker.run_once() == 1
    assert len(waits.delays) == 1
    assert state_of(engine, message_id) == ("reconciled", None, LINES_PER_ORDER)


# -- the Celery task -------------------------------------------------------------------------


def test_the_celery_task_retries_a_lock_timeout_then_fails_past_the_cap(
        engine: Engine, impatient: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = archived(engine, order_response(0))
    made: list[Engine] = []     # the task's own engine, disposed at the end

    def make_and_keep(*args: Any, **kwargs: Any) -> Engine:
        made.append(make_engine(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tasks_module, "make_engine", make_and_keep)
    # Run eagerly (`apply`): each `task.retry` runs the task again at once, no broker needed.
    app = create_app(Settings(impatient.database_url, broker_url="redis://127.0.0.1:6379/11"),
                     POLICY)
    try:
        with lines_locked(engine):
            result = app.tasks[PROCESS_MESSAGES].apply(args=[[message_id]])
    finally:
        app.close()
        for made_engine in made:
            made_engine.dispose()
    assert result.state == "SUCCESS", result.result
    assert result.result == 1                  # one message given up
    state, reason, versions = state_of(engine, message_id)
    assert (state, versions) == ("failed", 0)
    assert reason is not None
    assert reason.startswith(GAVE_UP)
    assert message_failed_count(engine) == 0


# -- gateway messages release / retry, gateway replay ----------------------------------------


def test_release_past_the_retry_cap_leaves_the_message_as_it_was(
        engine: Engine, transaction: UnitOfWork) -> None:
    message_id = archived(engine, order_response(0))
    set_failed(engine, message_id)
    waits = Waits()
    with lines_locked(engine), pytest.raises(ProcessingDeferred, match="LockNotAvailable"):
        release(transaction, message_id, TODAY, NOW, POLICY, waits)
    assert len(waits.delays) == POLICY.max_retries
    assert state_of(engine, message_id) == ("failed", "gave up earlier", 0)


def test_release_retries_a_lock_timeout_and_processes_once_the_lock_is_gone(
        engine: Engine, transaction: UnitOfWork) -> None:
    message_id = archived(engine, order_response(0))
    set_failed(engine, message_id)
    with lines_locked(engine) as holder:
        waits = Waits(holder)
        report = release(transaction, message_id, TODAY, NOW, POLICY, waits)
    assert len(waits.delays) == 1
    assert report.state.value == "reconciled"
    assert state_of(engine, message_id)[::2] == ("reconciled", LINES_PER_ORDER)


def test_replay_past_the_retry_cap_keeps_what_the_message_did(
        engine: Engine, transaction: UnitOfWork) -> None:
    [done] = ingest(transaction, [Intake(order_response(0), "cli", "orders@acme.example")],
                    TODAY, NOW, settings=POLICY)
    before = state_of(engine, done.message_id)
    assert before[::2] == ("reconciled", LINES_PER_ORDER)
    waits = Waits()
    with lines_locked(engine), pytest.raises(ProcessingDeferred, match="LockNotAvailable"):
        replay(transaction, done.message_id, TODAY, NOW, POLICY, waits)
    assert len(waits.delays) == POLICY.max_retries
    assert state_of(engine, done.message_id) == before


# -- a replay's chain, read outside its write transaction ------------------------------------


def test_a_message_that_joins_the_chain_between_read_and_write_is_replayed_too(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaying the first response to an order while a second response to the same lines
    is processed between the replay's read and its write: the write step finds the chain
    grown under its locks, reads the newcomer inside, and processes both again in arrival
    order, instead of leaving the second one sent back to `received` with its versions gone."""
    engine = prepare(settings, tmp_path, 1)
    transaction = make_session_factory(engine).begin
    try:
        [first] = ingest(transaction, [Intake(order_response(0), "cli", "orders@acme.example")],
                         TODAY, NOW)
        real = replay_module.read_batch
        later: list[int] = []

        def read_then_another_arrives(*args: Any, **kwargs: Any) -> ReadBatch:
            read = real(*args, **kwargs)
            if not later:
                [second] = ingest(transaction, [Intake(order_response(0, "b"), "cli",
                                                       "orders@acme.example")], TODAY, NOW)
                later.append(second.message_id)
            return read

        monkeypatch.setattr(replay_module, "read_batch", read_then_another_arrives)
        report = replay(transaction, first.message_id, TODAY, NOW)
        assert report.state.value == "reconciled"
        assert state_of(engine, first.message_id)[::2] == ("reconciled", LINES_PER_ORDER)
        assert state_of(engine, later[0])[::2] == ("reconciled", LINES_PER_ORDER)
        with engine.connect() as connection:
            newest = connection.execute(text(
                "SELECT message_id FROM line_versions ORDER BY id DESC LIMIT 1")).scalar_one()
        assert newest == later[0]               # applied in arrival order: the second last
    finally:
        engine.dispose()
