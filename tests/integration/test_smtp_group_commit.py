"""Group commit of the SMTP intake, on SQLite and PostgreSQL: messages that arrive together share
one commit, each is answered 250 only once that commit returned, and a batch whose commit fails
answers 451 to every message in it and stores none of them."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.channels.group_commit import GroupCommitWriter
from gateway.persistence.models import InboundMessage
from gateway.services.ingest import Archived, Intake, UnitOfWork, archive_many
from tests.integration.test_smtp import NOW, OURS, Running, count, mail, smtp_server, stored

CLIENTS = 8


def held_commits(factory: UnitOfWork, gate: threading.Event,
                 batches: list[int]) -> Callable[[], AbstractContextManager[Session]]:
    """A unit of work that waits for `gate` before it commits, recording each batch's size:
    whatever arrives meanwhile queues up for the next commit."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session:
            yield session
            batches.append(_rows_in(session) - sum(batches))   # all earlier ones committed
            assert gate.wait(30)

    return transaction


def failing_commits(factory: UnitOfWork, batches: list[int], fail: threading.Event,
                    enough: Callable[[], bool]) -> Callable[[], AbstractContextManager[Session]]:
    """While `fail` is set, every commit fails as a lost database would make it fail, once
    `enough` says the messages meant to share the batch are waiting."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session:
            yield session
            if fail.is_set():
                deadline = time.monotonic() + 30
                while not enough() and time.monotonic() < deadline:
                    time.sleep(0.01)
                batches.append(_rows_in(session))   # no earlier one committed
                raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    return transaction


def _rows_in(session: Session) -> int:
    """Rows the transaction sees (the table starts empty in these tests)."""
    return int(session.execute(select(func.count()).select_from(InboundMessage)).scalar_one())


def submit_all(writer: GroupCommitWriter, intakes: list[Intake],
               before: Callable[[], None] = lambda: None) -> list[Archived | BaseException]:
    async def main() -> list[Archived | BaseException]:
        first = writer.submit(intakes[0])
        await asyncio.sleep(0.2)   # the writer took the first one alone and holds it
        rest = [writer.submit(intake) for intake in intakes[1:]]
        before()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    return asyncio.run(main())


# -- the writer -----------------------------------------------------------------------------------


def test_messages_queued_during_a_commit_share_the_next_one(engine: Engine) -> None:
    gate, batches = threading.Event(), []
    writer = GroupCommitWriter(held_commits(make_session_factory(engine).begin, gate, batches),
                               lambda: NOW)
    intakes = [Intake(mail(n), "smtp", "orders@acme.example") for n in range(6)]
    try:
        outcomes = submit_all(writer, intakes, gate.set)
    finally:
        writer.close()
    assert batches == [1, 5]     # the first alone, the five that waited in one transaction
    assert writer.commits == 2
    assert all(isinstance(outcome, Archived) for outcome in outcomes)
    rows = {row.id: row.raw for row in stored(engine)}
    assert [rows[o.message_id] for o in outcomes if isinstance(o, Archived)] == [
        intake.raw for intake in intakes]


def test_a_failed_batch_commit_fails_every_message_in_it_and_stores_none(engine: Engine) -> None:
    factory = make_session_factory(engine).begin
    fail, batches = threading.Event(), []
    queued: list[int] = []
    writer = GroupCommitWriter(failing_commits(factory, batches, fail, lambda: bool(queued)),
                               lambda: NOW)
    intakes = [Intake(mail(n), "smtp", "orders@acme.example") for n in range(5)]
    fail.set()
    try:
        outcomes = submit_all(writer, intakes, lambda: queued.append(1))
    finally:
        writer.close()
    assert batches == [1, 4]
    assert all(isinstance(outcome, OperationalError) for outcome in outcomes)
    assert writer.commits == 0
    assert count(engine) == 0


def test_the_same_bytes_twice_in_one_batch_keep_one_original(engine: Engine) -> None:
    # A sender longer than the 200 characters stored: the copy must still find its original.
    sender = "orders@" + "a" * 250 + ".example"
    with make_session_factory(engine).begin() as session:
        first, second = archive_many(session, [Intake(mail(1), "smtp", sender)] * 2, NOW)
    assert (first.duplicate_of, second.duplicate_of) == (None, first.message_id)


def test_close_commits_what_is_queued(engine: Engine) -> None:
    writer = GroupCommitWriter(make_session_factory(engine).begin, lambda: NOW)

    async def main() -> list[asyncio.Future[Archived]]:
        futures = [writer.submit(Intake(mail(n), "smtp", "orders@acme.example"))
                   for n in range(3)]
        await asyncio.to_thread(writer.close)
        return futures

    futures = asyncio.run(main())
    assert count(engine) == 3
    assert all(not future.cancelled() for future in futures)


# -- through SMTP ---------------------------------------------------------------------------------


def send_concurrently(running: Running, messages: list[list[bytes]]
                      ) -> list[tuple[bytes, int, str]]:
    """Each list of messages on a connection of its own, all at once: (message, code, reply)."""
    replies: list[tuple[bytes, int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(messages))

    def client(mine: list[bytes]) -> None:
        with running.client() as connection:
            connection.ehlo()
            start.wait(30)
            for message in mine:
                connection.mail("orders@acme.example")
                connection.rcpt(OURS)
                code, reply = connection.data(message)
                with lock:
                    replies.append((message, code, reply.decode()))

    threads = [threading.Thread(target=client, args=(mine,)) for mine in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return replies


def slow_commits(factory: UnitOfWork, seconds: float,
                 committed: list[int]) -> Callable[[], AbstractContextManager[Session]]:
    """Commits that take a while (a slow disk): concurrent messages pile up behind each."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session:
            yield session
            time.sleep(seconds)
        committed.append(1)

    return transaction


def test_concurrent_clients_every_250_names_a_stored_row_with_its_bytes(engine: Engine) -> None:
    commits: list[int] = []
    handed_on: list[int] = []
    transaction = slow_commits(make_session_factory(engine).begin, 0.02, commits)
    messages = [[mail(100 * c + n) for n in range(10)] for c in range(CLIENTS)]
    with smtp_server(transaction, handed_on.extend) as running:
        replies = send_concurrently(running, messages)
    assert len(replies) == 10 * CLIENTS
    assert {code for _message, code, _reply in replies} == {250}
    rows = {row.id: row.raw for row in stored(engine)}
    named = {int(re.search(r"#(\d+)", reply)[1]): message  # type: ignore[index]
             for message, _code, reply in replies}
    assert named == rows                    # each 250 names its own row, holding its bytes
    assert sorted(handed_on) == sorted(rows)   # each handed on once, after its commit
    assert len(commits) < len(rows)          # and messages did share commits


def test_a_failing_batch_commit_answers_451_to_each_message_and_stores_none(
        engine: Engine) -> None:
    factory = make_session_factory(engine).begin
    fail, batches = threading.Event(), []
    holder: dict[str, Running] = {}

    def all_waiting() -> bool:   # every message has reached its (failing) batch or waits
        return holder["running"].server.intake.in_flight + sum(batches) >= CLIENTS

    messages = [[mail(n)] for n in range(CLIENTS)]
    fail.set()
    with smtp_server(failing_commits(factory, batches, fail, all_waiting)) as running:
        holder["running"] = running
        replies = send_concurrently(running, messages)
        assert count(engine) == 0
        fail.clear()
        # The senders retry later, as 4xx tells them to: now each is stored once.
        retried = send_concurrently(running, messages)
    assert max(batches) > 1                  # a batch of several messages failed
    assert sum(batches) == CLIENTS
    assert {(code, reply[:5]) for _message, code, reply in replies} == {(451, "4.3.0")}
    assert {code for _message, code, _reply in retried} == {250}
    assert sorted(row.raw for row in stored(engine)) == sorted(m for [m] in messages)


def test_a_client_gone_before_its_commit_returned_leaves_a_row_the_retry_duplicates(
        engine: Engine) -> None:
    gate, batches = threading.Event(), []
    message = mail(7)
    transaction = held_commits(make_session_factory(engine).begin, gate, batches)
    with smtp_server(transaction) as running:
        client = running.client()
        client.ehlo()
        client.mail("orders@acme.example")
        client.rcpt(OURS)
        assert client.docmd("DATA")[0] == 354
        client.send(message.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        deadline = time.monotonic() + 10
        while not batches and time.monotonic() < deadline:
            time.sleep(0.01)
        client.close()                       # hangs up while the commit waits
        gate.set()
        with running.client() as retry:
            assert retry.sendmail("orders@acme.example", [OURS], message) == {}
    rows = stored(engine)
    assert [(row.raw, row.state) for row in rows] == [(message, "received"),
                                                      (message, "duplicate")]


def test_a_lone_message_is_committed_without_waiting_for_company(engine: Engine) -> None:
    with smtp_server(make_session_factory(engine).begin) as running, \
            running.client() as client:
        started = time.monotonic()
        assert client.sendmail("orders@acme.example", [OURS], mail(9)) == {}
        assert time.monotonic() - started < 5
    assert count(engine) == 1
