"""Values a database refuses (a NUL character in text, an over-long id, a number beyond the
column) are reported where they stand, on SQLite and PostgreSQL alike: the message is processed
with a visible reason, never `failed` on a DataError."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from gateway.domain.messages import MessageState
from gateway.persistence.models import InboundMessage
from tests.integration.test_email_replies import (
    Transaction,
    exceptions_of,
    line_states,
    take_in,
    transaction,
)
from tests.integration.test_store import GLN, import_orders, ingest, sessions

__all__ = ["sessions", "transaction"]


def csv_reply(csv: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "orders@devries-verpakkingen.example"
    mail["To"] = "orders@brenner-antrieb.example"
    mail["Subject"] = "RE: PO 4500020001"
    mail["Message-ID"] = "<nul-1@devries-verpakkingen.example>"
    mail.set_content("Our confirmation attached.")
    mail.add_attachment(csv, maintype="text", subtype="csv", filename="AB_4500020001.csv")
    return bytes(mail)


HEADER = b"Order;Line;Item;Quantity;Unit;Delivery date\r\n"


def test_a_nul_in_a_csv_cell_goes_to_the_buyer_with_its_place(transaction: Transaction) -> None:
    raw = csv_reply(HEADER + b"4500020001;10;AB-1;400;PCE;05.12.2026\r\n"
                             b"4500020001;2\x000;AB-2;200;PCE;05.12.2026\r\n")
    report = take_in(transaction, raw)
    assert report.state is MessageState.RECONCILED, report.reason
    with transaction() as session:
        [exception] = exceptions_of(session)
        assert (exception.code, exception.order_number, exception.owner) == (
            "UNREADABLE_REPLY", "4500020001", "owner.a@brenner-antrieb.example")
        assert exception.actual is not None
        assert ("attachment 'AB_4500020001.csv': line 2: order_line_no '2\\x000' holds a "
                "NUL character (at 2)") in exception.actual
        message = session.get(InboundMessage, report.message_id)
        assert message is not None
        assert message.problems is not None
        assert [p["code"] for p in message.problems] == ["INVALID_CHARACTER"]
        # The sheet is one document: nothing of it is applied, nothing guessed.
        assert {state for state, _, _ in line_states(session, "4500020001").values()} == {
            "open"}


def _edifact(*messages: str) -> bytes:
    """An interchange of ORDRSP messages from ACME, each `BGM ... ` onwards."""
    body = "".join(f"UNH+{n}+ORDRSP:D:96A:UN:EAN005'{segments}UNT+{segments.count(chr(39)) + 2}"
                   f"+{n}'" for n, segments in enumerate(messages, 1))
    return (f"UNA:+.? 'UNB+UNOC:3+{GLN}:14+5400000000001:14+261126:0900+IC9'{body}"
            f"UNZ+{len(messages)}+IC9'").encode()


def test_edifact_messages_with_refused_values_are_refused_alone(sessions: object,
                                                                tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    good = ("BGM+231+RSP-1+4'RFF+ON:4500000001'"
            "LIN+1+5+4000862141404:EN'QTY+113:100:PCE'RFF+ON:4500000001:10'")
    nul = ("BGM+231+RSP-2+4'RFF+ON:4500000001'"
           "LIN+2+5+4000862141411:EN'QTY+113:50:PCE'RFF+ON:4500000001:2\x000'")
    huge = ("BGM+231+RSP-3+4'RFF+ON:4500000002'"
            "LIN+1+5+4000862141435:EN'QTY+113:123456789012345678901234567890:PCE'"
            "RFF+ON:4500000002:10'")
    long_number = f"BGM+231+{'R' * 71}+4'RFF+ON:4500000002'"
    message_id, report = ingest(sessions, _edifact(good, nul, huge, long_number))
    assert report.state is MessageState.RECONCILED  # type: ignore[attr-defined]
    assert report.reason == "3 message(s) of the file refused"  # type: ignore[attr-defined]
    with sessions() as session:  # type: ignore[operator]
        message = session.get(InboundMessage, message_id)
        assert [(p["code"], p["message_index"]) for p in message.problems] == [
            ("INVALID_CHARACTER", 2), ("INVALID_NUMBER", 3), ("INVALID_IDENTIFIER", 4)]
        details = [p["detail"] for p in message.problems]
        assert details[0] == ("msg.edi, ORDRSP message 2: line 1: order_line_no '2\\x000' holds "
                              "a NUL character (at 2), which cannot be stored; nothing of this "
                              "document is applied")
        assert "quantity '123456789012345678901234567890' has more than 26 digits" in details[1]
        assert "document_number 'RRRR" in details[2]
        assert "longer than the 70 kept" in details[2]
        states = {(number, line): state for number in ("4500000001", "4500000002")
                  for line, (state, _, _) in line_states(session, number).items()}
        assert states == {("4500000001", "10"): "confirmed", ("4500000001", "20"): "open",
                          ("4500000002", "10"): "open"}


def test_an_exception_quoting_long_item_ids_fits_its_column(transaction: Transaction) -> None:
    """Three ids of 64 characters on a line of no order: the UNKNOWN_LINE text (over 200
    characters) is cut to the column, not refused by the database."""
    ids = b";".join(bytes([ord("A") + n]) * 64 for n in range(3))
    raw = csv_reply(b"Order;Line;GTIN;Customer part;Supplier part;Quantity;Unit\r\n"
                    b"4500020001;90;" + ids + b";5;PCE\r\n")
    report = take_in(transaction, raw)
    assert report.state is MessageState.RECONCILED, report.reason
    with transaction() as session:
        [exception] = [e for e in exceptions_of(session) if e.code == "UNKNOWN_LINE"]
        assert exception.actual is not None
        assert len(exception.actual) == 200
        assert exception.actual.startswith("GTIN " + "A" * 64 + ", buyer's " + "B" * 64)
        assert exception.actual.endswith("C…")
