"""Email answers end to end, on SQLite and PostgreSQL: the sample emails taken in as the SMTP
channel hands them over (envelope sender of the sending system, raw bytes), parsed, mapped,
reconciled, and what could not be read raised to the buyer."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.bench.reading import email_with_workbook, shared_strings_workbook
from gateway.bootstrap import make_engine
from gateway.config import Settings
from gateway.domain.messages import MessageState
from gateway.persistence.models import (
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    PurchaseOrder,
)
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake, ingest
from gateway.services.orders import import_lines, read_order_file
from gateway.services.processing import MessageReport
from gateway.services.replay import replay
from parsers.mime import parse_email
from tests.integration.conftest import transactions

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
EMAILS = Path(__file__).resolve().parents[2] / "samples" / "email"
# What an MTA puts in MAIL FROM: a bounce address that names no supplier.
BOUNCE = "bounce-4711@mailout.provider.example"
# These tests read emails; their senders are not checked (`mail_auth = "none"`): sender
# authentication has its own tests (test_mail_authentication.py).
PARTNERS: dict[str, object] = {
    "suppliers": [
        {"code": "DEVRIES", "name": "De Vries Verpakkingen B.V.",
         "emails": ["orders@devries-verpakkingen.example"],
         "domains": ["devries-verpakkingen.example"],
         "edi_ids": [{"id": "8719993000004", "qualifier": "14"}],
         "buyer_contact": "sabine.hoffmann@brenner-antrieb.example", "mail_auth": "none"},
        {"code": "KOVOLIS", "name": "Kovolis Brno s.r.o.", "domains": ["kovolis.example"],
         "buyer_contact": "markus.brandt@brenner-antrieb.example", "mail_auth": "none"},
        {"code": "HUAXIN", "name": "Shenzhen Huaxin Electronics",
         "emails": ["sales3@huaxin-elec.example"],
         "buyer_contact": "jonas.keller@brenner-antrieb.example", "mail_auth": "none"},
    ],
}
ORDERS = """order_number,line_no,quantity,unit,price,currency,requested_date,supplier_id,owner_email
4500020001,10,400,PCE,0.80,EUR,2026-12-05,DEVRIES,owner.a@brenner-antrieb.example
4500020001,20,200,PCE,0.65,EUR,2026-12-05,DEVRIES,owner.a@brenner-antrieb.example
4500020001,30,100,PCE,1.20,EUR,2026-12-05,DEVRIES,owner.a@brenner-antrieb.example
4500020009,10,300,PCE,4.20,EUR,2026-12-10,KOVOLIS,owner.k@brenner-antrieb.example
4500020009,20,120,PCE,4.65,EUR,2026-12-10,KOVOLIS,owner.k@brenner-antrieb.example
4500020009,30,80,PCE,7.10,EUR,2026-12-10,KOVOLIS,owner.k@brenner-antrieb.example
4500020011,10,500,PCE,,,2026-12-07,DEVRIES,owner.a@brenner-antrieb.example
4500020011,20,300,PCE,,,2026-12-07,DEVRIES,owner.a@brenner-antrieb.example
4500020015,10,300,PCE,,,2026-12-04,DEVRIES,owner.b@brenner-antrieb.example
4500020015,20,200,PCE,,,2026-12-04,DEVRIES,owner.b@brenner-antrieb.example
4500020016,10,5000,PCE,,,2026-12-20,HUAXIN,owner.h@brenner-antrieb.example
4500020016,20,3000,PCE,,,2026-12-20,HUAXIN,owner.h@brenner-antrieb.example
"""
Transaction = Callable[[], AbstractContextManager[Session]]


def world(engine: Engine, tmp_path: Path) -> Transaction:
    transaction = transactions(engine, PARTNERS, NOW)
    path = tmp_path / "open_orders.csv"
    path.write_text(ORDERS)
    lines, errors = read_order_file(path)
    assert not errors
    with transaction() as session:
        import_lines(session, lines, path.name, NOW)
    return transaction


@pytest.fixture
def transaction(engine: Engine, tmp_path: Path) -> Transaction:
    return world(engine, tmp_path)


def take_in(transaction: Transaction, raw: bytes, channel: str = "smtp",
            sender: str = BOUNCE) -> MessageReport:
    [report] = ingest(transaction, [Intake(raw, channel, sender)], TODAY, NOW)
    return report


def sample(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def line_states(session: Session, order: str) -> dict[str, tuple[Any, ...]]:
    rows = session.execute(
        select(OrderLineRow.line_no, OrderLineRow.state, OrderLineRow.confirmed_quantity,
               OrderLineRow.confirmed_date)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id)
        .where(PurchaseOrder.number == order))
    return {r.line_no: (r.state, r.confirmed_quantity, r.confirmed_date) for r in rows}


def exceptions_of(session: Session, order: str | None = None) -> list[ExceptionRow]:
    query = select(ExceptionRow).order_by(ExceptionRow.line_no, ExceptionRow.code)
    if order is not None:
        query = query.where(ExceptionRow.order_number == order)
    return list(session.scalars(query))


def test_structured_reply_from_the_from_address_confirms_lines(transaction: Transaction) -> None:
    report = take_in(transaction, sample("en_structured_body.eml"))
    assert (report.state, report.documents) == (MessageState.RECONCILED, 1)
    with transaction() as session:
        states = line_states(session, "4500020001")
        assert states == {
            "10": ("confirmed", Decimal(400), date(2026, 12, 5)),
            "20": ("changed", Decimal(150), date(2026, 12, 12)),
            "30": ("rejected", Decimal(0), None)}
        versions = session.scalars(select(LineVersionRow.kind).where(
            LineVersionRow.message_id == report.message_id)).all()
        assert versions == ["confirmation"] * 3
        message = session.get(InboundMessage, report.message_id)
        assert message is not None
        # Found by the From header, not by the envelope's bounce address.
        assert (message.sender, message.supplier_code) == (BOUNCE, "DEVRIES")
        codes = {(e.code, e.line_no) for e in exceptions_of(session, "4500020001")}
        assert {("QTY_SHORT", "20"), ("DATE_LATE", "20"), ("LINE_REJECTED", "30")} <= codes
        assert "UNREADABLE_REPLY" not in {code for code, _ in codes}


def test_spreadsheet_reply_raises_the_expected_discrepancies(transaction: Transaction) -> None:
    report = take_in(transaction, sample("xlsx_attachment_title_block.eml"))
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        found = {(e.code, e.line_no, e.expected, e.actual)
                 for e in exceptions_of(session, "4500020009")}
        assert ("QTY_SHORT", "20", "120 PCE", "100 PCE") in found
        assert ("QTY_SHORT", "30", "80 PCE", "0 PCE") in found
        assert ("DATE_LATE", "20", "2026-12-10", "2026-12-17") in found
        assert not {f for f in found if f[1] == "10"}
        assert {e.owner for e in exceptions_of(session, "4500020009")} == {
            "owner.k@brenner-antrieb.example"}
        assert line_states(session, "4500020009")["10"] == (
            "confirmed", Decimal(300), date(2026, 12, 10))


def test_unreadable_reply_is_one_exception_for_the_po_owner(transaction: Transaction) -> None:
    report = take_in(transaction, sample("unreadable_reply.eml"))
    assert report.state is MessageState.RECONCILED
    assert report.reason is not None
    assert "UNREADABLE_REPLY" in report.reason
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert (exception.code, exception.severity, exception.order_number, exception.owner,
                exception.message_id, exception.state) == (
            "UNREADABLE_REPLY", "medium", "4500020016", "owner.h@brenner-antrieb.example",
            report.message_id, "open")
        assert exception.actual is not None
        assert "answers no order line" in exception.actual
        assert {state for state, _, _ in line_states(session, "4500020016").values()} == {"open"}
    # The same email again is a recorded duplicate: no second exception.
    again = take_in(transaction, sample("unreadable_reply.eml"))
    assert again.state is MessageState.DUPLICATE
    with transaction() as session:
        assert len(exceptions_of(session)) == 1


def test_partly_readable_reply_applies_what_was_read(transaction: Transaction) -> None:
    report = take_in(transaction, sample("ambiguous_date_reply.eml"))
    assert (report.state, report.documents) == (MessageState.RECONCILED, 1)
    with transaction() as session:
        states = line_states(session, "4500020015")
        assert states["20"] == ("confirmed", Decimal(200), date(2026, 12, 4))
        assert states["10"][0] == "open"  # the ambiguous date is not guessed
        [exception] = [e for e in exceptions_of(session) if e.code == "UNREADABLE_REPLY"]
        assert (exception.order_number, exception.owner, exception.position) == (
            "4500020015", "owner.b@brenner-antrieb.example", 3)
        # What the same email confirmed does not answer what it left unread.
        assert exception.state == "open"
        assert exception.actual is not None
        assert "05/12/2026" in exception.actual


def test_unreadable_reply_without_an_order_goes_to_the_suppliers_buyer(
        transaction: Transaction) -> None:
    raw = sample("unreadable_reply.eml").replace(b"Subject: RE: PO 4500020016",
                                                 b"Subject: RE: your order")
    raw = raw.replace(b"> PO 4500020016", b"> PO 4500020099")
    report = take_in(transaction, raw)
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert (exception.code, exception.order_number, exception.owner) == (
            "UNREADABLE_REPLY", None, "jonas.keller@brenner-antrieb.example")


def test_email_from_an_unknown_sender_is_quarantined(transaction: Transaction) -> None:
    raw = sample("en_structured_body.eml").replace(
        b"orders@devries-verpakkingen.example", b"orders@stranger.example")
    report = take_in(transaction, raw, sender="orders@stranger.example")
    assert report.state is MessageState.QUARANTINED
    assert report.reason is not None
    assert "unknown sender" in report.reason
    nothing = sample("unreadable_reply.eml").replace(b"sales3@huaxin-elec.example",
                                                     b"someone@stranger.example")
    assert take_in(transaction, nothing, sender="x@stranger.example").state is (
        MessageState.QUARANTINED)
    with transaction() as session:
        assert exceptions_of(session) == []
        assert line_states(session, "4500020001")["10"][0] == "open"


def _outcome(transaction: Transaction) -> tuple[object, ...]:
    with transaction() as session:
        found = sorted((e.code, e.line_no, e.expected, e.actual, e.owner)
                       for e in exceptions_of(session, "4500020011"))
        versions = sorted(session.execute(
            select(LineVersionRow.kind, LineVersionRow.quantity, LineVersionRow.delivery_date,
                   LineVersionRow.position)).all())
        return line_states(session, "4500020011"), found, versions


def test_edifact_attachment_reconciles_like_the_file_uploaded_directly(
        transaction: Transaction, tmp_path: Path) -> None:
    raw = sample("edifact_attachment.eml")
    [attachment] = parse_email(raw).attachments
    report = take_in(transaction, raw)
    assert (report.state, report.documents) == (MessageState.RECONCILED, 1)
    by_email = _outcome(transaction)
    direct_engine = make_engine(Settings(f"sqlite:///{tmp_path / 'direct.db'}", tmp_path))
    upgrade(direct_engine)
    try:
        direct = world(direct_engine, tmp_path)
        upload = take_in(direct, attachment.content, channel="upload",
                         sender="orders@devries-verpakkingen.example")
        assert upload.state is MessageState.RECONCILED
        assert _outcome(direct) == by_email
    finally:
        direct_engine.dispose()
    states, found, _versions = by_email
    assert states == {"10": ("confirmed", Decimal(500), date(2026, 12, 7)),  # type: ignore[index]
                      "20": ("changed", Decimal(250), date(2026, 12, 14))}
    assert ("QTY_SHORT", "20", "300 PCE", "250 PCE",
            "owner.a@brenner-antrieb.example") in found  # type: ignore[operator]


def test_exception_detail_shows_the_email(transaction: Transaction, settings: Settings,
                                          tmp_path: Path) -> None:
    from gateway.cli import cli

    report = take_in(transaction, sample("ambiguous_date_reply.eml"))
    with transaction() as session:
        [exception] = [e for e in exceptions_of(session) if e.code == "UNREADABLE_REPLY"]
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_VAR_DIR": str(tmp_path),
           "COLUMNS": "200"}
    shown = CliRunner().invoke(cli, ["exceptions", "show", str(exception.id), "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["message"]["id"] == report.message_id
    assert data["email"]["subject"] == "RE: Purchase order 4500020015"
    assert data["email"]["from"] == "orders@devries-verpakkingen.example"
    [unread] = data["email"]["unread"]
    assert unread.startswith("line 3 of the email body: ")
    printed = CliRunner().invoke(cli, ["exceptions", "show", str(exception.id)], env=env)
    assert printed.exit_code == 0, printed.output
    assert f"gateway messages show {report.message_id} --raw" in printed.output
    raw = CliRunner().invoke(cli, ["messages", "show", str(report.message_id), "--raw"], env=env)
    assert raw.stdout_bytes == sample("ambiguous_date_reply.eml")


def _zip_bomb_reply() -> bytes:
    """A confirmation whose xlsx unpacks to 300 MB (a few hundred KB on the wire)."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<" + " " * (300 << 20) + ">")
    mail = EmailMessage()
    mail["From"] = "orders@devries-verpakkingen.example"
    mail["Subject"] = "Confirmation"
    mail["Message-ID"] = "<bomb-1@devries-verpakkingen.example>"
    mail.set_content("Please find our order confirmation attached.")
    mail.add_attachment(packed.getvalue(), maintype="application",
                        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        filename="../../AB_4500020001.xlsx")
    return bytes(mail)


def test_a_refused_attachment_is_the_reason_the_buyer_reads_first(
        transaction: Transaction) -> None:
    report = take_in(transaction, _zip_bomb_reply())
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert exception.code == "UNREADABLE_REPLY"
        # The refusal itself, not the summing-up "answers no order line", comes first.
        assert exception.actual.startswith("attachment 'AB_4500020001.xlsx'")
        assert "unpacks to" in exception.actual
        assert exception.owner == "sabine.hoffmann@brenner-antrieb.example"
        message = session.get(InboundMessage, report.message_id)
        assert message is not None
        assert message.state_reason is not None
        assert "UNREADABLE_REPLY" in message.state_reason
        assert "first: attachment 'AB_4500020001.xlsx'" in message.state_reason


def _unreadable(number: int) -> bytes:
    """The unreadable sample, as the supplier's `number`th different email about the order."""
    return (sample("unreadable_reply.eml")
            .replace(b"<ur-20016@", b"<ur-20016-%d@" % number)
            .replace(b"after the weekend.", b"after the weekend (reminder %d)." % number))


READABLE = b"""From: Huaxin Sales <sales3@huaxin-elec.example>
To: orders@brenner-antrieb.example
Subject: RE: PO 4500020016
Message-ID: <ok-20016@huaxin-elec.example>
Content-Type: text/plain; charset=utf-8

PO 4500020016 line 10: 5000 pcs confirmed, delivery 2026-12-20
PO 4500020016 line 20: 3000 pcs confirmed, delivery 2026-12-20
"""


def test_each_unreadable_email_is_its_own_exception_until_an_answer_is_read(
        transaction: Transaction) -> None:
    # Taken in one by one and together in one batch: each keeps its own exception.
    first = [take_in(transaction, _unreadable(n)) for n in range(8)]
    together = ingest(transaction, [Intake(_unreadable(n), "smtp", BOUNCE)
                                    for n in range(8, 16)], TODAY, NOW)
    reports = [*first, *together]
    assert {r.state for r in reports} == {MessageState.RECONCILED}
    with transaction() as session:
        exceptions = exceptions_of(session)
        assert len(exceptions) == 16
        assert {(e.code, e.state, e.order_number) for e in exceptions} == {
            ("UNREADABLE_REPLY", "open", "4500020016")}
        assert sorted(e.message_id for e in exceptions) == sorted(r.message_id for r in reports)
        assert all(e.actual and "answers no order line" in e.actual for e in exceptions)
    # Processing one of them again raises nothing new.
    again = replay(transaction, reports[3].message_id, TODAY, NOW)
    assert again.state is MessageState.RECONCILED
    with transaction() as session:
        assert [(e.state, e.occurrences) for e in exceptions_of(session)
                if e.message_id == reports[3].message_id] == [("open", 2)]
        assert len(exceptions_of(session)) == 16
    answer = take_in(transaction, READABLE)
    assert answer.state is MessageState.RECONCILED
    with transaction() as session:
        assert {e.state for e in exceptions_of(session)} == {"resolved"}
        assert {state for state, _, _ in line_states(session, "4500020016").values()} == {
            "confirmed"}


def test_a_reply_past_the_part_limit_reaches_the_buyer_with_the_reason(
        transaction: Transaction) -> None:
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\nline %d\r\n" % n
                     for n in range(2000))
    raw = (b"From: orders@devries-verpakkingen.example\r\nSubject: Confirmation\r\n"
           b"Message-ID: <parts-1@devries-verpakkingen.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + parts + b"--B--\r\n")
    report = take_in(transaction, raw)
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert exception.code == "UNREADABLE_REPLY"
        assert exception.actual.startswith("the message has more than 500 MIME parts")


def test_a_workbook_past_the_shared_strings_limit_reaches_the_buyer_with_the_reason(
        transaction: Transaction) -> None:
    raw = email_with_workbook(shared_strings_workbook(10, declared=8_000_000)).replace(
        b"orders@supplier.example", b"orders@devries-verpakkingen.example")
    report = take_in(transaction, raw)
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert exception.code == "UNREADABLE_REPLY"
        assert exception.actual.startswith("attachment 'AB_4500012345.xlsx'")
        assert "declares 8000000 strings (uniqueCount)" in exception.actual
