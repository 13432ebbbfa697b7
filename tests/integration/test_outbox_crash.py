"""kill -9 of a sender between sending and recording: the next sender sends again with the
same Message-ID; the receiver has each message at most twice, each row ends `sent` once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import OutboundSettings, Settings
from gateway.persistence.models import OutboundAttemptRow, OutboundMessageRow
from gateway.services import outbox
from gateway.services.outbox_sender import OutboxSender, Transports
from tests.integration.outbound_servers import Relay, smtp_relay
from tests.integration.test_outbox_sender import email

ROOT = Path(__file__).resolve().parents[2]


def test_a_sender_killed_after_the_relay_took_a_message_repeats_it_once(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    begin = make_session_factory(engine).begin
    with begin() as session:
        ids = [outbox.enqueue(session, email(n)) for n in range(1, 6)]
    victim: dict[str, int] = {}

    def kill_on_the_third() -> None:
        if len(relay.arrived) == 3:   # taken by the relay, its 250 not yet read
            os.kill(victim["pid"], signal.SIGKILL)

    relay = Relay(on_data=kill_on_the_third)
    with smtp_relay(relay) as port:
        env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url,
               "GATEWAY_VAR_DIR": str(tmp_path),
               "GATEWAY_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{port}"}
        process = subprocess.Popen([sys.executable, "-m", "gateway", "outbox", "send"],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        victim["pid"] = process.pid
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        with begin() as session:
            states = {row.id: row.state for row in session.execute(
                select(OutboundMessageRow.id, OutboundMessageRow.state))}
        assert states[ids[2]] == "sending"   # the crash left it claimed, unrecorded

        later = datetime.now(UTC) + timedelta(minutes=10)
        config = OutboundSettings(drop_dir=tmp_path / "outbox",
                                  smtp_url=f"smtp://127.0.0.1:{port}", stuck_seconds=300)
        sender = OutboxSender(begin, Transports.from_settings(config), config, lambda: later,
                              "second")
        assert ids[2] in sender.sweep()
        sender.drain()

    with begin() as session:
        final = {row.id: row.state for row in session.execute(
            select(OutboundMessageRow.id, OutboundMessageRow.state))}
        sent_attempts = session.scalars(
            select(OutboundAttemptRow.outbound_id)
            .where(OutboundAttemptRow.outcome == "sent")).all()
    assert final == dict.fromkeys(ids, "sent")
    assert sorted(sent_attempts) == ids   # each row recorded sent exactly once
    counts = {n: relay.message_ids().count(f"<out{n}.test@gateway.example>")
              for n in range(1, 6)}
    assert counts[3] == 2
    assert all(1 <= count <= 2 for count in counts.values())
