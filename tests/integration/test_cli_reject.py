"""`gateway exceptions act reject` and `accept` do what the web app does: a rejection's reply
goes through the outbox in the same transaction as the move (the reason is required), and an
acceptance makes the supplier's value the order line's as a line version `accepted`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select

from gateway.bootstrap import make_session_factory
from gateway.cli import cli
from gateway.persistence.models import (
    ExceptionEventRow,
    ExceptionRow,
    LineVersionRow,
    OrderLineRow,
    OutboundMessageRow,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "gateway.db"


def _run(database: Path, *args: str) -> Result:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{database}", "COLUMNS": "200"}
    return CliRunner().invoke(cli, ["--today", "2026-11-26", *args], env=env)


def _rejectable(database: Path) -> str:
    for step in (("init",), ("partners", "load", str(DEMO / "partners.toml")),
                 ("orders", "import", str(DEMO / "orders.csv")),
                 ("ingest", str(DEMO / "messages" / "01_albrecht_ordrsp_4500012345.edi"))):
        assert _run(database, *step).exit_code == 0
    queue = json.loads(_run(database, "exceptions", "list", "--json").output)
    found = [row for row in queue if row["code"] in ("QTY_SHORT", "DATE_LATE", "PRICE_CHANGED")]
    assert found, "the demo message raises no rejectable exception"
    return str(found[0]["id"])


def test_rejecting_from_the_command_line_queues_the_reply_to_the_supplier(
        database: Path) -> None:
    exception_id = _rejectable(database)
    done = _run(database, "exceptions", "act", "reject", exception_id, "-m",
                "we need the full quantity", "--by", "anna")
    assert done.exit_code == 0, done.output
    assert "is rejected_change" in done.output
    assert "reply to the supplier queued (outbox #" in done.output
    engine = create_engine(f"sqlite:///{database}")
    try:
        with make_session_factory(engine).begin() as session:
            [reply] = session.scalars(select(OutboundMessageRow).where(
                OutboundMessageRow.kind == "rejection"))
            assert (reply.state, reply.exception_id, reply.supplier_code) == (
                "pending", int(exception_id), "ALBRECHT")
            assert reply.recipient
            assert b"we need the full quantity" not in reply.payload  # the reason stays inside
            row = session.get(ExceptionRow, int(exception_id))
            assert row is not None
            assert row.state == "rejected_change"
            event = session.scalars(select(ExceptionEventRow).where(
                ExceptionEventRow.exception_id == int(exception_id))
                .order_by(ExceptionEventRow.id.desc())).first()
            assert event is not None
            assert (event.actor, event.action) == ("anna", "rejected_change")
            assert (event.detail or "").startswith("we need the full quantity — reply to the "
                                                   f"supplier queued (outbox #{reply.id})")
    finally:
        engine.dispose()


def test_a_rejection_needs_a_reason_and_a_second_one_moves_nothing(database: Path) -> None:
    exception_id = _rejectable(database)
    assert _run(database, "exceptions", "act", "reject", exception_id).exit_code == 2
    assert _run(database, "exceptions", "act", "reject", exception_id, "-m", "no").exit_code == 0
    again = _run(database, "exceptions", "act", "reject", exception_id, "-m", "twice")
    assert again.exit_code == 1
    assert "cannot go from rejected_change to rejected_change" in again.output
    engine = create_engine(f"sqlite:///{database}")
    try:
        with make_session_factory(engine).begin() as session:
            assert len(list(session.scalars(select(OutboundMessageRow.id).where(
                OutboundMessageRow.kind == "rejection")))) == 1
    finally:
        engine.dispose()


def test_accepting_from_the_command_line_changes_the_order_line_as_the_web_does(
        database: Path) -> None:
    exception_id = _rejectable(database)
    done = _run(database, "exceptions", "act", "accept", exception_id, "-m", "agreed",
                "--by", "anna")
    assert done.exit_code == 0, done.output
    assert "is accepted_change" in done.output
    engine = create_engine(f"sqlite:///{database}")
    try:
        with make_session_factory(engine).begin() as session:
            row = session.get(ExceptionRow, int(exception_id))
            assert row is not None
            assert row.order_line_id is not None
            [version] = session.scalars(select(LineVersionRow).where(
                LineVersionRow.order_line_id == row.order_line_id,
                LineVersionRow.kind == "accepted"))
            assert version.source == "accepted by buyer anna"
            line = session.get(OrderLineRow, row.order_line_id)
            assert line is not None
            if row.code == "QTY_SHORT":
                assert line.quantity == line.confirmed_quantity
            assert not list(session.scalars(select(OutboundMessageRow.id).where(
                OutboundMessageRow.kind == "rejection")))
    finally:
        engine.dispose()
