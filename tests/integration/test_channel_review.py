"""Review of the email channels against the real thing: aiosmtpd on loopback, a private Dovecot,
SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.exc import InterfaceError, SQLAlchemyError

from gateway.bootstrap import make_session_factory
from gateway.channels.imap import ImapConnection, MailboxPoller
from gateway.channels.imap_decisions import sender_address
from gateway.channels.mailboxes import MailboxSettings, TlsMode
from gateway.persistence.models import InboundMessage
from gateway.services.ingest import Intake, archive
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.pipeline import ProcessingDeferred
from tests.integration import test_imap as imap_case
from tests.integration import test_smtp as smtp_case
from tests.integration.test_imap import PASSWORD, SQLITE, Dovecot, mail, messages
from tests.integration.test_smtp import OURS, read_reply, smtp_server, stored

# The fixtures of the channel tests, used here by name.
dovecot_factory = imap_case.dovecot_factory
dovecot = imap_case.dovecot
transaction = smtp_case.transaction

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# -- SMTP: a sender address no database can store ----------------------------------------------


@pytest.mark.parametrize("sender", [b"a\xffb@acme.example", b"a\x00b@acme.example"])
def test_a_sender_that_cannot_be_stored_is_refused_at_mail_not_deferred_forever(
        engine: Engine, transaction: Callable[[], object], sender: bytes) -> None:
    # Not UTF-8 (RFC 6531 requires it), or NUL (PostgreSQL text refuses it): a 451 after DATA
    # would make the sender retry for days and never deliver; RFC 3463 X.1.7 says why now.
    message = mail("after a bad sender")
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        read_reply(replies)
        sock.sendall(b"EHLO mx.acme.example\r\n")
        read_reply(replies)
        sock.sendall(b"MAIL FROM:<" + sender + b"> SMTPUTF8\r\n")
        code, text = read_reply(replies)
        assert (code, text[4:9]) == (553, "5.1.7")
        # The session goes on with a sender that can be stored.
        sock.sendall(b"MAIL FROM:<orders@acme.example>\r\nRCPT TO:<" + OURS.encode()
                     + b">\r\nDATA\r\n")
        assert [read_reply(replies)[0] for _ in range(3)] == [250, 250, 354]
        sock.sendall(message + b"\r\n.\r\nQUIT\r\n")
        assert [read_reply(replies)[0] for _ in range(2)] == [250, 221]
    assert [row.sender for row in stored(engine)] == ["orders@acme.example"]


# -- IMAP: a From header no database can store ---------------------------------------------


def test_a_from_header_with_nul_does_not_fail_the_archive(engine: Engine) -> None:
    # On PostgreSQL a NUL in the sender failed the batch's archive at every poll: the mailbox
    # never got past that message.
    raw = b"From: orders@acme.example\x00\r\nSubject: x\r\n\r\nbody\r\n"
    with make_session_factory(engine).begin() as session:
        archived = archive(session, Intake(raw, "imap", sender_address(raw)), NOW)
    assert archived.duplicate_of is None


# -- IMAP: mail that arrives while a poll is under way --------------------------------------


class _DeliveringDuringPoll(ImapConnection):
    """The real connection; right after its first UID SEARCH another message arrives, as it
    does when a supplier's mail lands while the gateway is moving the previous one."""

    server: Dovecot
    raw: bytes
    delivered = False

    def uids_after(self, last_uid: int) -> list[int]:
        found = super().uids_after(last_uid)
        if not type(self).delivered:
            type(self).delivered = True
            self.server.deliver(self.raw)
        return found


@SQLITE
def test_mail_arriving_during_a_poll_is_taken_without_waiting_for_the_idle_timeout(
        dovecot: Dovecot, engine: Engine) -> None:
    first, second = mail("first"), mail("arrived during the poll")
    dovecot.deliver(first)
    connection = type("Delivering", (_DeliveringDuringPoll,),
                      {"server": dovecot, "raw": second, "delivered": False})
    settings = MailboxSettings(name="orders", host="127.0.0.1", port=dovecot.port,
                               tls=TlsMode.NONE, user=dovecot.user, password=PASSWORD,
                               poll_seconds=600, idle_seconds=600, timeout_seconds=10,
                               retry_initial_seconds=0.2, retry_max_seconds=0.5)
    stop = threading.Event()
    poller = MailboxPoller(settings, make_session_factory(engine).begin,
                           lambda: datetime.now(UTC), stop, connect=connection.open)
    thread = threading.Thread(target=poller.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(messages(engine)) < 2:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [m.raw for m in messages(engine)] == [first, second], \
        "the EXISTS the server sent during the poll was missed: IDLE waited for its timeout"


# -- the worker: the database going away is not the message's fault -------------------------


def test_a_lost_connection_while_processing_marks_no_message_failed(engine: Engine) -> None:
    # psycopg reports a connection that died under it as InterfaceError ("the connection is
    # closed"), not OperationalError: the worker took that as the message's own failure.
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        ids = [archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"), NOW)
               .message_id for n in range(2)]
    failing = {"left": 2}

    def connection_lost(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if failing["left"] and statement.lstrip().startswith("SELECT inbound_messages.id, "
                                                             "inbound_messages.state, "
                                                             "inbound_messages.raw"):
            failing["left"] -= 1
            raise InterfaceError(statement, {}, Exception("the connection is closed"))

    event.listen(engine, "before_cursor_execute", connection_lost)
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW)
    try:
        for _attempt in range(5):
            try:
                if worker.run_once() == 0:
                    break
            except (SQLAlchemyError, ProcessingDeferred):
                continue   # what the worker's loop does: wait, then try again
    finally:
        event.remove(engine, "before_cursor_execute", connection_lost)
    states = {m.id: m.state for m in messages(engine)}
    assert sorted(states) == ids
    assert "failed" not in states.values()
    assert "received" not in states.values()


# -- SMTP: a line longer than 1000 octets -------------------------------------------------------


def test_an_edifact_interchange_on_one_long_line_is_stored_not_bounced(
        engine: Engine, transaction: Callable[[], object]) -> None:
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


def test_the_in_process_worker_fails_a_message_that_never_finished(engine: Engine) -> None:
    # `gateway run` has no broker to redeliver: a message whose processing took the process
    # down (out of memory, a crash in a native reader) would be taken again at every restart
    # and hold back every later one. Its starts are counted like a Celery worker's.
    unit_of_work = make_session_factory(engine).begin
    with unit_of_work() as session:
        poison, fine = (archive(session, Intake(mail(f"m{n}"), "smtp", "orders@acme.example"),
                                NOW).message_id for n in range(2))
        session.execute(update(InboundMessage).where(InboundMessage.id == poison)
                        .values(attempts=5))
    worker = ReceivedWorker(unit_of_work, ["smtp"], lambda: NOW.date(), lambda: NOW,
                            max_attempts=5)
    assert worker.run_once() == 2
    with unit_of_work() as session:
        rows = dict(session.execute(select(InboundMessage.id, InboundMessage.state_reason)
                                    .where(InboundMessage.state == "failed")).all())
    assert list(rows) == [poison]
    assert "never finished" in rows[poison]
    assert {m.id: m.state for m in messages(engine)}[fine] != "failed"
