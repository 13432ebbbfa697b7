"""SMTP intake never waits behind processing: while the worker of `gateway run` reads a big
message (seconds of parsing that the supplier's bytes decide), mail arriving over real SMTP is
committed and answered at once, on SQLite (one writer at a time) and on PostgreSQL."""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import UTC, date, datetime

from sqlalchemy import Engine, select

from gateway.bootstrap import READ_ONLY
from gateway.persistence.models import InboundMessage
from gateway.services.intake_worker import ReceivedWorker
from tests.integration.conftest import transactions
from tests.integration.test_smtp import NOW, OURS, PARTNERS, mail, smtp_server

# Prose a reader has to go through sentence by sentence, and none of it an answer to an order:
# about half a megabyte, several seconds of reading on a loaded machine.
BIG_BODY = (b"We are sorry for the late answer, production is running at full load this "
            b"week.\r\n") * 6_000
CLIENTS = 10
MAILS_PER_CLIENT = 10


def _row(engine: Engine, message_id: int) -> tuple[str, int]:
    # A reader that begins deferred on SQLite: it must not queue for the write lock itself.
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        state, attempts = connection.execute(
            select(InboundMessage.state, InboundMessage.attempts)
            .where(InboundMessage.id == message_id)).one()
    return state, attempts


def _wait_until_claimed(engine: Engine, message_id: int) -> None:
    deadline = time.monotonic() + 30
    while _row(engine, message_id)[1] == 0:
        assert time.monotonic() < deadline, "the worker never started on the big message"
        time.sleep(0.01)


def _watch_until_processed(engine: Engine, message_id: int, done: list[float]) -> None:
    """Appends to `done` the moment (monotonic) the message was seen out of `received`."""
    deadline = time.monotonic() + 120
    while _row(engine, message_id)[0] == "received" and time.monotonic() < deadline:
        time.sleep(0.01)
    done.append(time.monotonic())


def test_mail_gets_its_250_within_a_second_while_a_big_message_is_processed(
        engine: Engine) -> None:
    transaction = transactions(engine, PARTNERS, NOW)
    worker = ReceivedWorker(transaction, None, lambda: date(2026, 11, 26),
                            lambda: datetime.now(UTC), sweep_seconds=0.2)
    waits: list[float] = []
    answered: list[float] = []
    processed: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send(running_port: int, client_number: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", running_port, local_hostname="mx.acme.example",
                              timeout=60) as client:
                client.ehlo()
                for index in range(MAILS_PER_CLIENT):
                    began = time.monotonic()
                    client.sendmail("orders@acme.example", [OURS],
                                    mail(1000 + client_number * 100 + index))
                    with lock:
                        waits.append(time.monotonic() - began)
                        answered.append(time.monotonic())
        except (OSError, smtplib.SMTPException) as exc:  # asserted in the test's thread
            failures.append(exc)

    with smtp_server(transaction, worker.wake) as running:
        with running.client() as client:
            client.ehlo()
            client.mail("orders@acme.example")
            client.rcpt(OURS)
            code, text = client.data(mail(1, BIG_BODY))
        assert code == 250
        big = int(text.decode().rsplit("#", 1)[1])
        worker.start()
        try:
            _wait_until_claimed(engine, big)
            watcher = threading.Thread(target=_watch_until_processed,
                                       args=(engine, big, processed))
            watcher.start()
            threads = [threading.Thread(target=send, args=(running.port, n))
                       for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            watcher.join(120)
        finally:
            worker.stop(120)
    assert failures == []
    assert len(waits) == CLIENTS * MAILS_PER_CLIENT
    # None of the mails waited for the big message...
    assert max(waits) < 1.0, sorted(waits)[-5:]
    # ... which was being processed when they arrived.
    assert min(answered) < processed[0]
    assert _row(engine, big)[0] == "reconciled"
