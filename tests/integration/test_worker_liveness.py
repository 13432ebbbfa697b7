"""Workers lost whole: their `received` messages are taken over once their heartbeat is old,
never those of a live worker, never twice; on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import PipelineSettings
from gateway.persistence.models import InboundMessage, WorkerHeartbeatRow
from gateway.services.ingest import Intake, archive_many
from gateway.services.pipeline import claim
from gateway.services.worker_liveness import (
    Heartbeat,
    forget_worker,
    record_heartbeat,
    take_over_lost,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_the_messages_of_a_silent_worker_are_taken_over_once(engine: Engine) -> None:
    transaction = make_session_factory(engine).begin
    with transaction() as session:
        ids = [a.message_id for a in archive_many(
            session, [Intake(f"m{n}".encode(), "cli", "s@x.example") for n in range(5)], NOW)]
        record_heartbeat(session, "lost@a", NOW)
        record_heartbeat(session, "alive@b", NOW)
        claim(session, ids[:2], 5, NOW, "lost@a")
        claim(session, ids[2:4], 5, NOW, "alive@b")   # ids[4] never started: not lost
    later = NOW + timedelta(seconds=31)
    with transaction() as session:
        record_heartbeat(session, "alive@b", later - timedelta(seconds=4))
        assert take_over_lost(session, later, 30) == ids[:2]
    with transaction() as session:
        assert take_over_lost(session, later, 30) == []          # not twice
        assert session.scalars(select(WorkerHeartbeatRow.name)).all() == ["alive@b"]
        released = session.execute(select(InboundMessage.claimed_by, InboundMessage.enqueued_at)
                                   .where(InboundMessage.id.in_(ids[:2]))).all()
        assert {(by, at.replace(tzinfo=UTC)) for by, at in released} == {(None, later)}
        forget_worker(session, "alive@b")                        # stopped cleanly
        assert take_over_lost(session, later, 30) == ids[2:4]


def test_a_heartbeat_records_itself_and_publishes_what_lost_workers_left(
        engine: Engine) -> None:
    transaction = make_session_factory(engine).begin
    with transaction() as session:
        ids = [a.message_id for a in archive_many(
            session, [Intake(f"m{n}".encode(), "cli", "s@x.example") for n in range(3)], NOW)]
        record_heartbeat(session, "gone@a", NOW)
        claim(session, ids, 5, NOW, "gone@a")
    published: list[list[int]] = []
    settings = PipelineSettings()
    seconds = iter([10, 20, 100, 105])
    heartbeat = Heartbeat(transaction, "new@b", lambda: NOW + timedelta(seconds=next(seconds)),
                          settings.heartbeat_seconds, settings.worker_lost_seconds,
                          published.append)
    assert heartbeat.beat() == []    # its first beat: it takes nothing over yet
    assert heartbeat.beat() == []    # gone@a silent for 20 s: not lost yet
    # 80 s without a beat of its own (the database was down): every heartbeat is old, and
    # gone@a might only have been cut off too; one beat later gone@a is lost.
    assert heartbeat.beat() == []
    assert heartbeat.beat() == ids
    assert published == [ids]
    with transaction() as session:
        assert session.scalars(select(WorkerHeartbeatRow.name)).all() == ["new@b"]
