"""`gateway as2` as a process, alone and in two worker processes: kill -9 of all of it during
a burst (every message that got an MDN is stored exactly once; sent again after the restart,
each is stored once in all, a message stored whose MDN was lost answered
`duplicate-document`), and HTTPS with its own certificate."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.models import As2Transmission, InboundMessage
from tests.as2_material import (
    ACME_PARTNER_FILE,
    make_party,
    multipart_signed,
    payload_entity,
    require_openssl,
    sign,
)

ROOT = Path(__file__).resolve().parents[2]
PARTNER_FILE = ACME_PARTNER_FILE
MESSAGES = 40


@contextmanager
def _endpoint(settings: Settings, partner_file: Path, tmp_path: Path,
              tls: tuple[Path, Path] | None = None, workers: int = 1
              ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`gateway as2` in a session of its own: with `workers` above 1 uvicorn starts them as
    its children, and a crash is all of them killed (`os.killpg`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url,
           "GATEWAY_VAR_DIR": str(tmp_path), "GATEWAY_AS2_PARTNERS": str(partner_file)}
    extra = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
    process = subprocess.Popen([sys.executable, "-m", "gateway", "as2", "--port", str(port),
                                "--workers", str(workers), *extra], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "gateway as2 stopped while starting"
        assert time.monotonic() < deadline, "gateway as2 did not start in 60 s"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield process, f"{'https' if tls else 'http'}://127.0.0.1:{port}/as2"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def _messages(folder: Path) -> list[tuple[str, dict[str, str], bytes]]:
    acme = make_party(folder, "acme")
    made = []
    for n in range(MESSAGES):
        entity = payload_entity(f"UNA:+.? 'UNB+UNOC:3+A:14+B:14+261206:0900+{n}'".encode())
        head, body = multipart_signed(entity, sign(entity, acme, folder)).split(b"\r\n\r\n", 1)
        message_id = f"<burst-{n}@acme.example>"
        made.append((message_id, {
            "AS2-From": "ACME-AS2", "AS2-To": "BUYER-AS2", "AS2-Version": "1.2",
            "Message-ID": message_id, "Disposition-Notification-To": "as2@acme.example",
            "Content-Type": head.decode().split(": ", 1)[1]}, body))
    return made


def _burst(url: str, messages: list[tuple[str, dict[str, str], bytes]],
           on_answer: object = None) -> dict[str, bytes]:
    answered: dict[str, bytes] = {}
    lock = threading.Lock()

    def post(chunk: list[tuple[str, dict[str, str], bytes]]) -> None:
        with httpx.Client(timeout=30) as client:
            for message_id, headers, body in chunk:
                try:
                    response = client.post(url, headers=headers, content=body)
                except httpx.HTTPError:
                    return
                with lock:
                    answered[message_id] = response.content
                    if callable(on_answer):
                        on_answer(len(answered))

    threads = [threading.Thread(target=post, args=(messages[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answered


def _partner_file(folder: Path) -> Path:
    make_party(folder, "ours")
    (folder / "ours.key").chmod(0o600)
    partner_file = folder / "partners.toml"
    partner_file.write_text(PARTNER_FILE)
    return partner_file


def test_gateway_as2_serves_https_with_its_certificate(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    partner_file = _partner_file(tmp_path)
    cert, key = tmp_path / "tls.pem", tmp_path / "tls.key"
    subprocess.run([require_openssl(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    message_id, headers, body = _messages(tmp_path)[0]
    # Two worker processes: uvicorn hands them the TLS options too.
    with _endpoint(settings, partner_file, tmp_path, (cert, key), workers=2) as (_process,
                                                                                 url):
        assert url.startswith("https://")
        response = httpx.post(url, headers=headers, content=body, timeout=30,
                              verify=ssl.create_default_context(cafile=str(cert)))
    assert b"; processed" in response.content
    assert _stored(engine) == {message_id: 1}


@pytest.mark.parametrize("workers", [1, 2])
def test_every_message_answered_before_a_kill_is_stored_exactly_once(
        engine: Engine, settings: Settings, tmp_path: Path, workers: int) -> None:
    partner_file = _partner_file(tmp_path)
    messages = _messages(tmp_path)
    with _endpoint(settings, partner_file, tmp_path, workers=workers) as (process, url):
        def kill_at_ten(count: int) -> None:
            if count == 10:
                os.killpg(process.pid, signal.SIGKILL)   # every process of it at once

        answered = _burst(url, messages, kill_at_ten)
        process.wait(30)
        assert process.returncode == -signal.SIGKILL
    assert 10 <= len(answered) < MESSAGES
    assert all(b"; processed" in mdn for mdn in answered.values())
    stored = _stored(engine)
    for message_id in answered:
        assert stored.get(message_id) == 1, message_id

    with _endpoint(settings, partner_file, tmp_path, workers=workers) as (_process, url):
        again = _burst(url, messages)
    assert len(again) == MESSAGES
    stored = _stored(engine)
    assert stored == {message_id: 1 for message_id, _h, _b in messages}
    duplicates = [m for m, mdn in again.items() if b"duplicate-document" in mdn]
    assert set(answered) <= set(duplicates)


def _stored(engine: Engine) -> dict[str, int]:
    """Per AS2 Message-ID, the inbound messages that hold its payload."""
    with make_session_factory(engine).begin() as session:
        rows = session.execute(
            select(As2Transmission.as2_message_id,
                   func.count(func.distinct(InboundMessage.id)))
            .join(InboundMessage, InboundMessage.id == As2Transmission.message_id)
            .where(InboundMessage.channel == "as2")
            .group_by(As2Transmission.as2_message_id)).all()
    return dict(rows)
