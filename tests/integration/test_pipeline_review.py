"""Review findings on the Celery pipeline: each test failed before its fix."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import PipelineSettings, Settings
from gateway.errors import InvalidTransition
from gateway.persistence.models import InboundMessage, LineVersionRow
from gateway.services.inbound import release
from gateway.services.ingest import Intake, archive_many
from gateway.services.pipeline import ProcessingDeferred, process_ids
from gateway.tasks.app import PROCESS_MESSAGES, create_app
from tests.integration.conftest import _postgres_settings
from tests.integration.test_pipeline import TODAY, order_response, prepare


@pytest.fixture
def postgres() -> Iterator[Settings]:
    yield from _postgres_settings()


def archived(engine: Engine, raw: bytes) -> int:
    with make_session_factory(engine).begin() as session:
        (message,) = archive_many(session, [Intake(raw, "cli", "orders@acme.example",
                                                   "m.edi")], datetime.now(UTC))
    return message.message_id


def test_give_up_with_the_database_still_down_is_logged_not_raised(caplog):
    """Past the retry cap with the database unreachable, `give_up` cannot record `failed`:
    the task logs that the sweeper takes the messages again, rather than ending in an
    OperationalError traceback (its statement and parameters in the worker's log)."""
    settings = Settings("postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                        broker_url="redis://127.0.0.1:6379/11")
    app = create_app(settings, PipelineSettings(max_retries=0))
    try:
        result = app.tasks[PROCESS_MESSAGES].apply(args=[[1, 2]])
    finally:
        app.close()
    assert result.state == "SUCCESS", result.result
    assert result.result == 0
    assert "cannot be marked failed" in caplog.text


def test_a_transient_error_is_not_counted_as_a_start_that_never_finished(postgres, tmp_path):
    """A lock timeout (a transient error) after the claim committed: the message is not
    `failed` as "started N times and never finished" before the retry cap is reached (the
    defaults allow 8 retries and 5 attempts)."""
    engine = prepare(postgres, tmp_path, 1)
    message_id = archived(engine, order_response(0))
    waiting = make_engine(Settings(postgres.database_url + "?options=-c%20lock_timeout%3D200"))
    transaction = make_session_factory(waiting).begin
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT id FROM order_lines FOR UPDATE"))
            for _ in range(4):
                with pytest.raises(ProcessingDeferred, match="LockNotAvailable"):
                    process_ids(transaction, [message_id], TODAY, lambda: datetime.now(UTC),
                                max_attempts=2)
            holder.rollback()
        with engine.connect() as connection:
            state, reason, attempts = connection.execute(
                select(InboundMessage.state, InboundMessage.state_reason,
                       InboundMessage.attempts)).one()
        assert (state, reason, attempts) == ("received", None, 0)
        reports = process_ids(transaction, [message_id], TODAY, lambda: datetime.now(UTC),
                              max_attempts=2)
        assert [r.state.value for r in reports] == ["reconciled"]
    finally:
        waiting.dispose()
        engine.dispose()


def test_two_retries_of_one_failed_message_at_once_process_it_once(postgres, tmp_path: Path):
    """`gateway messages retry` run twice at once (two operators, a cron job): the second
    waits for the first and then finds the message handled, instead of processing it again
    (a second set of line versions)."""
    engine = prepare(postgres, tmp_path, 1)
    message_id = archived(engine, order_response(0))
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbound_messages SET state = 'failed', "
                                "state_reason = 'gave up'"))
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    second: list[object] = []

    def retry_again() -> None:
        try:
            with sessions.begin() as session:
                second.append(release(session, message_id, TODAY, now).state.value)
        except Exception as exc:  # noqa: BLE001 - examined below
            second.append(exc)

    with sessions.begin() as session:
        assert release(session, message_id, TODAY, now).state.value == "reconciled"
        thread = threading.Thread(target=retry_again)
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(engine) and thread.is_alive():
            assert time.monotonic() < deadline, "the second retry never waited"
            time.sleep(0.02)
    thread.join(30)
    assert len(second) == 1, second
    assert isinstance(second[0], InvalidTransition), second
    with engine.connect() as connection:
        versions = connection.execute(select(func.count()).select_from(LineVersionRow)
                                      .where(LineVersionRow.message_id == message_id)
                                      ).scalar_one()
    assert versions == 40       # one confirmation per line, once
    engine.dispose()


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar_one())


def test_messages_retry_goes_on_past_a_message_that_still_fails(tmp_path, monkeypatch):
    """`gateway messages retry --all` with one message whose processing still raises: that
    one is reported, stays `failed`, the others are retried, and the exit status is 1 (as
    the command's help says), not a traceback that leaves the rest unretried."""
    from click.testing import CliRunner

    import gateway.services.ingest as ingest_module
    from gateway.cli import cli

    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    engine = prepare(settings, tmp_path, 2)
    broken, fine = archived(engine, order_response(0)), archived(engine, order_response(1))
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbound_messages SET state = 'failed', "
                                "state_reason = 'gave up'"))
    real = ingest_module.process_batch

    def process_batch(session, message_ids, today, now):  # type: ignore[no-untyped-def]
        if broken in message_ids:
            raise RuntimeError("still broken")
        return real(session, message_ids, today, now)

    monkeypatch.setattr(ingest_module, "process_batch", process_batch)
    result = CliRunner().invoke(cli, ["messages", "retry", "--all"],
                                env={"GATEWAY_DATABASE_URL": settings.database_url,
                                     "GATEWAY_BROKER_URL": ""})
    assert isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    assert f"message #{broken}: failed" in result.output
    assert f"message #{fine}: reconciled" in result.output
    with engine.connect() as connection:
        assert dict(connection.execute(select(InboundMessage.id, InboundMessage.state))
                    .all()) == {broken: "failed", fine: "reconciled"}
    engine.dispose()


def test_each_app_runs_its_own_tasks_not_the_first_apps():
    """`app.task` shares a task with every Celery app of the process by default: a second
    `create_app` (another database, queue or retry cap) ran the first one's closures."""
    first = create_app(Settings("sqlite:///first.db", broker_url="redis://127.0.0.1:6379/11"),
                       PipelineSettings(queue="first"))
    second = create_app(Settings("sqlite:///second.db", broker_url="redis://127.0.0.1:6379/11"),
                        PipelineSettings(queue="second"))
    try:
        assert first.tasks[PROCESS_MESSAGES].run is not second.tasks[PROCESS_MESSAGES].run
        assert second.tasks[PROCESS_MESSAGES].max_retries == PipelineSettings().max_retries
        assert second.tasks[PROCESS_MESSAGES].app is second
    finally:
        first.close()
        second.close()
