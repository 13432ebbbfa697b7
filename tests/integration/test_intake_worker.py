"""The in-process intake worker (`ReceivedWorker`, the worker of `gateway run`) against a real
database, on SQLite and PostgreSQL: a database that goes away is not the message's fault, and a
message that never finished processing is failed rather than taken again forever."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.exc import InterfaceError, SQLAlchemyError

from gateway.bootstrap import make_session_factory
from gateway.config import PipelineSettings
from gateway.persistence.models import InboundMessage
from gateway.runtime import SWITCH_INTERVAL_WITH_INTAKE
from gateway.services.ingest import Intake, archive
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.pipeline import ProcessingDeferred
from tests.integration.test_imap import mail, messages

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_lost_connection_while_processing_marks_no_message_failed(engine: Engine) -> None:
    # psycopg reports a connection that died under it as InterfaceError ("the connection is
    # closed"), not OperationalError: the worker took that as the message's own failure.
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        ids = [archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"), NOW)
               .message_id for n in range(2)]
    failing = {"left": 2}

    def connection_lost(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if failing["left"] and statement.lstrip().startswith("SELECT inbound_messages.id, "
                                                             "inbound_messages.state, "
                                                             "inbound_messages.raw"):
            failing["left"] -= 1
            raise InterfaceError(statement, {}, Exception("the connection is closed"))

    event.listen(engine, "before_cursor_execute", connection_lost)
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW,
                            settings=PipelineSettings(retry_base_seconds=0.01))
    try:
        for _attempt in range(5):
            try:
                if worker.run_once() == 0:
                    break
            except (SQLAlchemyError, ProcessingDeferred):
                continue   # what the worker's loop does: wait, then try again
    finally:
        event.remove(engine, "before_cursor_execute", connection_lost)
    states = {m.id: m.state for m in messages(engine)}
    assert sorted(states) == ids
    assert "failed" not in states.values()
    assert "received" not in states.values()


def test_the_in_process_worker_fails_a_message_that_never_finished(engine: Engine) -> None:
    # `gateway run` has no broker to redeliver: a message whose processing took the process
    # down (out of memory, a crash in a native reader) would be taken again at every restart
    # and hold back every later one. Its starts are counted like a Celery worker's.
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        poison, fine = (archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"),
                                NOW).message_id for n in range(2))
        session.execute(update(InboundMessage).where(InboundMessage.id == poison)
                        .values(attempts=5))
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW,
                            max_attempts=5)
    assert worker.run_once() == 2
    with unit_of_work() as session:
        rows = dict(session.execute(select(InboundMessage.id, InboundMessage.state_reason)
                                    .where(InboundMessage.state == "failed")).all())
    assert list(rows) == [poison]
    assert "never finished" in rows[poison]
    assert {m.id: m.state for m in messages(engine)}[fine] != "failed"


def test_while_mail_streams_in_the_worker_takes_small_batches_and_rests(engine: Engine) -> None:
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        for n in range(12):
            archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"), NOW)
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW,
                            batch_size=8, busy_batch_size=3, rest_per_work=4.0)
    assert not worker.intake_busy
    worker.wake()   # a channel just committed a message
    assert worker.intake_busy
    assert worker.run_once() == 3          # a small batch while the channel is busy
    worker._last_wake -= 1.0               # the channel went quiet a second ago
    assert not worker.intake_busy
    assert worker.run_once() == 8          # full batches again
    assert worker.run_once() == 1
    assert {m.state for m in messages(engine)} != {"received"}


def test_the_running_worker_rests_after_each_batch_while_mail_streams_in(engine: Engine) -> None:
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        for n in range(6):
            archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"), NOW)
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW,
                            busy_batch_size=2, rest_per_work=1000.0, sweep_seconds=0.05)
    worker.wake()
    worker.start()
    try:
        # The first small batch is processed, then the worker rests (1000 times its work).
        deadline = time.monotonic() + 30
        while sum(m.state != "received" for m in messages(engine)) < 2:
            assert time.monotonic() < deadline, "the first batch was never processed"
            time.sleep(0.05)
        time.sleep(0.5)
        assert sum(m.state != "received" for m in messages(engine)) == 2
    finally:
        worker.stop(30)


def test_starting_the_worker_shortens_the_interpreter_switch_interval(engine: Engine) -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)   # CPython's default
    worker = ReceivedWorker(make_session_factory(engine).begin, ["smtp"], lambda: NOW.date(),
                            lambda: NOW)
    try:
        worker.start()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_WITH_INTAKE)
    finally:
        worker.stop(30)
        sys.setswitchinterval(before)
