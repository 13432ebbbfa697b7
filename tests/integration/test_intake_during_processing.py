"""SMTP intake never waits behind processing: while the worker of `gateway run` is inside the
transaction that reads a big message (seconds of parsing that the supplier's bytes decide),
mail arriving over real SMTP is committed and answered, on SQLite (one writer at a time: the
read transaction must not hold the write lock) and on PostgreSQL.

The worker is held inside that transaction until every mail has been answered, so the test
does not depend on how fast this machine parses: if intake waited for the worker, the mails
would not be answered until it was let go."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from gateway.bootstrap import READ_ONLY
from gateway.persistence.models import InboundMessage
from gateway.services import pipeline
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


def _watch_until_processed(engine: Engine, message_id: int, done: list[float]) -> None:
    """Appends to `done` the moment (monotonic) the message was seen out of `received`."""
    deadline = time.monotonic() + 120
    while _row(engine, message_id)[0] == "received" and time.monotonic() < deadline:
        time.sleep(0.01)
    done.append(time.monotonic())


def _held_after_reading(held: threading.Event, release: threading.Event
                        ) -> Callable[..., Any]:
    """`processing.read_batch` that, once it has read the big message, keeps the worker in
    the read transaction (`pipeline.process_apart` calls it inside one) until released."""
    read_batch = pipeline.read_batch

    def reading(*args: Any, **kwargs: Any) -> Any:
        batch = read_batch(*args, **kwargs)
        if not held.is_set():
            held.set()
            release.wait(120)
        return batch
    return reading


def test_mail_is_answered_while_the_worker_is_inside_a_big_message(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    held, release = threading.Event(), threading.Event()
    monkeypatch.setattr(pipeline, "read_batch", _held_after_reading(held, release))
    transaction = transactions(engine, PARTNERS, NOW)
    worker = ReceivedWorker(transaction, None, lambda: date(2026, 11, 26),
                            lambda: datetime.now(UTC), sweep_seconds=0.2)
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
                    client.sendmail("orders@acme.example", [OURS],
                                    mail(1000 + client_number * 100 + index))
                    with lock:
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
            assert held.wait(60), "the worker never read the big message"
            watcher = threading.Thread(target=_watch_until_processed,
                                       args=(engine, big, processed))
            watcher.start()
            threads = [threading.Thread(target=send, args=(running.port, n))
                       for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            # Every mail was answered (or the clients gave up) with the worker still inside.
            still_sending = [thread for thread in threads if thread.is_alive()]
            release.set()
            watcher.join(120)
        finally:
            release.set()
            worker.stop(120)
    assert still_sending == [], "intake waited for the worker's read transaction"
    assert failures == []
    assert len(answered) == CLIENTS * MAILS_PER_CLIENT
    # The big message was still unprocessed when the last mail was answered...
    assert max(answered) < processed[0]
    # ... and was processed once let go.
    assert _row(engine, big)[0] == "reconciled"
