"""EDI to an AS2 partner through the outbox: the row is POSTed by the `as2` transport to a
real AS2 endpoint (ours, served by uvicorn on loopback, playing the partner), and its MDN
decides the row: sent when signed by the partner with our MIC, failed for IT otherwise."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from gateway.as2.mdn import Disposition, MdnRequest, ReceiptFacts, build_receipt
from gateway.as2.outgoing import ContentCipher, SendPlan
from gateway.as2.partners import As2Directory, As2Partner
from gateway.bootstrap import make_session_factory
from gateway.channels.as2 import As2Channel
from gateway.config import OutboundSettings
from gateway.domain.outbound import OutboundKind
from gateway.persistence.models import As2Transmission, InboundMessage, OutboundMessageRow
from gateway.services import outbox
from gateway.services.as2_outbound import as2_draft, mdn_check
from gateway.services.outbox_sender import OutboxSender, Transports
from gateway.web.as2_route import as2_app
from outbound.transports.as2 import As2Poster
from outbound.transports.filedrop import FileDrop
from tests.as2_material import Party, make_party

CONTRL = b"UNA:+.? 'UNB+UNOC:3+5400000000001:14+5412345000013:14+261126:0900+5'" \
         b"UNH+1+CONTRL:D:3:UN'UCI+77+5412345000013:14+5400000000001:14+7'UNT+3+1'UNZ+1+5'"
SIGNED_MDN = MdnRequest(True, True, "sha256", None)


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("pki")
    return {name: make_party(folder, name) for name in ("buyer", "acme", "stranger")}


def _serve(app: Any) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/as2"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def partner_endpoint(engine: Engine, parties: dict[str, Party]) -> Iterator[str]:
    """Acme's AS2 server: knows us (BUYER-AS2) by the buyer's certificate."""
    acme_side = As2Directory({"ACME-AS2": (parties["acme"].pair,)}, {"BUYER-AS2": As2Partner(
        "BUYER-AS2", "BUYER", (parties["buyer"].certificate,))})
    channel = As2Channel(make_session_factory(engine).begin, acme_side,
                         lambda: datetime.now(UTC))
    yield from _serve(as2_app(channel))


def _ours(parties: dict[str, Party], url: str, plan: SendPlan,
          acme_certificate: str = "acme") -> As2Directory:
    return As2Directory({"BUYER-AS2": (parties["buyer"].pair,)}, {"ACME-AS2": As2Partner(
        "ACME-AS2", "ACME", (parties[acme_certificate].certificate,), url=url, plan=plan)})


def _send(engine: Engine, directory: As2Directory, tmp_path: Path,
          check_with: As2Directory | None = None) -> OutboundMessageRow:
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        row_id = outbox.enqueue(session, as2_draft(
            directory, "ACME-AS2", "BUYER-AS2", CONTRL, OutboundKind.CONTRL,
            "CONTRL for interchange 7", now, filename="contrl.edi"), now)
    settings = OutboundSettings(drop_dir=tmp_path / "outbox", max_attempts=3)
    poster = As2Poster(10.0, mdn_check(check_with or directory, lambda: datetime.now(UTC)))
    OutboxSender(sessions.begin, Transports(FileDrop(settings.drop_dir), None, None, poster),
                 settings, lambda: datetime.now(UTC), "test").drain()
    with sessions.begin() as session:
        row = session.get(OutboundMessageRow, row_id)
        assert row is not None
        session.expunge(row)
        return row


@pytest.mark.parametrize("plan", [
    SendPlan(mdn=SIGNED_MDN),
    SendPlan(sign="sha1", oaep=True, compress=True, mdn=MdnRequest(True, True, "sha1", None)),
    SendPlan(sign=None, mdn=MdnRequest(True, False, "sha256", None)),
    SendPlan(encrypt=ContentCipher.AES256_GCM, pss=True, mdn=SIGNED_MDN),
], ids=["signed-encrypted", "sha1-oaep-compressed", "encrypted-unsigned-mdn", "pss-aes-gcm"])
def test_a_contrl_reaches_the_partner_and_its_mdn_makes_the_row_sent(
        engine: Engine, parties: dict[str, Party], partner_endpoint: str, tmp_path: Path,
        plan: SendPlan) -> None:
    row = _send(engine, _ours(parties, partner_endpoint, plan), tmp_path)
    with make_session_factory(engine).begin() as session:
        (arrived,) = session.scalars(select(InboundMessage)).all()
        (transmission,) = session.scalars(select(As2Transmission)).all()
        assert transmission.as2_message_id == f"<{row.wire_id}>"
        disposition = transmission.disposition
        raw = arrived.raw
    if plan.sign is None:
        # Acme's entry requires signed messages: its error MDN fails the row for IT.
        assert disposition == "processed/error: insufficient-message-security"
        assert row.state == "failed"
        assert "insufficient-message-security" in (row.state_reason or "")
        return
    assert disposition == "processed"
    assert raw == CONTRL
    assert row.state == "sent", row.state_reason


def test_an_mdn_signed_by_someone_else_fails_the_row(
        engine: Engine, parties: dict[str, Party], partner_endpoint: str,
        tmp_path: Path) -> None:
    plan = SendPlan(mdn=SIGNED_MDN)
    # Encrypted to Acme; its MDN checked as if Acme's entry listed only the stranger's
    # certificate.
    row = _send(engine, _ours(parties, partner_endpoint, plan), tmp_path,
                check_with=_ours(parties, partner_endpoint, plan, "stranger"))
    assert row.state == "failed"
    assert "the MDN is refused" in (row.state_reason or "")
    assert "authentication" in (row.state_reason or "") or "certificate" in (
        row.state_reason or "")


class _FakePartner:
    """An AS2 server that answers a scripted status, or an MDN signed by Acme that names
    another MIC."""

    def __init__(self, acme: Party, status: int = 200) -> None:
        self.acme, self.status, self.requests = acme, status, 0

    def answer(self, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        self.requests += 1
        if self.status != 200:
            return self.status, [], b""
        facts = ReceiptFacts(headers["Message-ID"], "ACME-AS2", "BUYER-AS2", Disposition(),
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, sha-256", "ok")
        receipt = build_receipt(facts, SIGNED_MDN, self.acme.pair, datetime.now(UTC))
        return 200, receipt.headers, receipt.body


@contextmanager
def _fake_server(fake: _FakePartner) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body = fake.answer(dict(self.headers.items()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/as2"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_mdn_with_another_mic_fails_the_row(
        engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    fake = _FakePartner(parties["acme"])
    with _fake_server(fake) as url:
        row = _send(engine, _ours(parties, url, SendPlan(mdn=SIGNED_MDN)), tmp_path)
    assert row.state == "failed"
    assert "MIC" in (row.state_reason or "")


def test_a_partner_answering_503_is_tried_again_later(
        engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    fake = _FakePartner(parties["acme"], status=503)
    with _fake_server(fake) as url:
        row = _send(engine, _ours(parties, url, SendPlan(mdn=SIGNED_MDN)), tmp_path)
    assert fake.requests == 1
    assert row.state == "pending"
    assert row.attempts == 1


def test_a_contrl_for_an_as2_partner_goes_by_as2_and_arrives(
        engine: Engine, parties: dict[str, Party], partner_endpoint: str,
        tmp_path: Path) -> None:
    """Processing decides a CONTRL for an interchange of Acme, whose partner entry has a
    `url`: the row is of transport `as2` (Acme has no email address at all), and the outbox
    delivers it to Acme's AS2 server, which answers a signed MDN with our MIC."""
    from gateway.services.acknowledgements import AS2_ROUTE
    from gateway.services.as2_outbound import As2Routes
    from gateway.services.ingest import Intake, ingest
    from gateway.services.partners import load_partners
    from tests.integration.conftest import edifact_interchange

    gln = "5412345000013"
    ours = _ours(parties, partner_endpoint, SendPlan(mdn=SIGNED_MDN))
    sessions = make_session_factory(engine, {AS2_ROUTE: As2Routes(ours)})
    now = datetime.now(UTC)
    with sessions.begin() as session:
        load_partners(session, {"suppliers": [{
            "code": "ACME", "name": "Acme", "edi_ids": [{"id": gln, "qualifier": "14"}],
            "as2_id": "ACME-AS2", "contrl": "always", "mail_auth": "none"}]}, now)
    interchange = edifact_interchange("ORDRSP+'BGM+231+R-1+4'RFF+ON:4599999999'", "IC77", gln)
    ingest(sessions.begin, [Intake(interchange, "cli", "test", "r.edi", "ACME")],
           now.date(), now)
    with sessions.begin() as session:
        (row,) = session.scalars(select(OutboundMessageRow)).all()
        assert (row.kind, row.transport, row.recipient) == ("contrl", "as2", partner_endpoint)
    settings = OutboundSettings(drop_dir=tmp_path / "outbox")
    poster = As2Poster(10.0, mdn_check(ours, lambda: datetime.now(UTC)))
    OutboxSender(sessions.begin, Transports(FileDrop(settings.drop_dir), None, None, poster),
                 settings, lambda: datetime.now(UTC), "test").drain()
    with sessions.begin() as session:
        sent = session.get(OutboundMessageRow, row.id)
        assert sent is not None
        assert sent.state == "sent", sent.state_reason
        arrived = session.scalars(select(InboundMessage).where(
            InboundMessage.sender == "as2:BUYER-AS2")).one()
        assert b"UNH+1+CONTRL:D:3:UN" in arrived.raw
        assert b"UCI+IC77+" in arrived.raw


def test_a_997_for_an_as2_partner_goes_by_as2_and_arrives(
        engine: Engine, parties: dict[str, Party], partner_endpoint: str,
        tmp_path: Path) -> None:
    """An X12 855 from Acme (an AS2 partner with a `url` and no email address) that asks
    for a 997: the row is of transport `as2`, and Acme's AS2 server receives it as X12."""
    from gateway.services.acknowledgements import AS2_ROUTE
    from gateway.services.as2_outbound import As2Routes
    from gateway.services.ingest import Intake, ingest
    from gateway.services.partners import load_partners
    from tests.integration.test_x12_acknowledgements import RESPONSE

    ours = _ours(parties, partner_endpoint, SendPlan(mdn=SIGNED_MDN))
    sessions = make_session_factory(engine, {AS2_ROUTE: As2Routes(ours)})
    now = datetime.now(UTC)
    with sessions.begin() as session:
        load_partners(session, {"suppliers": [{
            "code": "ACME", "name": "Acme", "edi_ids": [{"id": "ACMEX12", "qualifier": "ZZ"}],
            "as2_id": "ACME-AS2", "functional_ack": "997", "mail_auth": "none"}]}, now)
    ingest(sessions.begin, [Intake(RESPONSE, "as2", "as2:ACME-AS2", "r.x12", "ACME")],
           now.date(), now)
    with sessions.begin() as session:
        (row,) = session.scalars(select(OutboundMessageRow)).all()
        assert (row.kind, row.transport, row.recipient) == ("functional_ack", "as2",
                                                            partner_endpoint)
    settings = OutboundSettings(drop_dir=tmp_path / "outbox")
    poster = As2Poster(10.0, mdn_check(ours, lambda: datetime.now(UTC)))
    OutboxSender(sessions.begin, Transports(FileDrop(settings.drop_dir), None, None, poster),
                 settings, lambda: datetime.now(UTC), "test").drain()
    with sessions.begin() as session:
        sent = session.get(OutboundMessageRow, row.id)
        assert sent is not None
        assert sent.state == "sent", sent.state_reason
        arrived = session.scalars(select(InboundMessage).where(
            InboundMessage.sender == "as2:BUYER-AS2")).one()
        assert arrived.raw.startswith(b"ISA*")
        assert b"ST*997*" in arrived.raw
        assert b"AK1*PR*417~" in arrived.raw
