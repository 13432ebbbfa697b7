"""The outbox sender where it runs: the thread of `gateway run` (the embedded default) and the
`gateway.send_outbound` Celery task that `gateway beat` publishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import OutboundSettings, PipelineSettings, Settings
from gateway.persistence.models import OutboundMessageRow
from gateway.persistence.schema import upgrade
from gateway.services import outbox
from gateway.tasks.app import SEND_OUTBOUND, create_app
from tests.integration.outbound_servers import Relay, smtp_relay
from tests.integration.test_outbox_sender import email

ROOT = Path(__file__).resolve().parents[2]


def test_gateway_run_sends_what_the_outbox_holds_and_stops_cleanly(tmp_path: Path) -> None:
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    begin = make_session_factory(engine).begin
    with begin() as session:
        ids = [outbox.enqueue(session, email(n)) for n in range(1, 4)]
    relay = Relay()
    env = {key: value for key, value in os.environ.items()
           if key not in ("GATEWAY_BROKER_URL", "GATEWAY_IMAP_MAILBOXES",
                          "GATEWAY_SMTP_RECIPIENTS")}
    with smtp_relay(relay) as port:
        env |= {"GATEWAY_DATABASE_URL": settings.database_url,
                "GATEWAY_VAR_DIR": str(tmp_path),
                "GATEWAY_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "GATEWAY_OUTBOUND_POLL_SECONDS": "0.2"}
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "--no-web"],
                                       cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while len(relay.arrived) < 3 and time.monotonic() < deadline \
                    and process.poll() is None:
                relay.got_one.wait(0.2)
            # A transaction per look: one held open on SQLite (BEGIN IMMEDIATE) would keep the
            # write lock the sender needs to record what it sent.
            while time.monotonic() < deadline and _states(begin) != {"sent"}:
                time.sleep(0.1)
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == 0, log.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
    assert sorted(relay.message_ids()) == [f"<out{n}.test@gateway.example>" for n in (1, 2, 3)]
    with begin() as session:
        assert set(session.scalars(select(OutboundMessageRow.state))) == {"sent"}
    assert f"outbox: emails smtp://127.0.0.1:{port}" in log.read_text()
    assert "Traceback" not in log.read_text()
    assert len(ids) == 3
    engine.dispose()


def _states(begin: Callable[[], AbstractContextManager[Session]]) -> set[str]:
    with begin() as session:
        return set(session.scalars(select(OutboundMessageRow.state)))


def test_the_celery_task_sends_what_is_due_and_beat_publishes_it(tmp_path: Path) -> None:
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path,
                        broker_url="redis://127.0.0.1:6379/13")
    engine = make_engine(settings)
    upgrade(engine)
    begin = make_session_factory(engine).begin
    with begin() as session:
        ids = [outbox.enqueue(session, email(n)) for n in range(1, 3)]
    outbound = OutboundSettings(drop_dir=tmp_path / "dropped", poll_seconds=7.0)
    app = create_app(settings, PipelineSettings(), outbound=outbound)
    assert app.conf.beat_schedule["send-outbound"] == {
        "task": SEND_OUTBOUND, "schedule": 7.0, "options": {"expires": 7.0}}
    assert app.tasks[SEND_OUTBOUND].apply().get() == 2
    with begin() as session:
        assert set(session.scalars(select(OutboundMessageRow.state))) == {"sent"}
    assert len(list((tmp_path / "dropped" / "new").iterdir())) == len(ids)
    engine.dispose()
