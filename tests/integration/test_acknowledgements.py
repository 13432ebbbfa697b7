"""EDIFACT acknowledgements decided in the processing write step and handed to the outbox, on
SQLite and PostgreSQL; the interchange control reference counter under two writers at once."""

from __future__ import annotations

import email
import email.policy
import io
import threading
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import OutboundSettings
from gateway.domain.messages import MessageState
from gateway.persistence.models import EmailReplyRow, InboundMessage, OutboundMessageRow
from gateway.services.acknowledgements import next_reference
from gateway.services.ingest import Intake, archive, process
from gateway.services.outbox_sender import OutboxSender, Transports
from gateway.services.partners import load_partners
from gateway.services.replay import replay
from parsers.edifact import EdifactMessage, parse_edifact
from tests.integration.conftest import transactions
from tests.integration.replying import email_with_attachment, process_email, replying_sessions
from tests.integration.test_ingest import (
    GLN,
    LINE_10,
    NOW,
    ORDERS_CSV,
    TODAY,
    import_orders,
    interchange,
    ordrsp,
)

PARTNERS = {
    "suppliers": [
        {"code": "ACME", "name": "Acme Fasteners GmbH",
         "emails": ["edi@acme.example", "orders@acme.example"],
         "edi_ids": [{"id": GLN, "qualifier": "14"}], "buyer_contact": "anna@buyer.example",
         "contrl": "always", "aperak": "on_error"},
    ],
}


@pytest.fixture
def sessions(engine: Engine) -> object:
    return transactions(engine, PARTNERS, NOW)


def _process(sessions: object, raw: bytes) -> int:
    with sessions() as session:  # type: ignore[operator]
        message_id = archive(session, Intake(raw, "cli", "as2:acme", "msg.edi"), NOW).message_id
    with sessions() as session:  # type: ignore[operator]
        process(session, message_id, TODAY, NOW)
    return message_id


def _sent(sessions: object) -> list[OutboundMessageRow]:
    with sessions() as session:  # type: ignore[operator]
        rows = list(session.scalars(select(OutboundMessageRow).order_by(OutboundMessageRow.id)))
        session.expunge_all()
        return rows


def _interchange(row: OutboundMessageRow) -> tuple[Message, list[EdifactMessage]]:
    mail = email.message_from_bytes(row.payload)
    (part,) = [p for p in mail.walk() if p.get_content_type() == "application/edifact"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    items = list(parse_edifact(io.BytesIO(data)))
    messages = [m for m in items if isinstance(m, EdifactMessage)]
    assert len(messages) == len(items)
    assert [m.problems for m in messages] == [[] for _m in messages]
    return mail, messages


def test_a_response_with_an_unknown_line_gets_a_contrl_and_an_aperak(
        sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    raw = interchange("ORDRSP+'BGM+231+RSP-9+4'RFF+ON:4500000001'"
                      "LIN+1+5+4000862141404:EN'QTY+113:100:PCE'DTM+69:20261205:102'"
                      "RFF+ON:4500000001:10'LIN+2+5+4000862141999:EN'QTY+113:5:PCE'"
                      "RFF+ON:4500000001:90'", "SUP-IC-7")
    message_id = _process(sessions, raw)
    contrl, aperak = _sent(sessions)
    assert (contrl.kind, aperak.kind) == ("contrl", "aperak")
    assert {contrl.recipient, aperak.recipient} == {"edi@acme.example"}
    assert (contrl.message_id, aperak.message_id) == (message_id, message_id)
    assert contrl.wire_id != aperak.wire_id
    mail, (message,) = _interchange(contrl)
    assert mail["Message-ID"] == f"<{contrl.wire_id}>"
    assert message.type == "CONTRL"
    assert message.interchange is not None
    assert message.interchange.receiver == GLN
    assert message.interchange.reference == "1"
    uci = message.segments[0]
    assert (uci.tag, uci.component(0), uci.component(3)) == ("UCI", "SUP-IC-7", "7")
    _mail, (answer,) = _interchange(aperak)
    assert answer.type == "APERAK"
    assert answer.interchange is not None
    assert answer.interchange.reference == "2"
    errors = [s.component(0, 0) for s in answer.segments if s.tag == "ERC"]
    # Line 90 is not on the order; its GTIN's check digit is wrong too (kept, and reported).
    assert errors == ["11", "50"]
    texts = [" ".join(s.parts(3)) for s in answer.segments if s.tag == "FTX"]
    assert "your line 90" in texts[0]
    assert "4000862141999" in texts[1]


def test_a_clean_response_gets_only_the_contrl_the_partner_always_wants(
        sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    _process(sessions, ordrsp("100", "RSP-1"))
    assert [row.kind for row in _sent(sessions)] == ["contrl"]


def test_an_interchange_nothing_of_which_is_read_is_rejected_by_contrl(
        sessions: object) -> None:
    """Quarantined as unreadable: no document names the supplier, the UNB sender does."""
    raw = (f"UNB+UNOC:3+{GLN}:14+5400000000001:14+261126:0900+CUT-1'"
           "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+4'").encode()
    _process(sessions, raw)
    (row,) = _sent(sessions)
    _mail, (message,) = _interchange(row)
    uci, ucm = message.segments[0], message.segments[1]
    assert (uci.component(0), uci.component(3)) == ("CUT-1", "4")
    assert (ucm.tag, ucm.component(2), ucm.component(3)) == ("UCM", "4", "13")


def test_two_writers_never_get_the_same_control_reference(engine: Engine) -> None:
    """Two transactions take numbers for one partner at once: the second waits for the
    first's row lock and gets the next number; none is used twice."""
    factory = make_session_factory(engine)
    taken: list[int] = []
    first_holds = threading.Event()
    errors: list[BaseException] = []

    def writer(hold: bool) -> None:
        try:
            with factory.begin() as session:
                taken.append(next_reference(session, "ACME"))
                if hold:
                    first_holds.set()
                    # Keep the row locked while the other writer asks for a number.
                    threading.Event().wait(0.3)
                    taken.append(next_reference(session, "ACME"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    holder = threading.Thread(target=writer, args=(True,))
    holder.start()
    assert first_holds.wait(10)
    second = threading.Thread(target=writer, args=(False,))
    second.start()
    holder.join(10)
    second.join(10)
    assert errors == []
    assert sorted(taken) == [1, 2, 3]
    if engine.dialect.name == "postgresql":
        # The second writer waited for the first's commit: it got the number after both.
        assert taken == [1, 2, 3]


def test_the_partner_keys_are_stored_and_checked(sessions: object) -> None:
    from gateway.errors import ConfigurationError
    from gateway.persistence.models import Supplier
    from gateway.services.lookups import Lookups
    from gateway.services.partners import load_partners

    with sessions() as session:  # type: ignore[operator]
        found = Lookups(session).supplier("ACME")
        assert found is not None
        assert (found.contrl, found.aperak, found.reply_to) == \
            ("always", "on_error", "edi@acme.example")
    with sessions() as session:  # type: ignore[operator]
        loaded = load_partners(session, PARTNERS, NOW)
    assert loaded.acknowledged == ["ACME (contrl always, aperak on_error)"]
    wrong = {"suppliers": [{"code": "ACME", "name": "Acme", "contrl": "sometimes"}]}
    with pytest.raises(ConfigurationError, match="contrl = 'sometimes'"), \
            sessions() as session:  # type: ignore[operator]
        load_partners(session, wrong, NOW)
    plain = {"suppliers": [{"code": "ACME", "name": "Acme"}]}
    with sessions() as session:  # type: ignore[operator]
        load_partners(session, plain, NOW)
    with sessions() as session:  # type: ignore[operator]
        row = session.scalars(select(Supplier).where(Supplier.code == "ACME")).one()
        assert (row.contrl, row.aperak) == (None, None)


def test_a_partner_asking_for_nothing_gets_nothing(sessions: object, tmp_path: Path) -> None:
    from gateway.services.partners import load_partners

    quiet = {"suppliers": [{"code": "ACME", "name": "Acme", "emails": ["edi@acme.example"],
                            "edi_ids": [{"id": GLN, "qualifier": "14"}]}]}
    with sessions() as session:  # type: ignore[operator]
        load_partners(session, quiet, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    _process(sessions, ordrsp("80", "RSP-2"))
    assert _sent(sessions) == []


# -- An interchange attached to an email -------------------------------------------------

UNKNOWN_LINE = ("ORDRSP+'BGM+231+RSP-9+4'RFF+ON:4500000001'"
                "LIN+1+5+4000862141404:EN'QTY+113:100:PCE'DTM+69:20261205:102'"
                "RFF+ON:4500000001:10'LIN+2+5+4000862141404:EN'QTY+113:5:PCE'"
                "RFF+ON:4500000001:90'")


def _email_with(attachment: bytes, body: str = "Please find our order response attached.",
                filename: str = "ordrsp.edi") -> bytes:
    return email_with_attachment(attachment, subtype="EDIFACT", filename=filename,
                                 subject="Order response 4500000001",
                                 message_id="<edi-1@acme.example>", body=body)


def test_an_interchange_attached_to_an_email_is_acknowledged_like_a_bare_one(
        engine: Engine, tmp_path: Path) -> None:
    """CONTRL and APERAK for the attached interchange, from the configured sender; and no
    prose reply as well: the EDI acknowledgement is the answer."""
    sessions = replying_sessions(engine, PARTNERS)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = process_email(sessions, _email_with(interchange(UNKNOWN_LINE, "SUP-IC-8")))
    rows = _sent(sessions)
    assert [row.kind for row in rows] == ["contrl", "aperak"]
    contrl, aperak = rows
    assert {contrl.message_id, aperak.message_id} == {message_id}
    assert {contrl.recipient, aperak.recipient} == {"edi@acme.example"}
    assert {contrl.sender, aperak.sender} == {"edi@buyer.example"}
    mail, (message,) = _interchange(contrl)
    assert mail["From"] == "edi@buyer.example"
    assert mail["Message-ID"] == f"<{contrl.wire_id}>"
    assert contrl.wire_id.endswith("@gw.buyer.example")
    assert message.type == "CONTRL"
    uci = message.segments[0]
    assert (uci.tag, uci.component(0), uci.component(3)) == ("UCI", "SUP-IC-8", "7")
    _mail, (answer,) = _interchange(aperak)
    assert [s.component(0, 0) for s in answer.segments if s.tag == "ERC"] == ["11"]
    with sessions() as session:  # type: ignore[operator]
        assert session.scalars(select(EmailReplyRow)).all() == []


def test_each_attached_interchange_is_answered_on_its_own(
        engine: Engine, tmp_path: Path) -> None:
    sessions = replying_sessions(engine, PARTNERS)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    raw = _email_with(ordrsp("100", "RSP-1", ref="IC-A"))
    mail = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    mail.add_attachment(interchange(UNKNOWN_LINE, "IC-B"), maintype="application",
                        subtype="EDIFACT", filename="second.edi")
    process_email(sessions, mail.as_bytes())
    rows = _sent(sessions)
    assert [row.kind for row in rows] == ["contrl", "contrl", "aperak"]
    answered = [_interchange(row)[1][0].segments[0].component(0) for row in rows[:2]]
    assert answered == ["IC-A", "IC-B"]
    # The APERAK answers the second interchange only: the first had no business problem.
    assert "IC-B" in rows[2].reason


def test_an_email_with_an_interchange_and_text_is_answered_in_prose_about_its_text(
        engine: Engine, tmp_path: Path) -> None:
    sessions = replying_sessions(engine, PARTNERS)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    body = "PO 4500000001 line 20: 50 pcs confirmed, delivery 2026-12-05"
    process_email(sessions, _email_with(ordrsp("100", "RSP-3"), body))
    rows = _sent(sessions)
    assert sorted(row.kind for row in rows) == ["contrl", "email_reply"]
    (reply,) = [row for row in rows if row.kind == "email_reply"]
    assert reply.sender == "einkauf@buyer.example"
    text = email.message_from_bytes(reply.payload, policy=email.policy.default)
    assert isinstance(text, EmailMessage)
    plain = text.get_body(("plain",))
    assert plain is not None
    content = plain.get_content()
    # Line 20 came in the text; line 10 in the interchange, which the CONTRL answers.
    assert "Line 20: confirmed as ordered" in content
    assert "Line 10" not in content
    assert LINE_10 not in content


def test_a_supplier_without_edi_acknowledgements_gets_the_prose_reply(
        engine: Engine, tmp_path: Path) -> None:
    quiet = {"suppliers": [{**PARTNERS["suppliers"][0], "contrl": "never",  # type: ignore[dict-item]
                            "aperak": "never"}]}
    sessions = replying_sessions(engine, quiet)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    process_email(sessions, _email_with(ordrsp("100", "RSP-4")))
    assert [row.kind for row in _sent(sessions)] == ["email_reply"]


# -- acknowledged ------------------------------------------------------------------------


def _state(sessions: object, message_id: int) -> str:
    with sessions() as session:  # type: ignore[operator]
        return session.scalars(select(InboundMessage.state)
                               .where(InboundMessage.id == message_id)).one()


def _drain(sessions: object, tmp_path: Path) -> list[int]:
    settings = OutboundSettings(drop_dir=tmp_path / "outbox")
    sender = OutboxSender(sessions, Transports.from_settings(settings),  # type: ignore[arg-type]
                          settings, lambda: NOW, "test", rand=lambda: 1.0)
    return sender.drain().sent


def test_a_message_is_acknowledged_once_its_answer_is_sent_and_can_be_replayed(
        sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = _process(sessions, ordrsp("100", "RSP-5"))
    assert _state(sessions, message_id) == "reconciled"
    assert len(_drain(sessions, tmp_path)) == 1
    assert _state(sessions, message_id) == "acknowledged"
    report = replay(sessions, message_id, TODAY, NOW)  # type: ignore[arg-type]
    assert report.state is MessageState.RECONCILED
    assert _state(sessions, message_id) == "reconciled"


def test_a_quarantined_interchange_answered_by_contrl_stays_quarantined(
        sessions: object, tmp_path: Path) -> None:
    raw = (f"UNB+UNOC:3+{GLN}:14+5400000000001:14+261126:0900+CUT-2'"
           "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+4'").encode()
    message_id = _process(sessions, raw)
    assert len(_drain(sessions, tmp_path)) == 1
    assert _state(sessions, message_id) == "quarantined"


def test_an_alert_sent_acknowledges_nothing(sessions: object, tmp_path: Path) -> None:
    from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
    from gateway.services.outbox import enqueue

    import_orders(sessions, tmp_path, ORDERS_CSV)
    quiet = {"suppliers": [{**PARTNERS["suppliers"][0], "contrl": "never"}]}  # type: ignore[dict-item]
    with sessions() as session:  # type: ignore[operator]
        load_partners(session, quiet, NOW)
    message_id = _process(sessions, ordrsp("100", "RSP-6"))
    with sessions() as session:  # type: ignore[operator]
        enqueue(session, OutboundDraft(OutboundKind.ALERT, Transport.SMTP, "anna@buyer.example",
                                       b"Subject: x\r\n\r\nx\r\n", "alert-1@gw.example",
                                       "test alert", message_id=message_id), NOW)
    assert len(_drain(sessions, tmp_path)) == 1
    assert _state(sessions, message_id) == "reconciled"


# -- A replay ----------------------------------------------------------------------------


def test_a_replay_that_changes_nothing_sends_no_second_acknowledgement(
        sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = _process(sessions, interchange(UNKNOWN_LINE, "SUP-IC-9"))
    assert [row.kind for row in _sent(sessions)] == ["contrl", "aperak"]
    replay(sessions, message_id, TODAY, NOW)  # type: ignore[arg-type]
    assert [row.kind for row in _sent(sessions)] == ["contrl", "aperak"]


def test_a_replay_whose_result_changed_answers_what_changed_under_a_new_reference(
        engine: Engine, tmp_path: Path) -> None:
    always = {"suppliers": [{**PARTNERS["suppliers"][0], "aperak": "always"}]}  # type: ignore[dict-item]
    sessions = transactions(engine, always, NOW)
    import_orders(sessions, tmp_path, ORDERS_CSV)
    message_id = _process(sessions, interchange(UNKNOWN_LINE, "SUP-IC-10"))
    first = _sent(sessions)
    assert [row.kind for row in first] == ["contrl", "aperak"]
    # The buyer adds line 90 to the order; replayed, the response's line 90 now matches.
    import_orders(sessions, tmp_path, ORDERS_CSV + "4500000001,90,5,PCE,1.00,EUR,2026-12-05,"
                                                   f"{LINE_10},ACME,anna@buyer.example\n")
    replay(sessions, message_id, TODAY, NOW)  # type: ignore[arg-type]
    rows = _sent(sessions)
    # The CONTRL says what it said (the syntax did not change): not sent again.
    assert [row.kind for row in rows] == ["contrl", "aperak", "aperak"]
    again = rows[2]
    assert again.extra is not None
    assert again.extra["interchange_reference"] == "3"
    _mail, (answer,) = _interchange(again)
    assert [s.component(0, 0) for s in answer.segments if s.tag == "ERC"] == []
    _mail, (earlier,) = _interchange(first[1])
    assert [s.component(0, 0) for s in earlier.segments if s.tag == "ERC"] == ["11"]
