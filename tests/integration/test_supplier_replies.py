"""Email replies and reminders to suppliers, end to end on SQLite and PostgreSQL: mail sent
over SMTP to the running intake (signed with test keys, DNS from a stub), processed by the
worker, and the reply found in the outbox with its threading; what gets no reply and why; the
hourly cap; reminders every N days at most M times."""

from __future__ import annotations

import email.policy
import itertools
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.config import MailAuthSettings, ReplySettings
from gateway.errors import ConfigurationError
from gateway.persistence.models import (
    EmailReplyRow,
    InboundMessage,
    OutboundMessageRow,
    Supplier,
    SupplierReminderRow,
)
from gateway.services.ingest import Intake, UnitOfWork, ingest
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.mail_auth import SenderAuthentication
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners
from gateway.services.reminders import remind_suppliers
from gateway.services.replies import REPLIES, Replier
from gateway.services.watch import check_overdue
from tests.integration.test_mail_authentication import (  # noqa: F401 (fixtures)
    ATTACKER,
    SUPPLIER,
    Keys,
    StubDns,
    dns,
    keys,
    signed,
)
from tests.integration.test_smtp import OURS, smtp_server

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
ORDERS = ("order_number,line_no,quantity,unit,price,currency,requested_date,supplier_id,"
          "owner_email,order_date\n") + """\
4500012346,10,2000,PCE,0.068,EUR,2026-12-08,ACME,anna.buyer@buyer.example,2026-11-10
4500012346,20,1500,PCE,0.115,EUR,2026-12-08,ACME,anna.buyer@buyer.example,2026-11-10
4500099999,10,7,PCE,99.50,EUR,2026-12-09,BETA,ben.buyer@buyer.example,2026-11-10
"""
ACME = {"code": "ACME", "name": "Acme Fasteners GmbH", "emails": [SUPPLIER, "sales@acme.example"],
        "domains": ["acme.example"], "buyer_contact": "anna.buyer@buyer.example",
        "language": "de", "reminders": True, "reminder_every_days": 2, "reminder_max": 2}
BETA = {"code": "BETA", "name": "Beta Secret Components", "emails": ["orders@beta.example"],
        "domains": ["beta.example"]}
ANSWER = "PO 4500012346 line 20: 1500 pcs confirmed, delivery 2026-12-15"


def mail(body: str, extra: str = "", subject: str = "AW: Re: PO 4500012346",
         message_id: str = "<answer-1@acme.example>") -> bytes:
    return (f"{extra}From: Acme Orders <{SUPPLIER}>\r\nTo: {OURS}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nIn-Reply-To: <po-4500012346@buyer.example>\r\n"
            "References: <po-4500012346@buyer.example>\r\n"
            f"Date: Thu, 26 Nov 2026 08:00:00 +0000\r\n\r\n{body}\r\n").encode()


@dataclass
class Gateway:
    transaction: UnitOfWork
    worker: ReceivedWorker

    def send(self, raw: bytes, mail_from: str) -> int:
        with smtp_server(self.transaction) as running, \
                smtplib.SMTP("127.0.0.1", running.port, local_hostname="mx.sender.example",
                             timeout=60) as client:
            client.sendmail(mail_from, [OURS], raw)
        assert self.worker.run_once() == 1
        with self.transaction() as session:
            return cast(int, session.scalar(select(InboundMessage.id)
                                            .order_by(InboundMessage.id.desc()).limit(1)))

    def outbox(self, message_id: int) -> OutboundMessageRow:
        with self.transaction() as session:
            return session.scalars(select(OutboundMessageRow).where(TO_SUPPLIERS).where(
                OutboundMessageRow.message_id == message_id)).one()

    def decision(self, message_id: int) -> EmailReplyRow:
        with self.transaction() as session:
            return session.scalars(select(EmailReplyRow).where(
                EmailReplyRow.message_id == message_id)).one()


# What goes to suppliers; buyers' alerts about the same messages go through the outbox too.
TO_SUPPLIERS = OutboundMessageRow.kind.in_(("email_reply", "reminder"))

def counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"t{next(numbers):04d}"


def setup(engine: Engine, tmp_path: Path, settings: ReplySettings) -> UnitOfWork:
    factory = make_session_factory(engine, {REPLIES: Replier(settings, counter())})
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    lines, errors = read_order_file(path)
    assert not errors
    with factory.begin() as session:
        load_partners(session, {"suppliers": [ACME, BETA]}, NOW)
        import_lines(session, lines, path.name, NOW)
    return factory.begin


@pytest.fixture
def gateway(engine: Engine, tmp_path: Path, dns: StubDns) -> Gateway:  # noqa: F811
    transaction = setup(engine, tmp_path, ReplySettings(
        from_address="purchasing@buyer.example", message_id_domain="gw.buyer.example"))
    authenticate = SenderAuthentication.from_settings(MailAuthSettings(), dns)
    return Gateway(transaction, ReceivedWorker(transaction, ["smtp"], lambda: TODAY,
                                               lambda: NOW, authenticate=authenticate))


def parsed(payload: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=email.policy.default).parsebytes(payload))


def test_a_suppliers_mail_over_smtp_gets_a_threaded_reply_in_the_outbox(
        gateway: Gateway, keys: dict[str, Keys]) -> None:  # noqa: F811
    message_id = gateway.send(signed(mail(ANSWER), keys), SUPPLIER)
    row = gateway.outbox(message_id)
    assert (row.kind, row.state, row.transport) == ("email_reply", "pending", "file")
    assert row.recipient == SUPPLIER
    assert row.wire_id == "reply.t0001@gw.buyer.example"
    assert row.supplier_code == "ACME"
    reply = parsed(row.payload)
    assert reply["Message-ID"] == "<reply.t0001@gw.buyer.example>"
    assert reply["In-Reply-To"] == "<answer-1@acme.example>"
    assert reply["References"].split() == ["<po-4500012346@buyer.example>",
                                           "<answer-1@acme.example>"]
    assert reply["Subject"] == "Re: PO 4500012346"
    assert reply["From"] == "Purchasing <purchasing@buyer.example>"
    assert reply["Content-Language"] == "de"
    text = reply.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Bestellung 4500012346, Position 20" in body
    assert "Termin: bestellt 2026-12-08, Ihre Angabe 2026-12-15" in body
    decision = gateway.decision(message_id)
    assert (decision.outcome, decision.why, decision.wire_id) == \
        ("queued", None, "reply.t0001@gw.buyer.example")


@pytest.mark.parametrize(("extra", "mail_from", "why"), [
    ("Auto-Submitted: auto-replied\r\n", SUPPLIER, "auto_submitted: Auto-Submitted"),
    ("Precedence: bulk\r\n", SUPPLIER, "bulk: Precedence: bulk"),
    ("List-Id: <suppliers.lists.acme.example>\r\n", SUPPLIER, "list: list-id present"),
    ("", "", "bounce: null return path"),
])
def test_auto_replies_bulk_lists_and_bounces_get_no_reply(
        gateway: Gateway, keys: dict[str, Keys], extra: str,  # noqa: F811
        mail_from: str, why: str) -> None:
    message_id = gateway.send(signed(mail(ANSWER, extra=extra), keys), mail_from)
    row = gateway.outbox(message_id)
    assert row.state == "suppressed"
    assert row.state_reason is not None
    assert why in row.state_reason
    assert gateway.decision(message_id).outcome == "suppressed"


def test_our_own_message_coming_back_gets_no_reply(gateway: Gateway,
                                                  keys: dict[str, Keys]) -> None:  # noqa: F811
    message_id = gateway.send(signed(mail(ANSWER, message_id="<reply.x1@gw.buyer.example>"),
                                     keys), SUPPLIER)
    assert "own_message" in (gateway.outbox(message_id).state_reason or "")


def test_a_sender_not_authenticated_as_the_supplier_gets_no_reply(gateway: Gateway) -> None:
    message_id = gateway.send(mail(ANSWER), ATTACKER)
    row = gateway.outbox(message_id)
    assert row.state == "suppressed"
    assert "sender not authenticated as the supplier (trust unverified)" in \
        (row.state_reason or "")
    with gateway.transaction() as session:
        # The buyer is alerted to the unverified mail (UNVERIFIED_SENDER); the sender hears
        # nothing.
        pending = session.scalars(select(OutboundMessageRow.kind).where(
            OutboundMessageRow.state == "pending")).all()
    assert "email_reply" not in pending


# -- without SMTP: files handed in by an operator -----------------------------------------


def operator_mail(number: int, body: str = ANSWER) -> Intake:
    raw = mail(body, message_id=f"<m{number}@acme.example>", subject=f"PO 4500012346 #{number}")
    return Intake(raw, "cli", "operator", f"mail-{number}.eml", None)


def decisions(transaction: UnitOfWork) -> list[tuple[str, str | None]]:
    with transaction() as session:
        return [(row.outcome, row.why) for row in session.scalars(
            select(EmailReplyRow).order_by(EmailReplyRow.id))]


def test_at_most_n_replies_per_supplier_per_hour(engine: Engine, tmp_path: Path) -> None:
    transaction = setup(engine, tmp_path, ReplySettings(max_per_hour=2))
    ingest(transaction, [operator_mail(n) for n in range(3)], TODAY, NOW)
    later = NOW + timedelta(minutes=59)
    ingest(transaction, [operator_mail(3)], TODAY, later)
    ingest(transaction, [operator_mail(4)], TODAY, NOW + timedelta(minutes=61))
    found = decisions(transaction)
    assert [outcome for outcome, _why in found] == \
        ["queued", "queued", "suppressed", "suppressed", "queued"]
    assert "cap reached: 2 replies to this supplier in the last hour" in (found[2][1] or "")
    with transaction() as session:
        states = [row.state for row in session.scalars(
            select(OutboundMessageRow).where(TO_SUPPLIERS).order_by(OutboundMessageRow.id))]
        # An operator's file is answered at the address the partner entry lists first.
        recipients = {row.recipient for row in session.scalars(
            select(OutboundMessageRow).where(TO_SUPPLIERS))}
    assert states == ["pending", "pending", "suppressed", "suppressed", "pending"]
    assert recipients == {SUPPLIER}


def test_a_reply_shows_nothing_of_another_suppliers_order(engine: Engine,
                                                          tmp_path: Path) -> None:
    transaction = setup(engine, tmp_path, ReplySettings())
    body = ("PO 4500099999 line 10: 7 pcs confirmed, delivery 2026-12-09\r\n"
            "PO 4500099999 line 20: maybe 3 pcs if we find them")
    ingest(transaction, [operator_mail(1, body)], TODAY, NOW)
    with transaction() as session:
        row = session.scalars(select(OutboundMessageRow).where(TO_SUPPLIERS)).one()
    text = row.payload.decode("utf-8", "replace")
    reply = parsed(row.payload)
    plain = reply.get_body(("plain",))
    assert plain is not None
    content = plain.get_content()
    assert "Eine offene Bestellung 4500099999 bei Ihnen ist uns nicht bekannt" in content
    for secret in ("Beta", "BETA", "99.5", "ben.buyer", "orders@beta.example",
                   "Traceback"):
        assert secret not in text
        assert secret not in content
    # The unreadable line gets a table to fill in: the lines of Acme's own order that the
    # subject names, none of Beta's.
    table = [line for line in content.splitlines() if line.startswith("| 45")]
    assert table == ["| 4500012346 | 10 |  |  |  |", "| 4500012346 | 20 |  |  |  |"]


def test_replies_turned_off_are_recorded_not_sent(engine: Engine, tmp_path: Path) -> None:
    transaction = setup(engine, tmp_path, ReplySettings(enabled=False))
    ingest(transaction, [operator_mail(1)], TODAY, NOW)
    assert decisions(transaction) == [("suppressed",
                                       "replies are turned off (GATEWAY_REPLIES)")]


# -- reminders ----------------------------------------------------------------------------


def test_reminders_go_every_n_days_at_most_m_times(engine: Engine, tmp_path: Path) -> None:
    transaction = setup(engine, tmp_path, ReplySettings())
    # Nobody answered: on 12-01 both of Acme's lines and Beta's line are overdue.
    moments = [datetime(2026, 12, 1, 6, tzinfo=UTC) + timedelta(days=d)
               for d in (0, 1, 2, 3, 4, 5, 6)]
    sent: list[int] = []
    for moment in moments:
        with transaction() as session:
            check_overdue(session, moment.date(), moment)
            sent.append(sum(1 for r in remind_suppliers(session, moment) if r.why_not is None))
    # Every 2 days, at most 2 times: 12-01 and 12-03, then never again. Beta asks for none.
    assert sent == [1, 0, 1, 0, 0, 0, 0]
    with transaction() as session:
        rows = list(session.scalars(select(OutboundMessageRow).where(TO_SUPPLIERS)
                                    .order_by(OutboundMessageRow.id)))
        counts = {row.sent for row in session.scalars(select(SupplierReminderRow))}
    assert [(row.kind, row.recipient, row.supplier_code) for row in rows] == \
        [("reminder", SUPPLIER, "ACME")] * 2
    assert counts == {2}
    second = parsed(rows[1].payload)
    assert second["Subject"] == "Erinnerung: Bitte bestätigen Sie unsere Bestellung 4500012346"
    plain = second.get_body(("plain",))
    assert plain is not None
    assert "Erinnerung 2 von höchstens 2." in plain.get_content()
    assert "| 4500012346 | 20 |  | 1500 PCE | 2026-12-08 |" in plain.get_content()


def session_supplier(session: Session, code: str) -> Supplier:
    return session.scalars(select(Supplier).where(Supplier.code == code)).one()


@pytest.mark.parametrize(("key", "value"), [
    ("language", "fr"), ("language", 3), ("reminders", "yes"), ("reminder_every_days", 0),
    ("reminder_max", "3"), ("reminder_max", True)])
def test_partner_keys_are_checked(engine: Engine, key: str, value: Any) -> None:
    with make_session_factory(engine).begin() as session, \
            pytest.raises(ConfigurationError, match=key):
        load_partners(session, {"suppliers": [{**BETA, key: value}]}, NOW)


def test_partner_keys_are_stored(engine: Engine, tmp_path: Path) -> None:
    transaction = setup(engine, tmp_path, ReplySettings())
    with transaction() as session:
        acme, beta = session_supplier(session, "ACME"), session_supplier(session, "BETA")
        assert (acme.language, acme.reminders, acme.reminder_every_days, acme.reminder_max) \
            == ("de", True, 2, 2)
        assert (beta.language, beta.reminders, beta.reminder_every_days, beta.reminder_max) \
            == (None, False, None, None)


def test_the_demo_answers_albrecht_in_german(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gateway.cli import cli

    samples = Path(__file__).resolve().parents[2] / "samples" / "demo"
    database = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--samples", str(samples), "--database",
                                      str(database)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "7. Email replies to suppliers, waiting in the outbox" in result.output
    assert "Diesen Teil Ihrer Nachricht konnten wir nicht sicher lesen:" in result.output
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(OutboundMessageRow.payload,
                                             OutboundMessageRow.recipient).where(
                OutboundMessageRow.kind == "email_reply")).all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    reply = parsed(rows[0].payload)
    assert rows[0].recipient == "auftrag@schraubenwerk-albrecht.example"
    assert reply["Content-Language"] == "de"
    assert reply["In-Reply-To"] == "<ab-4500012346-2@schraubenwerk-albrecht.example>"
    assert reply["Subject"] == "Re: Bestellung 4500012346"


def test_a_message_processed_again_is_not_answered_again(engine: Engine,
                                                         tmp_path: Path) -> None:
    from gateway.services.replay import replay

    transaction = setup(engine, tmp_path, ReplySettings())
    reports = ingest(transaction, [operator_mail(1)], TODAY, NOW)
    replay(transaction, reports[0].message_id, TODAY, NOW + timedelta(minutes=5))
    assert decisions(transaction) == [("queued", None)]
    with transaction() as session:
        assert len(session.scalars(select(OutboundMessageRow).where(TO_SUPPLIERS)).all()) == 1
