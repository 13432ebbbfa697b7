"""Real servers on loopback for the outbox tests: an SMTP relay (aiosmtpd) and a webhook
receiver (the standard library's HTTP server), each recording what arrived."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Arrived:
    mail_from: str
    rcpt_tos: list[str]
    message_id: str
    content: bytes
    peer: Any


@dataclass
class Relay:
    """What the relay answers: per recipient (RCPT), to DATA, after how long."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    data_delay: float = 0.0
    on_data: Callable[[], None] | None = None
    arrived: list[Arrived] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        content = bytes(envelope.content)
        message_id = email.message_from_bytes(content)["Message-ID"] or ""
        self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), message_id,
                                    content, session.peer))
        self.got_one.set()
        if self.on_data is not None:
            self.on_data()
        return self.data_reply or f"250 2.0.0 Ok: queued as Q{len(self.arrived)}"

    def message_ids(self) -> list[str]:
        return [a.message_id for a in self.arrived]


@contextmanager
def smtp_relay(relay: Relay, **options: Any) -> Iterator[int]:
    """The relay listening on a loopback port (yielded) while the block runs; `options` go to
    aiosmtpd (`tls_context`, `require_starttls`, `authenticator`, `ssl_context` ...)."""
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Answers each POST with the next scripted (status, headers), then 200."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)


@contextmanager
def webhook_server(receiver: WebhookReceiver) -> Iterator[str]:
    """The receiver on a loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Request(self.path, dict(self.headers.items()), body))
            status, headers = receiver.script.pop(0) if receiver.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
