"""`gateway messages`: IT sees quarantined mail, reads its raw bytes and releases it once the
cause is fixed; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

import gateway.services.replay as replay_module
from gateway.cli import cli
from gateway.config import Settings
from gateway.persistence.models import InboundMessage
from tests.integration.test_pipeline import archived, order_response, prepare

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"
STRANGER = "4099990000007"
# An order response from a sender nobody registered, for a demo order.
UNKNOWN_SENDER = (
    f"UNA:+.? 'UNB+UNOC:3+{STRANGER}:14+4099997000007:14+261120:0900+X1'"
    "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+NEW-1+29'DTM+137:20261120:102'"
    "RFF+ON:4500012345'UNT+5+1'UNZ+1+X1'"
).encode()

Run = Callable[..., Result]


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"GATEWAY_DATABASE_URL": settings.database_url, "COLUMNS": "200"}


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--today", "2026-11-26", *args], env=env)

    assert invoke("init").exit_code == 0
    assert invoke("partners", "load", str(DEMO / "partners.toml")).exit_code == 0
    assert invoke("orders", "import", str(DEMO / "orders.csv")).exit_code == 0
    return invoke


@pytest.fixture
def quarantined(run: Run, tmp_path: Path) -> int:
    path = tmp_path / "unknown.edi"
    path.write_bytes(UNKNOWN_SENDER)
    ingested = run("ingest", "--json", "--sender", "edi@stranger.example", str(path))
    report = json.loads(ingested.output)
    assert report["state"] == "quarantined"
    return int(report["message_id"])


def test_it_lists_quarantined_messages_with_the_reason(run: Run, quarantined: int) -> None:
    listed = run("messages", "list", "--state", "quarantined", "--json")
    assert listed.exit_code == 0, listed.output
    (message,) = json.loads(listed.output)
    assert message["id"] == quarantined
    assert message["sender"] == "edi@stranger.example"
    assert "unknown sender" in message["reason"]
    table = run("messages", "list")
    assert "quarantined" in table.output
    assert "edi@stranger.example" in table.output
    assert run("messages", "list", "--state", "failed").output.startswith("no messages")


def test_show_prints_the_reason_and_raw_gives_the_exact_bytes(
        run: Run, env: dict[str, str], quarantined: int) -> None:
    shown = run("messages", "show", str(quarantined))
    assert shown.exit_code == 0, shown.output
    assert f"message #{quarantined}: quarantined, unknown sender" in shown.output
    assert "supplier: not identified" in shown.output
    raw = CliRunner().invoke(cli, ["messages", "show", str(quarantined), "--raw"], env=env)
    assert raw.stdout_bytes == UNKNOWN_SENDER


def test_release_after_the_sender_is_registered_processes_it(run: Run, quarantined: int,
                                                             tmp_path: Path) -> None:
    still_unknown = run("messages", "release", str(quarantined))
    assert still_unknown.exit_code == 0, still_unknown.output
    assert "quarantined" in still_unknown.output

    partners = tmp_path / "stranger.toml"
    partners.write_text(
        '[[suppliers]]\ncode = "ALBRECHT"\nname = "Schraubenwerk Albrecht GmbH & Co. KG"\n'
        f'edi_ids = [{{ id = "{STRANGER}", qualifier = "14" }}]\n'
        'buyer_contact = "anna.weber@brenner-antrieb.example"\nprofile = "c-parts"\n',
        encoding="utf-8")
    assert run("partners", "load", str(partners)).exit_code == 0
    released = run("messages", "release", str(quarantined))
    assert released.exit_code == 0, released.output
    assert released.output.startswith(f"message #{quarantined}: reconciled")
    detail = json.loads(run("messages", "show", str(quarantined), "--json").output)
    assert detail["state"] == "reconciled"
    assert detail["supplier"] == "ALBRECHT"
    assert [d["document_number"] for d in detail["documents"]] == ["NEW-1"]


@pytest.mark.usefixtures("quarantined")
def test_release_refuses_a_message_that_is_not_stopped(run: Run) -> None:
    path = DEMO / "messages" / "01_albrecht_ordrsp_4500012345.edi"
    handled = json.loads(run("ingest", "--json", str(path)).output)["message_id"]
    refused = run("messages", "release", str(handled))
    assert refused.exit_code == 1
    assert f"message #{handled} is reconciled" in refused.output
    assert f"gateway replay {handled}" in refused.output
    missing = run("messages", "show", "999999")
    assert missing.exit_code == 1
    assert "no message #999999" in missing.output


def test_messages_retry_goes_on_past_a_message_that_still_fails(tmp_path, monkeypatch):
    """`gateway messages retry --all` with one message whose processing still raises: that
    one is reported, stays `failed`, the others are retried, and the exit status is 1 (as
    the command's help says), not a traceback that leaves the rest unretried."""
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    engine = prepare(settings, tmp_path, 2)
    broken, fine = archived(engine, order_response(0)), archived(engine, order_response(1))
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbound_messages SET state = 'failed', "
                                "state_reason = 'gave up'"))
    real = replay_module.write_batch

    def write_batch(session, batch, today, now):  # type: ignore[no-untyped-def]
        if broken in batch.message_ids:
            raise RuntimeError("still broken")
        return real(session, batch, today, now)

    monkeypatch.setattr(replay_module, "write_batch", write_batch)
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
