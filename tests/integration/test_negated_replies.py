"""A supplier's "we cannot confirm" on the demo data, as a buyer runs it: `gateway ingest` of the
reply after the demo's EDIFACT messages. The line must stay unconfirmed and its open
LINE_NOT_CONFIRMED must stay open, in English, Chinese and German."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select

from gateway.cli import cli
from gateway.persistence.models import ExceptionRow, OrderLineRow, PurchaseOrder

DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
HUAXIN = "sales3@huaxin-elec.example"
ALBRECHT = "auftrag@schraubenwerk-albrecht.example"


def run(tmp_path: Path, *args: str) -> Result:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gw.db'}", "COLUMNS": "200"}
    result = CliRunner().invoke(cli, ["--today", "2026-11-26", *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def demo(tmp_path: Path, *messages: str) -> None:
    run(tmp_path, "init")
    run(tmp_path, "partners", "load", str(DEMO / "partners.toml"))
    run(tmp_path, "orders", "import", str(DEMO / "orders.csv"))
    run(tmp_path, "ingest", *[str(DEMO / "messages" / m) for m in messages])


def reply(tmp_path: Path, sender: str, body: str) -> Path:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "orders@brenner-antrieb.example"
    message["Subject"] = "RE: Purchase order"
    message["Message-ID"] = f"<{abs(hash(body))}@supplier.example>"
    message.set_content(body)
    path = tmp_path / "reply.eml"
    path.write_bytes(bytes(message))
    return path


def line(tmp_path: Path, order: str, line_no: str) -> tuple[str, list[tuple[str, str]]]:
    """The line's state and its exceptions (code, state)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    with engine.connect() as connection:
        state = connection.execute(
            select(OrderLineRow.state).join(PurchaseOrder).where(
                PurchaseOrder.number == order, OrderLineRow.line_no == line_no)).scalar_one()
        exceptions = connection.execute(
            select(ExceptionRow.code, ExceptionRow.state).where(
                ExceptionRow.order_number == order, ExceptionRow.line_no == line_no)).all()
    engine.dispose()
    return state, [(code, exception_state) for code, exception_state in exceptions]


@pytest.mark.parametrize("body", [
    "Dear Jonas,\n\nUnfortunately we cannot confirm PO 4500012348 line 40 (600 pcs, 2026-12-10) "
    "at this time.\n\nBest regards\nLi Wei\n",
    "您好\uff0c\n\n订单4500012348 第40行\uff08600件\uff0c2026年12月10日\uff09"
    "目前无法确认。\n\n谢谢\n",
], ids=["english", "chinese"])
def test_a_refusal_to_confirm_leaves_the_line_unconfirmed(tmp_path: Path, body: str) -> None:
    demo(tmp_path, "03_huaxin_ordrsp_4500012347_4500012348.edi")
    assert line(tmp_path, "4500012348", "40") == ("open", [("LINE_NOT_CONFIRMED", "open")])
    result = run(tmp_path, "ingest", str(reply(tmp_path, HUAXIN, body)))
    assert "nothing to flag" not in result.output
    assert line(tmp_path, "4500012348", "40") == ("open", [("LINE_NOT_CONFIRMED", "open")])


def test_a_german_refusal_to_confirm_leaves_the_line_open(tmp_path: Path) -> None:
    demo(tmp_path, "01_albrecht_ordrsp_4500012345.edi")
    body = ("Sehr geehrte Frau Weber,\n\nLeider können wir Bestellung 4500012346 Pos. 10 "
            "(250 Stück, 15.12.2026) derzeit nicht bestätigen.\n\nMit freundlichen Grüßen\n")
    result = run(tmp_path, "ingest", str(reply(tmp_path, ALBRECHT, body)))
    assert "nothing to flag" not in result.output
    state, exceptions = line(tmp_path, "4500012346", "10")
    assert state == "open"
    assert all(code not in ("QTY_SHORT", "DATE_LATE") for code, _ in exceptions)


def test_values_without_a_commitment_are_an_unclear_line_not_a_confirmation(
        tmp_path: Path) -> None:
    """"line 40: 600 pcs, 2026-12-10" says nothing about confirming: the line stays open,
    LINE_NOT_CONFIRMED stays open, and the buyer sees LINE_UNCLEAR."""
    demo(tmp_path, "03_huaxin_ordrsp_4500012347_4500012348.edi")
    body = "Hello,\n\nPO 4500012348 line 40: 600 pcs, 2026-12-10\n\nLi Wei\n"
    run(tmp_path, "ingest", str(reply(tmp_path, HUAXIN, body)))
    state, exceptions = line(tmp_path, "4500012348", "40")
    assert state == "open"
    assert sorted(exceptions) == [("LINE_NOT_CONFIRMED", "open"), ("LINE_UNCLEAR", "open")]


def test_a_confirmation_in_words_still_confirms(tmp_path: Path) -> None:
    """The same line confirmed: the line is confirmed and LINE_NOT_CONFIRMED resolved."""
    demo(tmp_path, "03_huaxin_ordrsp_4500012347_4500012348.edi")
    body = "Hello,\n\nPO 4500012348 line 40: 600 pcs confirmed, delivery 2026-12-10\n\nLi Wei\n"
    run(tmp_path, "ingest", str(reply(tmp_path, HUAXIN, body)))
    assert line(tmp_path, "4500012348", "40") == (
        "confirmed", [("LINE_NOT_CONFIRMED", "resolved")])
