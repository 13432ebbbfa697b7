"""`gateway demo` ends with what the buyers were told: the high exceptions mailed at once and
one buyer's daily digest, in German, in the outbox."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select

from gateway.cli import cli
from gateway.persistence.models import OutboundMessageRow

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_writes_alerts_and_one_digest_to_the_outbox(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["--today", "2026-11-26", "demo", "--samples",
                                      str(ROOT / "samples" / "demo"), "--database",
                                      str(database)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "digest for anna.weber@brenner-antrieb.example" in result.output
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(select(OutboundMessageRow.kind, OutboundMessageRow.recipient,
                                         OutboundMessageRow.payload)).all()
    engine.dispose()
    digests = [row for row in rows if row.kind == "digest"]
    assert [row.recipient for row in digests] == ["anna.weber@brenner-antrieb.example"]
    subject = email.message_from_bytes(digests[0].payload, policy=policy.default)["Subject"]
    assert subject.startswith("Tagesübersicht der Lieferanten-Ausnahmen")
    alerts = [row for row in rows if row.kind == "alert"]
    assert alerts
    assert all(row.recipient.endswith("@brenner-antrieb.example") for row in alerts)
