"""`gateway outbox`: IT lists, reads, retries and cancels what the gateway sends; and the
demo's last step shows each message and the file it was dropped into."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console
from sqlalchemy import Engine

from gateway.bootstrap import make_session_factory
from gateway.cli import cli
from gateway.cli.context import AppContext
from gateway.cli.outbox import send_and_show
from gateway.config import Settings
from gateway.persistence.models import OutboundMessageRow
from gateway.services import outbox
from tests.integration.test_outbox_sender import email, hook

Run = Callable[..., Result]


@pytest.fixture
def run(settings: Settings, engine: Engine, tmp_path: Path) -> Run:
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_VAR_DIR": str(tmp_path),
           "COLUMNS": "200", "GATEWAY_OUTBOUND_SMTP_URL": ""}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


@pytest.fixture
def ids(engine: Engine) -> list[int]:
    with make_session_factory(engine).begin() as session:
        return [outbox.enqueue(session, email(1)),
                outbox.enqueue(session, hook(2, "")),
                outbox.record_suppressed(session, email(3), "Auto-Submitted: auto-replied")]


def test_send_list_show_retry_and_cancel(run: Run, ids: list[int], tmp_path: Path) -> None:
    mail, webhook, suppressed = ids
    sent = run("outbox", "send")
    assert sent.exit_code == 0, sent.output
    assert sent.output.strip() == "1 sent, 0 to retry, 1 failed, 0 waiting for their transport"
    assert len(list((tmp_path / "outbox" / "new").glob("*.eml"))) == 1

    listed = json.loads(run("outbox", "list", "--json").output)
    assert [(row["id"], row["state"]) for row in listed] == [
        (suppressed, "suppressed"), (webhook, "failed"), (mail, "sent")]
    failed = json.loads(run("outbox", "list", "--state", "failed", "--json").output)
    assert [row["state_reason"] for row in failed] == ["no webhook URL"]

    shown = json.loads(run("outbox", "show", str(mail), "--json").output)
    assert shown["wire_id"] == "<out1.test@gateway.example>"
    assert [a["outcome"] for a in shown["attempt_log"]] == ["sent"]
    assert shown["attempt_log"][0]["response"].startswith("written to ")
    text = run("outbox", "show", str(webhook)).output
    assert "failed, no webhook URL" in text
    assert "attempt 1 at " in text
    assert run("outbox", "show", str(mail), "--payload").output_bytes == email(1).payload
    assert run("outbox", "show", "999").exit_code == 1

    retried = run("outbox", "retry", "--all-failed")
    assert retried.output.strip() == f"outbound #{webhook}: retried"
    refused = run("outbox", "retry", str(mail))
    assert refused.exit_code == 1
    assert "not retried" in refused.output
    assert run("outbox", "cancel", str(webhook)).output.strip() == \
        f"outbound #{webhook}: cancelled"
    assert "cancelled by" in (json.loads(run("outbox", "show", str(webhook), "--json")
                                         .output)["state_reason"] or "")


def test_the_demo_step_drops_everything_and_shows_the_files(
        settings: Settings, engine: Engine, ids: list[int], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A relay in the environment is never used by the demo: it drops every message.
    monkeypatch.setenv("GATEWAY_OUTBOUND_SMTP_URL", "smtp://127.0.0.1:9")
    app = AppContext(settings)
    console = Console(record=True, width=300)
    send_and_show(app, console, tmp_path / "demo-outbox")
    app.close()
    shown = console.export_text()
    dropped = sorted((tmp_path / "demo-outbox" / "new").iterdir())
    assert len(dropped) == 2   # the email and the webhook body; the suppressed reply never
    for path in dropped:
        assert str(path) in shown
    assert "suppressed" in shown
    assert "Auto-Submitted: auto-replied" in shown
    with make_session_factory(engine).begin() as session:
        states = sorted(session.get_one(OutboundMessageRow, i).state for i in ids)
    assert states == ["sent", "sent", "suppressed"]
