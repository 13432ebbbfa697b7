"""The AS2 channel's group commit, on SQLite and PostgreSQL: requests that arrive while a commit
runs share the next one, each MDN is answered only once its message is committed, and a
request the database refuses fails alone while its companions are stored."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import gateway.channels.as2 as as2_channel
from gateway.as2.mdn import read_receipt
from gateway.as2.outgoing import Packed
from gateway.as2.partners import directory_from_file
from gateway.bench.as2 import Material, make_material
from gateway.bootstrap import make_session_factory
from gateway.channels.as2 import Answer, As2Channel, As2Request
from gateway.persistence.models import As2Transmission, InboundMessage
from gateway.services.ingest import Archived, Intake

MESSAGES = 6


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return make_material(tmp_path_factory.mktemp("as2-group"), MESSAGES)


def _request(message: Packed, n: int) -> As2Request:
    fields = {"AS2-Version": "1.2", "AS2-From": "BENCH-AS2", "AS2-To": "BUYER-AS2",
              "Message-ID": f"<group-{n}@bench.example>",
              "Disposition-Notification-To": "as2@bench.example",
              "Disposition-Notification-Options":
                  "signed-receipt-protocol=required, pkcs7-signature; "
                  "signed-receipt-micalg=required, sha-256", **dict(message.headers)}
    return As2Request(list(fields.items()), message.body)


def _held(factory: Callable[[], AbstractContextManager[Session]], gate: threading.Event,
          commits: list[int]) -> Callable[[], AbstractContextManager[Session]]:
    """A unit of work whose first commit waits for `gate`: the requests that arrive
    meanwhile queue for the next commit."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session:
            yield session
            commits.append(len(commits))
            if len(commits) == 1:
                assert gate.wait(30)

    return transaction


def _receive_together(channel: As2Channel, requests: list[As2Request], gate: threading.Event,
                      commits: list[int]) -> list[Answer | Exception]:
    """The first request alone, until its commit is held; then the rest at once; the gate
    opens when they are all queued behind it."""
    answers: list[Answer | Exception | None] = [None] * len(requests)

    def receive(index: int) -> None:
        try:
            answers[index] = channel.receive(requests[index])
        except Exception as exc:  # noqa: BLE001 - the answer the test looks at
            answers[index] = exc

    first = threading.Thread(target=receive, args=(0,))
    first.start()
    _until(lambda: len(commits) == 1)
    rest = [threading.Thread(target=receive, args=(i,)) for i in range(1, len(requests))]
    for thread in rest:
        thread.start()
    writer = channel._writer.commits
    assert writer is not None
    _until(lambda: writer._queue.qsize() == len(rest))
    gate.set()
    for thread in [first, *rest]:
        thread.join(60)
    channel.close()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the requests did not queue in 60 s"
        time.sleep(0.02)


def _stored(engine: Engine) -> dict[str, int]:
    with make_session_factory(engine).begin() as session:
        rows = session.execute(
            select(As2Transmission.as2_message_id, func.count(InboundMessage.id))
            .join(InboundMessage, InboundMessage.id == As2Transmission.message_id)
            .group_by(As2Transmission.as2_message_id)).all()
    return dict(rows)


def _channel(engine: Engine, material: Material, gate: threading.Event,
             commits: list[int]) -> As2Channel:
    directory = directory_from_file(material.folder / "partners.toml", os.environ)
    return As2Channel(_held(make_session_factory(engine).begin, gate, commits), directory,
                      lambda: datetime.now(UTC))


def test_requests_that_arrive_together_share_a_commit_and_each_gets_its_mdn(
        engine: Engine, material: Material) -> None:
    gate, commits = threading.Event(), []
    channel = _channel(engine, material, gate, commits)
    requests = [_request(m, n) for n, m in enumerate(material.messages)]
    answers = _receive_together(channel, requests, gate, commits)
    assert len(commits) == 2   # the first alone, the other five together
    for n, answer in enumerate(answers):
        assert isinstance(answer, Answer)
        assert answer.receipt is not None
        receipt = read_receipt(answer.receipt.headers, answer.receipt.body,
                               [material.ours.certificate])
        assert receipt.disposition == "processed"
        assert receipt.mic_matches(material.messages[n].mic)
    assert _stored(engine) == {f"<group-{n}@bench.example>": 1 for n in range(MESSAGES)}


def test_a_request_the_database_refuses_fails_alone(
        engine: Engine, material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    real_archive = as2_channel.archive

    def archive(session: Session, intake: Intake, now: datetime) -> Archived:
        archived = real_archive(session, intake, now)
        if intake.filename == "desadv-3.edi":   # as a value the database cannot hold would
            raise IntegrityError("INSERT", {}, Exception("refused"))
        return archived

    monkeypatch.setattr(as2_channel, "archive", archive)
    gate, commits = threading.Event(), []
    channel = _channel(engine, material, gate, commits)
    requests = [_request(m, n) for n, m in enumerate(material.messages)]
    answers = _receive_together(channel, requests, gate, commits)
    assert isinstance(answers[3], IntegrityError)
    assert all(isinstance(a, Answer) for n, a in enumerate(answers) if n != 3)
    assert _stored(engine) == {f"<group-{n}@bench.example>": 1
                               for n in range(MESSAGES) if n != 3}
    with make_session_factory(engine).begin() as session:   # nothing of it was kept
        assert session.execute(select(func.count()).select_from(InboundMessage)).scalar() \
            == MESSAGES - 1
