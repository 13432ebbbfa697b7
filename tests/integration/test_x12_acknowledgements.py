"""A partner that asks for a 997 (`functional_ack = "997"`) gets one per functional group of
every X12 file it sends, bare or attached to an email (by any channel), through the outbox,
in the transaction that processed the file: a verdict per transaction set, read back as X12;
one that asks for nothing gets nothing."""

from __future__ import annotations

import email
import email.policy
import io
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.persistence.models import OutboundMessageRow, Supplier
from gateway.services.ingest import Intake, archive, process
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.partners import load_partners
from parsers.x12 import Transaction, parse_x12
from tests.integration.conftest import transactions
from tests.integration.replying import email_with_attachment, process_email, replying_sessions
from tests.integration.test_ingest import NOW, ORDERS_CSV, TODAY, import_orders
from tests.integration.test_smtp import OURS, smtp_server

PARTNERS = {
    "suppliers": [
        {"code": "ACME", "name": "Acme Fasteners GmbH",
         "emails": ["edi@acme.example", "orders@acme.example"],
         "edi_ids": [{"id": "ACMEX12", "qualifier": "ZZ"}], "buyer_contact": "anna@buyer.example",
         "functional_ack": "997"},
    ],
}


def x12_855(body: list[str], control: str = "000000417") -> bytes:
    segments = ["ST*855*0001", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*ACMEX12        *ZZ*BUYER          *261126*0900*"
           f"U*00401*{control}*0*P*>")
    return ("~\n".join([isa, "GS*PR*ACMEX12*BUYER*20261126*0900*417*X*004010", *segments,
                        "GE*1*417", f"IEA*1*{control}"]) + "~\n").encode()


RESPONSE = x12_855(["BAK*00*AD*4500000001*20261126", "PO1*10*100*PCE*12.50***EN*4000862141404",
                    "ACK*IA*100*PCE*067*20261205"])


@pytest.fixture
def sessions(engine: Engine) -> object:
    return transactions(engine, PARTNERS, NOW)


def ingest(sessions: object, raw: bytes) -> int:
    with sessions() as session:  # type: ignore[operator]
        message_id = archive(session, Intake(raw, "cli", "as2:acme", "in.x12"), NOW).message_id
    with sessions() as session:  # type: ignore[operator]
        process(session, message_id, TODAY, NOW)
    return message_id


def outbox(sessions: object) -> list[OutboundMessageRow]:
    with sessions() as session:  # type: ignore[operator]
        rows = list(session.scalars(select(OutboundMessageRow).order_by(OutboundMessageRow.id)))
        session.expunge_all()
        return rows


def answered_segments(row: OutboundMessageRow) -> list[list[str]]:
    mail = email.message_from_bytes(row.payload)
    (part,) = [p for p in mail.walk() if p.get_content_type() == "application/edi-x12"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    [answer] = [i for i in parse_x12(io.BufferedReader(io.BytesIO(data)))
                if isinstance(i, Transaction)]
    assert answer.problems == []
    assert answer.type == "997"
    return [[s.tag, *s.elements] for s in answer.segments]


def test_an_x12_response_gets_its_997_through_the_outbox(sessions: object,
                                                         tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = ingest(sessions, RESPONSE)
    [row] = outbox(sessions)
    assert (row.kind, row.recipient, row.message_id) == ("functional_ack", "edi@acme.example",
                                                         message_id)
    assert answered_segments(row) == [["AK1", "PR", "417"], ["AK2", "855", "0001"],
                                      ["AK5", "A"], ["AK9", "A", "1", "1", "1"]]


def test_a_refused_transaction_set_is_rejected_in_the_997(sessions: object,
                                                          tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    ingest(sessions, x12_855(["DTM*067*20261205", "PO1*10*100*PCE"]))  # no BAK
    [row] = outbox(sessions)
    assert answered_segments(row)[1:] == [["AK2", "855", "0001"], ["AK5", "R", "5"],
                                          ["AK9", "R", "1", "1", "0"]]


def test_a_partner_that_asks_for_nothing_gets_no_997(engine: Engine, tmp_path: Path) -> None:
    quiet = {"suppliers": [{**PARTNERS["suppliers"][0], "functional_ack": "never"}]}
    sessions = transactions(engine, quiet, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    ingest(sessions, RESPONSE)
    assert outbox(sessions) == []
    with sessions() as session:
        assert session.scalars(select(Supplier.functional_ack)).one() is None


def test_functional_ack_key_is_checked(engine: Engine) -> None:
    sessions = transactions(engine, {"suppliers": []}, NOW)
    wrong = {"suppliers": [{**PARTNERS["suppliers"][0], "functional_ack": "824"}]}
    with sessions() as session, pytest.raises(Exception, match="functional_ack"):
        load_partners(session, wrong, NOW)


def email_with(attachment: bytes, filename: str = "po855.x12",
               body: str = "Please find our acknowledgment attached.") -> bytes:
    return email_with_attachment(attachment, subtype="EDI-X12", filename=filename,
                                 subject="855 for 4500000001",
                                 message_id="<x12-1@acme.example>", body=body)


def test_an_x12_file_attached_to_an_email_gets_its_997_and_no_prose_reply(
        engine: Engine, tmp_path: Path) -> None:
    sessions = replying_sessions(engine, PARTNERS)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = process_email(sessions, email_with(RESPONSE))
    [row] = outbox(sessions)
    assert (row.kind, row.transport, row.recipient, row.sender, row.message_id) == (
        "functional_ack", "smtp", "edi@acme.example", "edi@buyer.example", message_id)
    assert answered_segments(row) == [["AK1", "PR", "417"], ["AK2", "855", "0001"],
                                      ["AK5", "A"], ["AK9", "A", "1", "1", "1"]]


def test_each_x12_attachment_is_answered_on_its_own(engine: Engine, tmp_path: Path) -> None:
    sessions = transactions(engine, PARTNERS, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    raw = email_with(RESPONSE)
    mail = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    mail.add_attachment(x12_855(["DTM*067*20261205", "PO1*10*100*PCE"], "000000418"),
                        maintype="application", subtype="EDI-X12", filename="second.x12")
    process_email(sessions, mail.as_bytes())
    first, second = outbox(sessions)
    assert answered_segments(first)[-1] == ["AK9", "A", "1", "1", "1"]
    assert answered_segments(second)[-1] == ["AK9", "R", "1", "1", "0"]


def test_an_email_without_x12_gets_no_997(engine: Engine, tmp_path: Path) -> None:
    sessions = transactions(engine, PARTNERS, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    process_email(sessions, email_with(b"PO 4500000001 line 10: 100 pcs confirmed",
                                      "note.txt"))
    assert [row.kind for row in outbox(sessions)] == []


def test_an_x12_attachment_through_the_smtp_intake_is_answered_by_997(
        engine: Engine, tmp_path: Path) -> None:
    """The real path: smtplib to the SMTP intake on loopback, the intake worker processes
    the stored email, and the 997 for its X12 attachment waits in the outbox."""
    sessions = transactions(engine, {"suppliers": [{**PARTNERS["suppliers"][0],
                                                    "mail_auth": "none"}]}, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    raw = email_with(RESPONSE).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    worker = ReceivedWorker(sessions, ["smtp"], lambda: TODAY, lambda: NOW,  # type: ignore[arg-type]
                            sweep_seconds=0.2, max_pause_seconds=0.5)
    worker.start()
    try:
        with smtp_server(sessions, on_archived=worker.wake) as running, \
                running.client() as client:  # type: ignore[arg-type]
            assert client.sendmail("edi@acme.example", [OURS], raw) == {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not outbox(sessions):
            time.sleep(0.1)
    finally:
        worker.stop(30)
    rows = outbox(sessions)
    assert [row.kind for row in rows] == ["functional_ack"], [row.reason for row in rows]
    [row] = rows
    assert row.recipient == "edi@acme.example"
    assert answered_segments(row)[-1] == ["AK9", "A", "1", "1", "1"]


def test_an_email_with_x12_from_a_partner_without_997_gets_the_prose_reply(
        engine: Engine, tmp_path: Path) -> None:
    quiet = {"suppliers": [{**PARTNERS["suppliers"][0], "functional_ack": "never"}]}
    sessions = replying_sessions(engine, quiet)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    process_email(sessions, email_with(RESPONSE))
    assert [row.kind for row in outbox(sessions)] == ["email_reply"]
