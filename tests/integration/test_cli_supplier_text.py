"""Every value a listing prints that came from a supplier is data: Rich markup in it is shown,
not interpreted; control characters (ESC, CSI, bidi overrides, line breaks) are spelled out,
never written raw to the terminal; `--json` stays valid JSON holding the exact value."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from gateway.bootstrap import make_engine
from gateway.cli import cli
from gateway.cli.terminal import needs_escape, visible
from gateway.config import Settings
from gateway.persistence.models import (
    ConnectorStatusRow,
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
)
from parsers.mime import parse_email

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"
NASTY = ["[/x]", '"[/x]"@evil.example', "[/nonexistent]", "AB[/x]1", "[bold]loud[/bold]",
         "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\x9b2J", "a\rb\nc\td", "\u202eevil\u202c",
         "\u2066x\u2069", "del\x7f", "\u2028"]

Run = Callable[..., Result]


@dataclass(frozen=True)
class Stored:
    """A gateway database with the demo day in it, and the rows the test writes text into."""

    engine: Engine
    run: Run
    message_id: int
    exception_id: int
    order_id: int
    line_id: int


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    path = tmp_path_factory.mktemp("supplier-text") / "gateway.db"
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{path}", "COLUMNS": "3000"}

    def run(*args: str, columns: int = 3000) -> Result:
        return CliRunner().invoke(cli, ["--today", "2026-11-26", *args],
                                  env={**env, "COLUMNS": str(columns)})

    for args in (("init",), ("partners", "load", str(DEMO / "partners.toml")),
                 ("orders", "import", str(DEMO / "orders.csv")),
                 ("ingest", "--json", str(DEMO / "messages"))):
        assert run(*args).exit_code == 0
    engine = make_engine(Settings(f"sqlite:///{path}"))
    with engine.begin() as connection:
        exception = connection.execute(select(ExceptionRow).where(
            ExceptionRow.message_id.is_not(None), ExceptionRow.document_id.is_not(None),
            ExceptionRow.order_line_id.is_not(None)).limit(1)).one()
        order_id = connection.execute(select(OrderLineRow.order_id).where(
            OrderLineRow.id == exception.order_line_id)).scalar_one()
        connection.execute(ConnectorStatusRow.__table__.insert().values(
            connector="imap", name="orders", last_uid=1, messages_taken_in=1,
            consecutive_failures=0, updated_at=datetime.now(UTC)))
    yield Stored(engine, run, exception.message_id, exception.id, order_id,
                 exception.order_line_id)
    engine.dispose()


def _email(subject: str) -> bytes:
    encoded = base64.b64encode(subject.encode("utf-8", "surrogatepass")).decode()
    return (f"From: sales@albrecht.example\r\nTo: orders@buyer.example\r\n"
            f"Subject: =?utf-8?b?{encoded}?=\r\nMessage-ID: <1@albrecht.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n").encode()


def _store(stored: Stored, value: str) -> None:
    """The value in every supplier-sourced field the listings print."""
    problem = {"severity": "error", "code": value, "detail": value, "segment": value}
    with stored.engine.begin() as db:
        db.execute(update(InboundMessage).where(InboundMessage.id == stored.message_id).values(
            sender=value, channel=value, filename=value, state_reason=value,
            supplier_code=value, problems=[problem], raw=_email(value)))
        db.execute(update(DocumentRow).where(DocumentRow.message_id == stored.message_id)
                   .values(document_number=value, message_type=value))
        db.execute(update(ExceptionRow).where(ExceptionRow.id == stored.exception_id).values(
            code=value, order_number=value, line_no=value, expected=value, actual=value,
            difference=value, rule=value, tolerance=value, owner=value))
        db.execute(update(ExceptionEventRow)
                   .where(ExceptionEventRow.exception_id == stored.exception_id)
                   .values(detail=value))
        db.execute(update(PurchaseOrder).where(PurchaseOrder.id == stored.order_id).values(
            number=value, supplier_code=value, owner_email=value))
        db.execute(update(OrderLineRow).where(OrderLineRow.id == stored.line_id).values(
            line_no=value, description=value))
        db.execute(update(LineVersionRow).where(LineVersionRow.order_line_id == stored.line_id)
                   .values(kind=value, source=value))
        db.execute(update(ConnectorStatusRow).values(name=value, last_error=value,
                                                     notice=value,
                                                     last_error_at=datetime.now(UTC),
                                                     notice_at=datetime.now(UTC)))


def _shown(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    raw = [char for char in result.output if char != "\n" and needs_escape(char)]
    assert not raw, f"raw control characters reached the terminal: {raw!r}"
    return result.output


def _literally(value: str, output: str) -> None:
    assert visible(value).strip() in output


def _json(result: Result) -> Any:
    return json.loads(_shown(result))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=st.text(min_size=1, max_size=24) | st.sampled_from(NASTY))
@example(value='"[/x]"@evil.example')
@example(value="\x1b[2J\x1b[31m[/nonexistent]")
def test_every_listing_prints_supplier_text_as_data(stored: Stored, value: str) -> None:
    _store(stored, value)
    run, message, exception = stored.run, str(stored.message_id), str(stored.exception_id)

    listed = _shown(run("messages", "list"))
    _literally(value, listed)
    assert [m["sender"] for m in _json(run("messages", "list", "--json"))
            if m["id"] == stored.message_id] == [value]
    shown = _shown(run("messages", "show", message))
    for part in (f"from {visible(value)}", f"as {visible(value)}",
                 f"supplier: {visible(value) or 'not identified'}"):
        assert part in shown
    detail = _json(run("messages", "show", message, "--json"))
    assert detail["sender"] == value
    assert {d["document_number"] for d in detail["documents"]} == {value}

    _literally(value, _shown(run("exceptions", "list")))
    _shown(run("exceptions", "list", columns=80))
    assert value in {e["actual"] for e in _json(run("exceptions", "list", "--json"))}
    shown = _shown(run("exceptions", "show", exception))
    subject = parse_email(_email(value)).subject
    for part in (f"supplier said: {visible(value)}", f"document: {visible(value)} ",
                 f"email: {visible(subject) or '(no subject)'} —"):
        assert part in shown
    assert _json(run("exceptions", "show", exception, "--json"))["actual"] == value

    shown = _shown(run("orders", "show", "--", value))
    assert f"Order {visible(value)}  supplier" in shown
    _literally(value, shown.split("\n", 1)[1])
    timeline = _json(run("orders", "show", "--json", "--", value))
    assert (timeline["order"], timeline["owner"]) == (value, value)

    shown = _shown(run("imap", "--status"))
    assert f"imap {visible(value)}: UIDVALIDITY" in shown
    assert shown.count(f"): {visible(value)}\n") == 2  # the last error and the notice


def test_ingest_and_parse_print_file_names_and_document_numbers_as_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # short names, so that the table's title is not wrapped
    body = (b"UNA:+.? 'UNB+UNOC:3+4012345000009:14+4099997000007:14+261120:0900+X1'"
            b"UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+AB[/x]1+29'DTM+137:20261120:102'"
            b"RFF+ON:4500012345'UNT+5+1'UNZ+1+X1'")
    edifact = Path("[red]\x1b[2J.edi")
    edifact.write_bytes(body)
    unreadable = Path("[bold]\u202e.txt")
    unreadable.write_bytes(b"\x1b[31m[/nonexistent]")
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "COLUMNS": "300"}
    runner = CliRunner()

    parsed = runner.invoke(cli, ["parse", str(edifact)], env=env)
    assert parsed.exit_code == 0, parsed.output
    assert "AB[/x]1" in parsed.output
    assert "[red]\\x1b[2J.edi" in parsed.output
    assert "\x1b" not in parsed.output

    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    ingested = runner.invoke(cli, ["ingest", str(edifact), str(unreadable)], env=env)
    assert ingested.exit_code == 1, ingested.output  # both quarantined: nobody registered
    assert "[red]\\x1b[2J.edi: unknown sender" in ingested.output
    assert "[bold]\\u202e.txt: " in ingested.output
    assert "'\\x1b[31m[/nonexistent]'" in ingested.output
    assert not [char for char in ingested.output if char != "\n" and needs_escape(char)]
