"""The AS2 endpoint served by uvicorn on loopback: captured mendelson and Sterling messages and
openssl-built ones get the right MDN, are archived with their request, and what is refused is
kept as a failed message with nothing processed."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import cms as asn1_cms
from sqlalchemy import Engine, select

from gateway.as2.cms import verify
from gateway.as2.mime import entity_from_headers, signed_parts, split_entity
from gateway.as2.partners import As2Directory, As2Partner
from gateway.bootstrap import make_session_factory
from gateway.channels.as2 import As2Channel, As2Request
from gateway.config import Settings
from gateway.persistence.models import As2Transmission, InboundMessage
from gateway.services.partners import load_partners
from gateway.web.as2_route import as2_app
from tests.as2_material import (
    MENDELSON,
    STERLING,
    Party,
    capture,
    encrypt,
    interop_directory,
    make_party,
    multipart_signed,
    payload_entity,
    pkcs7_mime,
    sign,
)

NOW = datetime.now(UTC)
EDI = b"UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000001:14+261126:0900+77'UNZ+0+77'"
PARTNERS: dict[str, Any] = {"suppliers": [
    {"code": "MEC", "name": "mendelson test", "as2_id": "mecas2"},
    {"code": "SB2BI", "name": "Sterling test", "as2_id": "SIAS2PRD"},
    {"code": "ACME", "name": "Acme", "as2_id": "ACME-AS2"}]}
SKIP_FIELDS = {"content-length", "host", "connection", "expect", "transfer-encoding"}


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("pki")
    return {name: make_party(folder, name) for name in ("ours", "acme", "stranger")}


@pytest.fixture
def directory(parties: dict[str, Party]) -> As2Directory:
    interop = interop_directory()
    return As2Directory({**interop.stations, "BUYER-AS2": (parties["ours"].pair,)},
                        {**interop.partners, "ACME-AS2": As2Partner(
                            "ACME-AS2", "ACME", (parties["acme"].certificate,))},
                        max_message_bytes=200_000)


@pytest.fixture
def endpoint(engine: Engine, directory: As2Directory) -> Iterator[str]:
    import uvicorn

    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load_partners(session, PARTNERS, NOW)
    app = as2_app(As2Channel(sessions.begin, directory, lambda: datetime.now(UTC)))
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


def _post(url: str, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
    sent = [(k, v) for k, v in headers if k.lower() not in SKIP_FIELDS]
    return httpx.post(url, headers=sent, content=body, timeout=30)


def _notification(response: httpx.Response) -> dict[str, str]:
    """The message/disposition-notification fields of an MDN, signed or not."""
    entity = entity_from_headers(list(response.headers.items()), response.content)
    if entity.content_type == "multipart/signed":
        report_bytes, _signature = signed_parts(entity)
        entity = split_entity(report_bytes)
    boundary = entity.param("boundary").encode()
    part = next(p for p in entity.body.split(b"--" + boundary)
                if b"message/disposition-notification" in p)
    fields = split_entity(part.lstrip(b"\r\n")).body.decode().split("\r\n")
    return {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields) if v}


def _acme_message(parties: dict[str, Party], folder: Path, message_id: str,
                  recipient: str = "ours", signer: str = "acme", payload: bytes = EDI,
                  options: str = "signed-receipt-protocol=required, pkcs7-signature; "
                                 "signed-receipt-micalg=required, sha-256"
                  ) -> tuple[list[tuple[str, str]], bytes, bytes]:
    signed_entity = payload_entity(payload)
    entity = multipart_signed(signed_entity, sign(signed_entity, parties[signer], folder))
    der = encrypt(entity, parties[recipient], folder, "aes-256-gcm", oaep=True)
    body = pkcs7_mime(der, "enveloped-data").split(b"\r\n\r\n", 1)[1]
    headers = [("AS2-Version", "1.2"), ("AS2-From", "ACME-AS2"), ("AS2-To", "BUYER-AS2"),
               ("Message-ID", message_id), ("Disposition-Notification-To", "as2@acme.example"),
               ("Disposition-Notification-Options", options),
               ("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data"),
               ("Content-Transfer-Encoding", "binary")]
    return headers, body, signed_entity


def _messages(engine: Engine) -> list[InboundMessage]:
    with make_session_factory(engine).begin() as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        session.expunge_all()
        return rows


@pytest.mark.parametrize("name", MENDELSON + STERLING)
def test_a_captured_message_is_stored_and_answered_processed(
        endpoint: str, engine: Engine, name: str) -> None:
    headers, body = capture(name)
    response = _post(endpoint, headers, body)
    assert response.status_code == 200
    fields = _notification(response)
    assert fields["disposition"] == "automatic-action/MDN-sent-automatically; processed"
    original = next(v for k, v in headers if k.lower() == "message-id")
    assert fields["original-message-id"] == original
    (message,) = _messages(engine)
    assert message.channel == "as2"
    assert message.state == "received"
    assert message.supplier_code == ("SB2BI" if name in STERLING else "MEC")
    assert message.raw.startswith(b"ISA*" if name in STERLING else b"UNB+UNOA")
    with make_session_factory(engine).begin() as session:
        (kept,) = session.scalars(select(As2Transmission)).all()
        assert kept.raw.endswith(body)
        assert kept.message_id == message.id
        assert kept.mic == fields["received-content-mic"]
    if name == "mecas2_signed.as2":
        _assert_mic_is_the_signed_digest(headers, body, fields["received-content-mic"])


def _assert_mic_is_the_signed_digest(headers: list[tuple[str, str]], body: bytes,
                                     received_mic: str) -> None:
    """The MIC (sha-256) is the digest the mendelson signature's attributes name: it is over
    exactly the bytes that were signed."""
    _signed, signature = signed_parts(entity_from_headers(headers, body))
    info = asn1_cms.ContentInfo.load(signature.decoded_body())
    attrs = info["content"]["signer_infos"][0]["signed_attrs"]
    digest = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
    assert received_mic == f"{base64.b64encode(digest).decode()}, sha-256"


def test_an_openssl_message_gets_a_signed_mdn_with_its_mic(
        endpoint: str, engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    import hashlib

    headers, body, signed_entity = _acme_message(parties, tmp_path, "<m1@acme.example>")
    response = _post(endpoint, headers, body)
    assert response.headers["content-type"].startswith("multipart/signed")
    assert response.headers["as2-from"] == "BUYER-AS2"
    report, signature = signed_parts(entity_from_headers(list(response.headers.items()),
                                                         response.content))
    verified, _ = verify(signature.decoded_body(), [report], [parties["ours"].certificate])
    assert verified.digest_algorithm == "sha256"
    fields = _notification(response)
    digest = base64.b64encode(hashlib.sha256(signed_entity).digest()).decode()
    assert fields["received-content-mic"] == f"{digest}, sha-256"
    (message,) = _messages(engine)
    assert (message.raw, message.filename, message.state) == (EDI, "order.edi", "received")


def test_the_same_message_id_again_is_a_duplicate_and_not_processed_twice(
        endpoint: str, engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    headers, body, _ = _acme_message(parties, tmp_path, "<dup@acme.example>")
    first = _notification(_post(endpoint, headers, body))
    second = _notification(_post(endpoint, headers, body))
    assert first["disposition"].endswith("; processed")
    assert second["disposition"].endswith("; processed/warning: duplicate-document")
    assert [m.state for m in _messages(engine)] == ["received"]


def test_a_retry_of_a_refused_message_is_processed(
        endpoint: str, engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    wrong = _acme_message(parties, tmp_path, "<retry@acme.example>", recipient="stranger")
    refused = _notification(_post(endpoint, wrong[0], wrong[1]))
    assert refused["disposition"].endswith("processed/error: decryption-failed")
    right = _acme_message(parties, tmp_path, "<retry@acme.example>")
    accepted = _notification(_post(endpoint, right[0], right[1]))
    assert accepted["disposition"].endswith("; processed")
    assert [m.state for m in _messages(engine)] == ["failed", "received"]


@pytest.mark.parametrize(("case", "modifier"), [
    ("unknown partner", "unknown-trading-partner"),
    ("tampered", "integrity-check-failed"),
    ("wrongly signed", "authentication-failed"),
    ("wrongly encrypted", "decryption-failed"),
    ("oversized", "unexpected-processing-error"),
])
def test_a_refused_message_gets_its_error_mdn_and_is_kept_for_it(
        endpoint: str, engine: Engine, parties: dict[str, Party], tmp_path: Path,
        case: str, modifier: str) -> None:
    signer = "stranger" if case == "wrongly signed" else "acme"
    recipient = "stranger" if case == "wrongly encrypted" else "ours"
    payload = EDI * 3000 if case == "oversized" else EDI
    headers, body, _ = _acme_message(parties, tmp_path, f"<{case}@acme.example>",
                                     recipient, signer, payload)
    if case == "unknown partner":
        headers = [(k, "NOBODY") if k == "AS2-From" else (k, v) for k, v in headers]
    if case == "tampered":  # signed, not encrypted, then one byte of the payload changed
        entity = payload_entity(EDI)
        signed = multipart_signed(entity, sign(entity, parties["acme"], tmp_path))
        head, body = signed.split(b"\r\n\r\n", 1)
        body = body.replace(b"UNB+UNOC", b"UNB+UNOX")
        headers = [*headers[:6], ("Content-Type", head.decode().split(": ", 1)[1])]
    response = _post(endpoint, headers, body)
    assert response.status_code == 200
    assert _notification(response)["disposition"].endswith(f"processed/error: {modifier}")
    (message,) = _messages(engine)
    assert message.state == "failed"
    assert modifier in (message.state_reason or "")
    assert b"as2-from:" in message.raw.lower()
    if case != "oversized":
        assert message.raw.endswith(body)


def test_an_order_response_over_as2_is_reconciled_through_the_one_pipeline(
        settings: Settings, tmp_path: Path, parties: dict[str, Party],
        directory: As2Directory) -> None:
    from gateway.services.pipeline import process_ids
    from tests.integration.test_pipeline import TODAY, order_response, prepare

    engine = prepare(settings, tmp_path, 1)
    sessions = make_session_factory(engine)
    dispatched: list[list[int]] = []
    channel = As2Channel(sessions.begin, directory, lambda: datetime.now(UTC),
                         lambda ids: dispatched.append(list(ids)))
    headers, body, _ = _acme_message(parties, tmp_path, "<ordrsp@acme.example>",
                                     payload=order_response(1))
    answer = channel.receive(As2Request(headers, body))
    assert answer.disposition.value == "processed"
    assert dispatched == [[answer.message_id]]
    (report,) = process_ids(sessions.begin, [answer.message_id], TODAY,
                            lambda: datetime.now(UTC), 3)
    assert report.state == "reconciled"
    engine.dispose()


def test_an_asynchronous_mdn_goes_through_the_outbox_to_the_partners_url(
        endpoint: str, engine: Engine, parties: dict[str, Party], tmp_path: Path) -> None:
    from gateway.config import OutboundSettings
    from gateway.services.outbox_sender import OutboxSender, Transports
    from outbound.transports.filedrop import FileDrop
    from outbound.transports.webhook import Webhooks
    from tests.integration.outbound_servers import WebhookReceiver, webhook_server

    receiver = WebhookReceiver()
    with webhook_server(receiver) as base:
        headers, body, signed_entity = _acme_message(parties, tmp_path, "<async@acme>")
        headers.append(("Receipt-Delivery-Option", f"{base}/mdn"))
        response = _post(endpoint, headers, body)
        assert (response.status_code, response.content) == (200, b"")
        settings = OutboundSettings(drop_dir=tmp_path / "outbox", webhook_timeout=5.0)
        transports = Transports(FileDrop(settings.drop_dir), None, Webhooks(5.0, secrets={}))
        OutboxSender(make_session_factory(engine).begin, transports, settings,
                     lambda: datetime.now(UTC), "test").drain()
    (arrived,) = receiver.requests
    assert arrived.path == "/mdn"
    assert arrived.headers["AS2-To"] == "ACME-AS2"
    assert arrived.headers["Content-Type"].startswith("multipart/signed")
    from gateway.as2.mdn import read_receipt
    read = read_receipt(list(arrived.headers.items()), arrived.body,
                        [parties["ours"].certificate])
    assert read.original_message_id == "<async@acme>"
    assert read.disposition == "processed"
    import hashlib
    digest = base64.b64encode(hashlib.sha256(signed_entity).digest()).decode()
    assert read.mic_matches(f"{digest}, sha-256")


def test_a_slow_loris_client_does_not_hold_others_and_is_cut_at_the_deadline(
        engine: Engine, directory: As2Directory, parties: dict[str, Party],
        tmp_path: Path) -> None:
    import dataclasses

    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load_partners(session, PARTNERS, NOW)
    quick = dataclasses.replace(directory, request_timeout_seconds=8.0)
    server = _Served(as2_app(As2Channel(sessions.begin, quick, lambda: datetime.now(UTC))))
    with server as url, socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(b"POST /as2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                     b"AS2-From: ACME-AS2\r\nAS2-To: BUYER-AS2\r\n\r\nabc")
        headers, body, _ = _acme_message(parties, tmp_path, "<beside-the-slow@acme>")
        fields = _notification(_post(url, headers, body))
        assert fields["disposition"].endswith("; processed")
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):  # answered while the slow one still waits
            slow.recv(200)
        slow.settimeout(30)
        answer = slow.recv(200)
    assert answer.startswith(b"HTTP/1.1 408")
    assert [m.as2_message_id for m in _transmissions(engine)] == ["<beside-the-slow@acme>"]


def _transmissions(engine: Engine) -> list[As2Transmission]:
    with make_session_factory(engine).begin() as session:
        rows = list(session.scalars(select(As2Transmission)))
        session.expunge_all()
        return rows


class _Served:
    """An ASGI app on uvicorn on a loopback port, for the length of a `with`."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_config=None, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}/as2"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
