"""Asynchronous MDNs to the messages we send (RFC 4130 section 7.3): the outbox POSTs the
message asking for its MDN at our endpoint's URL, the row waits `awaiting_mdn`, and the MDN
the partner POSTs later to our endpoint (uvicorn on loopback) decides it; no MDN within the
partner's window fails it for IT. The partner is our own endpoint (its own directory, as
Acme) or a scripted server; one MDN is signed by `openssl cms`."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.as2.errors import DispositionModifier
from gateway.as2.mdn import Disposition, MdnRequest, ReceiptFacts, build_receipt
from gateway.as2.outgoing import SendPlan
from gateway.as2.partners import As2Directory, As2Partner
from gateway.bootstrap import make_session_factory
from gateway.channels.as2 import As2Channel, As2Request
from gateway.config import OutboundSettings
from gateway.domain.outbound import OutboundKind, OutboundState
from gateway.persistence.models import (
    As2Transmission,
    ExceptionEventRow,
    ExceptionRow,
    OutboundAttemptRow,
    OutboundMessageRow,
)
from gateway.services import outbox
from gateway.services.as2_outbound import as2_draft, mdn_check
from gateway.services.outbox_sender import NO_MDN_REASON, OutboxSender, Transports
from gateway.web.as2_route import as2_app
from outbound.transports.as2 import As2Poster
from outbound.transports.filedrop import FileDrop
from outbound.transports.webhook import Webhooks
from tests.as2_material import Party, as_http, make_party, multipart_signed, sign
from tests.integration.test_as2_sending import CONTRL


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("pki")
    return {name: make_party(folder, name) for name in ("buyer", "acme", "stranger")}


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(channel: As2Channel, port: int) -> Iterator[str]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(as2_app(channel), host="127.0.0.1", port=port,
                                           log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/as2"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _acme_side(parties: dict[str, Party], require_signed: bool = True) -> As2Directory:
    """Acme's AS2 server: knows us by the buyer's certificate; our `url` is on loopback, so
    it may POST an asynchronous MDN to loopback even for an unsigned message."""
    return As2Directory({"ACME-AS2": (parties["acme"].pair,)}, {"BUYER-AS2": As2Partner(
        "BUYER-AS2", "BUYER", (parties["buyer"].certificate,), require_signed=require_signed,
        url="http://127.0.0.1/as2")})


def _ours(parties: dict[str, Party], acme_url: str, mdn_url: str, sign_with: str | None =
          "sha256", acme_certificate: str = "acme", minutes: float = 60.0) -> As2Directory:
    plan = SendPlan(sign=sign_with, mdn=MdnRequest(True, True, "sha256", mdn_url),
                    mdn_timeout_minutes=minutes)
    return As2Directory({"BUYER-AS2": (parties["buyer"].pair,)}, {"ACME-AS2": As2Partner(
        "ACME-AS2", "ACME", (parties[acme_certificate].certificate,), url=acme_url,
        plan=plan)}, mdn_url=mdn_url)


def _sender(sessions: sessionmaker[Session], directory: As2Directory, tmp_path: Path,
            clock: Any = None) -> OutboxSender:
    settings = OutboundSettings(drop_dir=tmp_path / "outbox", max_attempts=3)
    poster = As2Poster(10.0, mdn_check(directory, lambda: datetime.now(UTC)))
    transports = Transports(FileDrop(settings.drop_dir), None, Webhooks(10.0, secrets={}),
                            poster)
    return OutboxSender(sessions.begin, transports, settings,
                        clock or (lambda: datetime.now(UTC)), "test")


def _enqueue(sessions: sessionmaker[Session], directory: As2Directory) -> int:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        return outbox.enqueue(session, as2_draft(
            directory, "ACME-AS2", "BUYER-AS2", CONTRL, OutboundKind.CONTRL,
            "CONTRL for interchange 7", now, filename="contrl.edi"), now)


def _row(sessions: sessionmaker[Session], row_id: int) -> OutboundMessageRow:
    with sessions.begin() as session:
        row = session.get(OutboundMessageRow, row_id)
        assert row is not None
        session.expunge(row)
        return row


def _failures(sessions: sessionmaker[Session], row_id: int) -> list[ExceptionRow]:
    with sessions.begin() as session:
        found = list(session.scalars(select(ExceptionRow).where(
            ExceptionRow.code == "OUTBOUND_FAILED", ExceptionRow.key.endswith(f"#{row_id}"))))
        session.expunge_all()
        return found


def _roundtrip(sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path,
               sign_with: str | None = "sha256", acme_certificate: str = "acme"
               ) -> tuple[int, str]:
    """Our row to Acme asking for an asynchronous MDN; the first pass POSTs it (the row
    waits), the second sends Acme's MDN row to our endpoint. The row's id and its state
    after the first pass."""
    acme = As2Channel(sessions.begin, _acme_side(parties), lambda: datetime.now(UTC))
    acme_port, our_port = _free_port(), _free_port()
    acme_url, our_url = (f"http://127.0.0.1:{port}/as2" for port in (acme_port, our_port))
    ours = _ours(parties, acme_url, our_url, sign_with, acme_certificate)
    with _served(acme, acme_port), \
            _served(As2Channel(sessions.begin, ours, lambda: datetime.now(UTC)), our_port):
        row_id = _enqueue(sessions, _ours(parties, acme_url, our_url, sign_with))
        first = _sender(sessions, ours, tmp_path).drain(max_batches=1)
        assert (first.awaiting, first.sent) == ([row_id], [])
        after_post = _row(sessions, row_id).state
        second = _sender(sessions, ours, tmp_path).drain()   # Acme's MDN row, to us
        assert len(second.sent) == 1
    return row_id, after_post


def test_an_asynchronous_mdn_makes_the_row_sent(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    row_id, after_post = _roundtrip(sessions, parties, tmp_path)
    assert after_post == OutboundState.AWAITING_MDN
    row = _row(sessions, row_id)
    assert row.state == OutboundState.SENT, row.state_reason
    assert row.sent_at is not None
    with sessions.begin() as session:
        (mdn,) = session.scalars(select(As2Transmission).where(
            As2Transmission.outbound_id == row_id)).all()
        assert (mdn.as2_from, mdn.as2_to, mdn.layers) == ("ACME-AS2", "BUYER-AS2", ["mdn"])
        assert "MIC matches" in (mdn.reason or "")
        assert mdn.message_id is None
        attempts = [(a.outcome, a.response) for a in session.scalars(
            select(OutboundAttemptRow).where(OutboundAttemptRow.outbound_id == row_id)
            .order_by(OutboundAttemptRow.id))]
    assert [outcome for outcome, _ in attempts] == ["sent", "sent"]
    assert "asynchronously" in (attempts[0][1] or "")
    assert "asynchronous MDN processed" in (attempts[1][1] or "")
    assert _failures(sessions, row_id) == []


def test_an_asynchronous_error_mdn_fails_the_row_for_it(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    # Unsigned, and Acme's entry requires signed messages: its MDN says so.
    row_id, after_post = _roundtrip(sessions, parties, tmp_path, sign_with=None)
    assert after_post == OutboundState.AWAITING_MDN
    row = _row(sessions, row_id)
    assert row.state == OutboundState.FAILED
    assert "insufficient-message-security" in (row.state_reason or "")
    (failure,) = _failures(sessions, row_id)
    assert failure.state == "open"
    assert "insufficient-message-security" in (failure.actual or "")


def test_an_asynchronous_mdn_signed_by_another_certificate_fails_the_row(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    # Encrypted to Acme, but our entry for Acme lists the stranger's certificate to verify
    # its MDNs with.
    row_id, _ = _roundtrip(sessions, parties, tmp_path, acme_certificate="stranger")
    row = _row(sessions, row_id)
    assert row.state == OutboundState.FAILED
    assert "the MDN is refused" in (row.state_reason or "")
    assert len(_failures(sessions, row_id)) == 1


class _SilentPartner:
    """An AS2 server that takes every message (200, no body) and never sends its MDN."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []


@contextmanager
def _silent_server(partner: _SilentPartner) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            partner.requests.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/as2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_no_mdn_within_the_partners_window_fails_the_row_once(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    partner = _SilentPartner()
    with _silent_server(partner) as url:
        ours = _ours(parties, url, "https://gateway.example/as2", minutes=30)
        row_id = _enqueue(sessions, ours)
        _sender(sessions, ours, tmp_path).drain()
    (asked,) = partner.requests
    assert asked["Receipt-Delivery-Option"] == "https://gateway.example/as2"
    assert not any(name.lower().startswith("x-gateway") for name in asked)
    row = _row(sessions, row_id)
    assert row.state == OutboundState.AWAITING_MDN
    assert row.next_attempt_at is not None
    due = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
    assert timedelta(minutes=29) < due - datetime.now(UTC) <= timedelta(minutes=30)
    # Within the window the sweep leaves it waiting; past it, the row fails, once.
    _sender(sessions, ours, tmp_path, clock=lambda: due - timedelta(seconds=1)).sweep()
    assert _row(sessions, row_id).state == OutboundState.AWAITING_MDN
    for later in (1, 2):
        _sender(sessions, ours, tmp_path,
                clock=lambda later=later: due + timedelta(minutes=later)).sweep()
    row = _row(sessions, row_id)
    assert row.state == OutboundState.FAILED
    assert "no MDN came" in (row.state_reason or "")
    (failure,) = _failures(sessions, row_id)
    assert failure.occurrences == 1


def _report(original: str, disposition: str, mic: str) -> bytes:
    """A multipart/report MDN entity (header and body), as a partner's product writes it."""
    boundary = "----=_report_openssl"
    return (f'Content-Type: multipart/report; report-type=disposition-notification; '
            f'boundary="{boundary}"\r\n\r\n--{boundary}\r\n'
            f"Content-Type: text/plain\r\n\r\nYour message was received.\r\n"
            f"--{boundary}\r\nContent-Type: message/disposition-notification\r\n\r\n"
            f"Reporting-UA: openssl test\r\nOriginal-Message-ID: {original}\r\n"
            f"Disposition: automatic-action/MDN-sent-automatically; {disposition}\r\n"
            f"Received-Content-MIC: {mic}\r\n\r\n--{boundary}--\r\n").encode()


def _post_mdn(url: str, entity: bytes, message_id: str) -> httpx.Response:
    headers, body = as_http(entity)
    headers += [("AS2-Version", "1.2"), ("AS2-From", "ACME-AS2"), ("AS2-To", "BUYER-AS2"),
                ("Message-ID", message_id), ("MIME-Version", "1.0")]
    return httpx.post(url, headers=headers, content=body, timeout=30)


def test_an_mdn_signed_by_openssl_is_verified_and_matched(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    partner = _SilentPartner()
    port = _free_port()
    our_url = f"http://127.0.0.1:{port}/as2"
    with _silent_server(partner) as acme_url:
        ours = _ours(parties, acme_url, our_url)
        taken, unknown = _enqueue(sessions, ours), _enqueue(sessions, ours)
        _sender(sessions, ours, tmp_path).drain()
    rows = {row_id: _row(sessions, row_id) for row_id in (taken, unknown)}
    mic = next(v for k, v in rows[taken].headers or () if k == "X-Gateway-AS2-MIC")
    report = _report(f"<{rows[taken].wire_id}>", "processed", mic)
    signed = multipart_signed(report, sign(report, parties["acme"], tmp_path))
    bad_mic = _report(f"<{rows[unknown].wire_id}>", "processed",
                      base64.b64encode(b"\0" * 32).decode() + ", sha-256")
    with _served(As2Channel(sessions.begin, ours, lambda: datetime.now(UTC)), port):
        answered = _post_mdn(our_url, signed, "<mdn-1@acme>")
        # Unsigned where a signed MDN was asked: refused, and the row fails.
        refused = _post_mdn(our_url, bad_mic, "<mdn-2@acme>")
        stray = _post_mdn(our_url, _report("<nobody@buyer>", "processed", mic),
                          "<mdn-3@acme>")
    assert [(r.status_code, r.content) for r in (answered, refused, stray)] == \
        [(200, b"")] * 3
    assert _row(sessions, taken).state == OutboundState.SENT
    failed = _row(sessions, unknown)
    assert failed.state == OutboundState.FAILED
    assert "not signed" in (failed.state_reason or "")
    with sessions.begin() as session:
        kept = {t.as2_message_id: (t.outbound_id, t.reason) for t in session.scalars(
            select(As2Transmission).where(As2Transmission.layers.is_not(None)))}
    assert kept["<mdn-1@acme>"][0] == taken
    assert kept["<mdn-2@acme>"][0] == unknown
    assert kept["<mdn-3@acme>"][0] is None
    assert "no AS2 message of ours" in (kept["<mdn-3@acme>"][1] or "")


def test_an_mdn_that_comes_before_the_sender_recorded_its_post_decides_the_row(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    """A fast partner: its MDN arrives while the row is still `sending` (the sender has not
    recorded the POST yet). The MDN makes it `sent`; the sender's late record moves nothing."""
    from gateway.services.outbox_sender import Outcome, claim_due, record_outcomes
    from outbound.transports.base import Delivered

    ours = _ours(parties, "http://127.0.0.1:9/as2", "https://gateway.example/as2")
    row_id = _enqueue(sessions, ours)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        (claimed,) = claim_due(session, now, 10, "test")
    sent = dict(claimed.outgoing.headers)
    facts = ReceiptFacts(sent["Message-ID"], "ACME-AS2", "BUYER-AS2", Disposition(),
                         sent["X-Gateway-AS2-MIC"], "received")
    receipt = build_receipt(facts, MdnRequest(True, True, "sha256", None),
                            parties["acme"].pair, now)
    channel = As2Channel(sessions.begin, ours, lambda: datetime.now(UTC))
    answer = channel.receive(As2Request(receipt.headers, receipt.body))
    assert (answer.receipt, answer.message_id) == (None, None)
    assert _row(sessions, row_id).state == OutboundState.SENT
    late = Outcome(claimed, now, 5, delivered=Delivered("202 Accepted; its MDN comes "
                                                        "asynchronously",
                                                        awaiting_receipt_seconds=3600))
    with sessions.begin() as session:
        record_outcomes(session, [late], [], now, OutboundSettings(drop_dir=tmp_path),
                        lambda: 0.5)
    row = _row(sessions, row_id)
    assert (row.state, row.next_attempt_at) == (OutboundState.SENT, None)



def _expired_row(sessions: sessionmaker[Session], parties: dict[str, Party],
                 tmp_path: Path) -> tuple[int, As2Directory]:
    """A row to a partner that took it and sent no MDN, failed by the sweep past its
    window (one OUTBOUND_FAILED open); its id and our directory."""
    with _silent_server(_SilentPartner()) as url:
        ours = _ours(parties, url, "https://gateway.example/as2", minutes=1)
        row_id = _enqueue(sessions, ours)
        _sender(sessions, ours, tmp_path).drain()
    assert _row(sessions, row_id).state == OutboundState.AWAITING_MDN
    _sender(sessions, ours, tmp_path,
            clock=lambda: datetime.now(UTC) + timedelta(minutes=5)).sweep()
    row = _row(sessions, row_id)
    assert (row.state, row.state_reason) == (OutboundState.FAILED, NO_MDN_REASON)
    (failure,) = _failures(sessions, row_id)
    assert failure.state == "open"
    return row_id, ours


def _late_receipt(sessions: sessionmaker[Session], parties: dict[str, Party],
                  ours: As2Directory, row_id: int, disposition: Disposition) -> None:
    """Acme's signed MDN for the row, taken by our endpoint's channel."""
    sent = dict(_row(sessions, row_id).headers or ())
    facts = ReceiptFacts(sent["Message-ID"], "ACME-AS2", "BUYER-AS2", disposition,
                         sent["X-Gateway-AS2-MIC"], "received")
    receipt = build_receipt(facts, MdnRequest(True, True, "sha256", None),
                            parties["acme"].pair, datetime.now(UTC))
    channel = As2Channel(sessions.begin, ours, lambda: datetime.now(UTC))
    answer = channel.receive(As2Request(receipt.headers, receipt.body))
    assert (answer.receipt, answer.message_id) == (None, None)


def test_a_positive_mdn_after_the_window_makes_the_failed_row_sent(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    row_id, ours = _expired_row(sessions, parties, tmp_path)
    _late_receipt(sessions, parties, ours, row_id, Disposition())
    row = _row(sessions, row_id)
    assert (row.state, row.state_reason) == (OutboundState.SENT, None)
    assert row.sent_at is not None
    (failure,) = _failures(sessions, row_id)
    assert failure.state == "resolved"
    with sessions.begin() as session:
        notes = list(session.scalars(select(ExceptionEventRow.detail).where(
            ExceptionEventRow.exception_id == failure.id, ExceptionEventRow.action ==
            "resolved")))
        (kept,) = session.scalars(select(As2Transmission).where(
            As2Transmission.outbound_id == row_id)).all()
    (note,) = notes
    assert "MDN arrived after the window" in (note or "")
    assert (kept.reason or "").startswith(f"late: outbound #{row_id} sent")
    # The same MDN again (a partner retrying its POST) changes nothing more.
    _late_receipt(sessions, parties, ours, row_id, Disposition())
    assert _row(sessions, row_id).state == OutboundState.SENT


def test_an_error_mdn_after_the_window_keeps_the_row_failed_with_its_reason(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    row_id, ours = _expired_row(sessions, parties, tmp_path)
    _late_receipt(sessions, parties, ours, row_id,
                  Disposition(DispositionModifier.DECRYPTION_FAILED))
    row = _row(sessions, row_id)
    assert row.state == OutboundState.FAILED
    assert "decryption-failed" in (row.state_reason or "")
    (failure,) = _failures(sessions, row_id)
    assert failure.state == "open"
    assert "decryption-failed" in (failure.actual or "")


def test_a_late_mdn_changes_nothing_once_it_retried_or_cancelled_the_row(
        sessions: sessionmaker[Session], parties: dict[str, Party], tmp_path: Path) -> None:
    row_id, ours = _expired_row(sessions, parties, tmp_path)
    with sessions.begin() as session:
        assert outbox.cancel(session, [row_id], "it") == [row_id]
    _late_receipt(sessions, parties, ours, row_id, Disposition())
    assert _row(sessions, row_id).state == OutboundState.CANCELLED
    with sessions.begin() as session:
        (kept,) = session.scalars(select(As2Transmission).where(
            As2Transmission.outbound_id == row_id)).all()
    assert "cancelled already: nothing changed" in (kept.reason or "")
