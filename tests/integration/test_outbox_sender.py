"""The outbox sender against real servers on loopback (an aiosmtpd relay, an HTTP webhook
receiver), on SQLite and PostgreSQL: what arrives, what each row ends as, what IT sees."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.config import OutboundSettings
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.models import ExceptionRow, OutboundAttemptRow, OutboundMessageRow
from gateway.services import outbox
from gateway.services.outbox_sender import OutboxSender, Transports, claim_due
from tests.integration.outbound_servers import (
    Relay,
    WebhookReceiver,
    free_port,
    smtp_relay,
    webhook_server,
)

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
Transactions = Callable[[], AbstractContextManager[Session]]


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def begin(engine: Engine) -> Transactions:
    return make_session_factory(engine).begin


def email(number: int, recipient: str = "buyer@example.com", supplier: str | None = "ACME",
          kind: OutboundKind = OutboundKind.ALERT) -> OutboundDraft:
    wire_id = f"<out{number}.test@gateway.example>"
    payload = (f"From: gateway@buyer.example\r\nTo: {recipient}\r\nSubject: alert {number}\r\n"
               f"Message-ID: {wire_id}\r\n\r\nQTY_SHORT on line {number}\r\n.\r\n").encode()
    return OutboundDraft(kind, Transport.SMTP, recipient, payload, wire_id,
                         f"test alert {number}", sender="gateway@buyer.example",
                         supplier_code=supplier)


def hook(number: int, url: str) -> OutboundDraft:
    return OutboundDraft(OutboundKind.ALERT, Transport.WEBHOOK, url,
                         b'{"exception": %d}' % number, f"delivery-{number}",
                         f"test webhook {number}", content_type="application/json",
                         headers=(("X-Gateway-Signature", f"t=1,v1=sig{number}"),))


def settings_for(tmp_path: Path, port: int | None, **changes: object) -> OutboundSettings:
    base = OutboundSettings(drop_dir=tmp_path / "outbox",
                            smtp_url=None if port is None else f"smtp://127.0.0.1:{port}",
                            smtp_timeout=2.0, webhook_timeout=2.0, batch_size=50,
                            retry_base_seconds=10.0, retry_max_seconds=600.0, max_attempts=5)
    return replace(base, **changes)  # type: ignore[arg-type]


def sender(begin: Transactions, settings: OutboundSettings, clock: Clock) -> OutboxSender:
    return OutboxSender(begin, Transports.from_settings(settings), settings, clock, "test",
                        rand=lambda: 1.0)


def enqueue(begin: Transactions, *drafts: OutboundDraft) -> list[int]:
    with begin() as session:
        return [outbox.enqueue(session, draft, START) for draft in drafts]


def rows(begin: Transactions) -> dict[int, tuple[str, int, str | None]]:
    with begin() as session:
        return {row.id: (row.state, row.attempts, row.state_reason) for row in
                session.scalars(select(OutboundMessageRow).order_by(OutboundMessageRow.id))}


def attempts(begin: Transactions, outbound_id: int) -> list[tuple[str, str | None]]:
    with begin() as session:
        return [(a.outcome, a.response) for a in session.scalars(
            select(OutboundAttemptRow).where(OutboundAttemptRow.outbound_id == outbound_id)
            .order_by(OutboundAttemptRow.id))]


def test_emails_go_through_the_relay_over_one_connection_with_their_message_ids(
        begin: Transactions, tmp_path: Path) -> None:
    relay = Relay()
    ids = enqueue(begin, *(email(n) for n in range(1, 6)))
    with smtp_relay(relay) as port:
        report = sender(begin, settings_for(tmp_path, port), Clock()).drain()
    assert sorted(report.sent) == ids
    assert relay.message_ids() == [f"<out{n}.test@gateway.example>" for n in range(1, 6)]
    assert len({a.peer for a in relay.arrived}) == 1
    assert relay.arrived[0].mail_from == "gateway@buyer.example"
    assert relay.arrived[0].rcpt_tos == ["buyer@example.com"]
    # The bytes unchanged: a line holding only "." is dot-stuffed on the wire and restored.
    assert relay.arrived[0].content == email(1).payload
    assert {state for state, _, _ in rows(begin).values()} == {"sent"}
    outcome, response = attempts(begin, ids[0])[0]
    assert outcome == "sent"
    assert response is not None
    assert response.startswith("250 2.0.0 Ok: queued as Q")
    assert not (tmp_path / "outbox").exists()


def test_a_5xx_refusal_fails_that_row_only_and_opens_an_exception_until_a_retry_sends_it(
        begin: Transactions, tmp_path: Path) -> None:
    relay = Relay(rcpt_replies={"gone@example.com": "550 5.1.1 <gone@example.com>: no such "
                                                    "user"})
    good, bad, after = enqueue(begin, email(1), email(2, "gone@example.com"), email(3))
    clock = Clock()
    with smtp_relay(relay) as port:
        settings = settings_for(tmp_path, port)
        report = sender(begin, settings, clock).drain()
        assert (report.sent, report.failed) == ([good, after], [bad])
        state, tries, why = rows(begin)[bad]
        assert (state, tries) == ("failed", 1)
        assert why is not None
        assert "550 5.1.1" in why
        assert attempts(begin, bad)[0][0] == "permanent"
        with begin() as session:
            exception = session.scalars(select(ExceptionRow)).one()
            assert (exception.code, exception.severity, exception.state) == (
                "OUTBOUND_FAILED", "high", "open")
            assert exception.supplier_code == "ACME"
            assert exception.actual is not None
            assert "550" in exception.actual
        relay.rcpt_replies.clear()   # IT fixed the address book on the relay's side
        with begin() as session:
            assert outbox.retry(session, [bad], "it", clock.now) == [bad]
        assert sender(begin, settings, clock).drain().sent == [bad]
    assert relay.message_ids().count("<out2.test@gateway.example>") == 1
    with begin() as session:
        assert session.scalars(select(ExceptionRow.state)).one() == "resolved"


def test_an_address_that_cannot_be_one_fails_without_asking_the_relay(
        begin: Transactions, tmp_path: Path) -> None:
    relay = Relay()
    (bad,) = enqueue(begin, email(1, "buyer@nodots"))
    with smtp_relay(relay) as port:
        report = sender(begin, settings_for(tmp_path, port), Clock()).drain()
    assert report.failed == [bad]
    assert relay.arrived == []
    assert "not an email address" in (rows(begin)[bad][2] or "")


def test_a_4xx_deferral_is_retried_after_the_back_off_with_the_same_message_id(
        begin: Transactions, tmp_path: Path) -> None:
    relay = Relay(data_reply="451 4.3.0 try again later")
    (row,) = enqueue(begin, email(1))
    clock = Clock()
    with smtp_relay(relay) as port:
        settings = settings_for(tmp_path, port)
        assert sender(begin, settings, clock).drain().retrying == [row]
        state, tries, why = rows(begin)[row]
        assert (state, tries) == ("pending", 1)
        assert "451 4.3.0" in (why or "")
        relay.data_reply = None
        assert sender(begin, settings, clock).drain().sent == []   # not due yet
        clock.advance(10)   # rand() = 1: the first back-off is the whole base, 10 s
        assert sender(begin, settings, clock).drain().sent == [row]
    assert relay.message_ids() == ["<out1.test@gateway.example>"] * 2
    assert [outcome for outcome, _ in attempts(begin, row)] == ["transient", "sent"]


def test_a_relay_that_is_down_leaves_the_batch_waiting_with_one_attempt_counted(
        begin: Transactions, tmp_path: Path) -> None:
    first, second, third = enqueue(begin, email(1), email(2), email(3))
    clock = Clock()
    report = sender(begin, settings_for(tmp_path, free_port()), clock).drain()
    assert (report.retrying, report.untried) == ([first], [second, third])
    states = rows(begin)
    assert [states[i][:2] for i in (first, second, third)] == [("pending", 1), ("pending", 0),
                                                               ("pending", 0)]
    assert "cannot reach smtp://127.0.0.1" in (states[first][2] or "")
    assert [outcome for outcome, _ in attempts(begin, first)] == ["transient"]
    assert attempts(begin, second) == []
    with begin() as session:
        due = session.scalars(select(OutboundMessageRow.next_attempt_at)).all()
    assert all(moment is not None and moment.replace(tzinfo=UTC) > clock.now
               for moment in due)


def test_a_slow_relay_times_out_and_the_message_goes_again_later(
        begin: Transactions, tmp_path: Path) -> None:
    relay = Relay(data_delay=1.5)
    (row,) = enqueue(begin, email(1))
    clock = Clock()
    with smtp_relay(relay) as port:
        settings = settings_for(tmp_path, port, smtp_timeout=0.5)
        assert sender(begin, settings, clock).drain().retrying == [row]
        assert "timed out" in (rows(begin)[row][2] or "")
        relay.data_delay = 0.0
        clock.advance(600)
        assert sender(begin, settings, clock).drain().sent == [row]
    # Whether the relay kept the first copy (it took DATA, then the client gave up) or not,
    # the receiver has the message, at most twice, under one Message-ID.
    assert 1 <= relay.message_ids().count("<out1.test@gateway.example>") <= 2
    assert set(relay.message_ids()) == {"<out1.test@gateway.example>"}
    assert [outcome for outcome, _ in attempts(begin, row)] == ["transient", "sent"]


def test_transient_failures_give_up_after_max_attempts(begin: Transactions,
                                                       tmp_path: Path) -> None:
    relay = Relay(data_reply="452 4.3.1 insufficient system storage")
    (row,) = enqueue(begin, email(1, supplier=None))
    clock = Clock()
    with smtp_relay(relay) as port:
        settings = settings_for(tmp_path, port, max_attempts=3)
        for _ in range(3):
            sender(begin, settings, clock).drain()
            clock.advance(600)
    state, tries, why = rows(begin)[row]
    assert (state, tries) == ("failed", 3)
    assert (why or "").startswith("gave up after 3 attempts; the last:")
    with begin() as session:
        exception = session.scalars(select(ExceptionRow)).one()
    assert (exception.code, exception.supplier_code) == ("OUTBOUND_FAILED", None)


def test_a_webhook_that_fails_then_succeeds_is_delivered_with_one_delivery_id(
        begin: Transactions, tmp_path: Path) -> None:
    receiver = WebhookReceiver(script=[(503, {}), (429, {"Retry-After": "120"})])
    clock = Clock()
    with webhook_server(receiver) as base:
        (row,) = enqueue(begin, hook(1, f"{base}/alerts?team=buyers"))
        settings = settings_for(tmp_path, None)
        assert sender(begin, settings, clock).drain().retrying == [row]
        clock.advance(20)
        assert sender(begin, settings, clock).drain().retrying == [row]
        with begin() as session:
            due = session.get_one(OutboundMessageRow, row).next_attempt_at
        assert due is not None
        assert due.replace(tzinfo=UTC) == clock.now + timedelta(seconds=120)  # Retry-After
        clock.advance(120)
        assert sender(begin, settings, clock).drain().sent == [row]
    assert [r.path for r in receiver.requests] == ["/alerts?team=buyers"] * 3
    assert {r.headers["X-Gateway-Delivery"] for r in receiver.requests} == {"delivery-1"}
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {"delivery-1"}
    assert receiver.requests[-1].headers["X-Gateway-Signature"] == "t=1,v1=sig1"
    assert receiver.requests[-1].headers["Content-Type"] == "application/json"
    assert receiver.requests[-1].body == b'{"exception": 1}'
    assert [o for o, _ in attempts(begin, row)] == ["transient", "transient", "sent"]


@pytest.mark.parametrize(("status", "ends"), [(404, "failed"), (410, "failed"),
                                              (400, "failed"), (408, "pending"),
                                              (500, "pending")])
def test_a_webhook_4xx_is_permanent_but_408_429_and_5xx_are_transient(
        begin: Transactions, tmp_path: Path, status: int, ends: str) -> None:
    receiver = WebhookReceiver(script=[(status, {})])
    with webhook_server(receiver) as base:
        (row,) = enqueue(begin, hook(1, f"{base}/x"))
        sender(begin, settings_for(tmp_path, None), Clock()).drain()
    assert rows(begin)[row][0] == ends
    assert str(status) in (rows(begin)[row][2] or "")


def test_no_url_and_an_unknown_host_are_permanent(begin: Transactions,
                                                  tmp_path: Path) -> None:
    none, unknown, ftp = enqueue(begin, hook(1, ""), hook(2, "https://no-such-host.invalid/x"),
                                 hook(3, "ftp://example.com/x"))
    report = sender(begin, settings_for(tmp_path, None), Clock()).drain()
    assert sorted(report.failed) == [none, unknown, ftp]
    reasons = {i: rows(begin)[i][2] for i in (none, unknown, ftp)}
    assert reasons == {none: "no webhook URL", unknown: "unknown host no-such-host.invalid",
                       ftp: "not an http(s) URL: ftp"}


def test_without_a_relay_emails_are_dropped_whole_into_the_folder(
        begin: Transactions, tmp_path: Path) -> None:
    drafts = [email(1), email(2)]
    ids = enqueue(begin, *drafts)
    report = sender(begin, settings_for(tmp_path, None), Clock()).drain()
    assert sorted(report.sent) == ids
    folder = tmp_path / "outbox"
    assert list((folder / "tmp").iterdir()) == []
    files = sorted((folder / "new").iterdir())
    assert [f.name for f in files] == ["out1.test@gateway.example.eml",
                                       "out2.test@gateway.example.eml"]
    assert [f.read_bytes() for f in files] == [d.payload for d in drafts]
    assert report.locations[ids[0]] == str(files[0])


def test_two_claims_never_take_the_same_row(begin: Transactions) -> None:
    ids = enqueue(begin, *(email(n) for n in range(1, 5)))
    with begin() as first:
        taken = [row.id for row in claim_due(first, START, 2, "one")]
    with begin() as second:
        rest = [row.id for row in claim_due(second, START, 10, "two")]
    assert taken == ids[:2]
    assert rest == ids[2:]


def test_a_row_whose_sender_keeps_dying_fails_instead_of_looping(begin: Transactions,
                                                                  tmp_path: Path) -> None:
    (row,) = enqueue(begin, email(1))
    clock = Clock()
    settings = settings_for(tmp_path, None, max_attempts=2, stuck_seconds=60)
    for _ in range(2):   # claimed, then its sender dies: nothing recorded
        with begin() as session:
            assert [c.id for c in claim_due(session, clock.now, 10, "doomed")] == [row]
        clock.advance(61)
        given_back = sender(begin, settings, clock).sweep()
    assert given_back == []
    state, tries, why = rows(begin)[row]
    assert (state, tries, why) == ("failed", 2, "its sender stopped during each of 2 attempts")
    with begin() as session:
        exception = session.scalars(select(ExceptionRow)).one()
    assert (exception.code, exception.state) == ("OUTBOUND_FAILED", "open")


class Broken:
    def send(self, message: object) -> object:
        raise UnicodeEncodeError("ascii", "ü", 0, 1, "a bug, quoting the payload")

    def close(self) -> None:
        return None


def test_a_transport_that_raises_fails_its_row_and_the_batch_goes_on(
        begin: Transactions, tmp_path: Path) -> None:
    bad, good = enqueue(begin, email(1), hook(2, "http://127.0.0.1:9/x"))
    settings = settings_for(tmp_path, None, drop_all=False)
    transports = Transports.from_settings(settings)
    transports.smtp = Broken()  # type: ignore[assignment]
    transports.webhooks = transports.files
    report = OutboxSender(begin, transports, settings, Clock(), "test").drain()
    assert (report.failed, report.sent) == ([bad], [good])
    assert rows(begin)[bad][2] == ("the sender failed on this message (UnicodeEncodeError); "
                                   "see its log")
