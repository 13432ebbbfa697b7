"""How the SMTP intake reads mail data from real clients on loopback (raw sockets), on SQLite
and PostgreSQL: bare LF line ends and long lines are taken and archived as sent, and the SMTP
smuggling patterns never end the data, so no second message can be hidden in a first."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import Engine

from gateway.services.ingest import UnitOfWork
from tests.integration.conftest import transactions
from tests.integration.test_smtp import NOW, OURS, PARTNERS, read_reply, smtp_server, stored


@pytest.fixture
def transaction(engine: Engine) -> UnitOfWork:
    return transactions(engine, PARTNERS, NOW)


def _open_transaction(sock: socket.socket, replies) -> None:  # type: ignore[no-untyped-def]
    assert read_reply(replies)[0] == 220
    sock.sendall(b"EHLO mx.acme.example\r\n")
    assert read_reply(replies)[0] == 250
    sock.sendall(f"MAIL FROM:<orders@acme.example>\r\nRCPT TO:<{OURS}>\r\nDATA\r\n".encode())
    assert [read_reply(replies)[0] for _ in range(3)] == [250, 250, 354]


def _replies_until_closed(replies) -> list[int]:  # type: ignore[no-untyped-def]
    codes = []
    while True:
        line = replies.readline()
        if not line:
            return codes
        if line[3:4] != b"-":
            codes.append(int(line[:3]))


def test_a_mail_over_1_mib_with_bare_lf_line_ends_is_stored_as_sent(
        engine: Engine, transaction: UnitOfWork) -> None:
    """As Postfix takes it by default (smtpd_forbid_bare_newline = normalize): the lines that
    end in LF alone are lines (a leading dot is unstuffed), and the bytes are kept as sent."""
    lines = [f"Line {n}: 80 pcs, delivery 2026-12-05, our reference AB-{n:06d}".encode()
             for n in range(30_000)]
    body = b"From: Acme <orders@acme.example>\nSubject: PO 4500012345\n\n" + b"\n".join(
        lines) + b"\n.a line that starts with a dot\nend\n"
    assert len(body) > 1024 * 1024
    assert b"\r" not in body
    wire = body.replace(b"\n.", b"\n..")   # the client's dot-stuffing, line by line
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        _open_transaction(sock, replies)
        sock.sendall(wire + b"\r\n.\r\nQUIT\r\n")
        code, text = read_reply(replies)
        assert code == 250, text
        assert read_reply(replies)[0] == 221
    (row,) = stored(engine)
    assert row.raw == body + b"\r\n"


def test_a_line_longer_than_a_mebibyte_is_stored_whole(engine: Engine,
                                                       transaction: UnitOfWork) -> None:
    """EDI software mails a whole interchange as one line."""
    interchange = (b"UNA:+.? 'UNB+UNOC:3+4012345000009:14+5400000000001:14+261126:0900+1'"
                   + b"FTX+AAI+++free text of the supplier'" * 60_000 + b"UNZ+1+1'")
    message = b"Subject: ORDRSP\r\n\r\n" + interchange + b"\r\n"
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        _open_transaction(sock, replies)
        sock.sendall(message + b".\r\n")
        assert read_reply(replies)[0] == 250
    (row,) = stored(engine)
    assert row.raw == message


SMUGGLED = (b"MAIL FROM:<ceo@buyer.example>\r\nRCPT TO:<orders@buyer.example>\r\nDATA\r\n"
            b"From: ceo@buyer.example\r\nSubject: smuggled\r\n\r\nPay the invoice now\r\n")


@pytest.mark.parametrize("pattern", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n"],
                         ids=["LF.LF", "LF.CRLF", "CRLF.LF", "CR.CR", "CR.CRLF"])
def test_a_smuggled_second_message_stays_inside_the_first(
        engine: Engine, transaction: UnitOfWork, pattern: bytes) -> None:
    """The SEC Consult patterns (CVE-2023-51764/5/6): a lenient server would end the data
    at the pattern and take the commands after it as a second transaction from the same
    trusted sender. Here one 250 answers the one real end, and one message is stored."""
    first = b"From: orders@acme.example\r\nSubject: hello\r\n\r\nhello" + pattern + SMUGGLED
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        _open_transaction(sock, replies)
        sock.sendall(first + b".\r\nQUIT\r\n")
        codes = _replies_until_closed(replies)
    assert codes == [250, 221]
    (row,) = stored(engine)
    assert row.raw == first


def test_an_edifact_interchange_on_one_long_line_is_stored_not_bounced(
        engine: Engine, transaction: UnitOfWork) -> None:
    # EDI software mails an interchange as the body, segments on one line: aiosmtpd's default
    # answers "500 Line too long" at the end of DATA, a permanent bounce of the supplier's
    # answer. RFC 5321 section 4.5.3.1 asks receivers not to impose such limits.
    segment = "LIN+1++4000862141404:EN'QTY+21:80:PCE'DTM+2:20261205:102'"
    message = (f"From: edi@acme.example\r\nTo: {OURS}\r\nSubject: ORDRSP\r\n\r\n"
               f"UNA:+.? 'UNB+UNOC:3+4012345000009:14+5400000000001:14+261126:0900+1'"
               + segment * 400 + "\r\n").encode()
    assert max(len(line) for line in message.split(b"\r\n")) > 20_000
    with smtp_server(transaction) as running, running.client() as client:
        assert client.sendmail("edi@acme.example", [OURS], message) == {}
    assert [row.raw for row in stored(engine)] == [message]
