"""The SMTP intake's connection limits and idle timeout, against raw sockets on loopback from
several client addresses (127.0.0.0/8): 421 past the limits, 421 and a close when idle, and a
slow but moving transfer kept open."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import pytest
from sqlalchemy import Engine

from gateway.config import SmtpSettings
from gateway.services.ingest import UnitOfWork
from tests.integration.conftest import transactions
from tests.integration.test_smtp import NOW, OURS, PARTNERS, mail, read_reply, smtp_server, stored


@pytest.fixture
def transaction(engine: Engine) -> UnitOfWork:
    return transactions(engine, PARTNERS, NOW)


def _connect(port: int, client: str, stack: ExitStack) -> tuple[int, str, socket.socket]:
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10,
                                                        source_address=(client, 0)))
    replies = stack.enter_context(sock.makefile("rb"))
    code, text = read_reply(replies)
    return code, text, sock


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(10)
    return sock.recv(1) == b""


def test_connections_over_the_limits_get_421_and_are_closed(transaction: UnitOfWork) -> None:
    with smtp_server(transaction, max_connections=3, max_connections_per_client=2) as running, \
            ExitStack() as stack:
        port = running.port
        assert [_connect(port, "127.0.0.1", stack)[0] for _ in range(2)] == [220, 220]
        code, text, refused = _connect(port, "127.0.0.1", stack)
        assert code == 421
        assert "4.7.0" in text
        assert "from 127.0.0.1" in text
        assert _closed(refused)
        # Another address has its own allowance, up to the limit overall.
        assert _connect(port, "127.0.0.2", stack)[0] == 220
        code, text, refused = _connect(port, "127.0.0.3", stack)
        assert code == 421
        assert "3 open" in text
        assert _closed(refused)
    assert running.server.limits.open == 0


def test_a_connection_that_closes_makes_room_for_the_next(transaction: UnitOfWork) -> None:
    with smtp_server(transaction, max_connections=1) as running:
        for _ in range(3):
            with ExitStack() as stack:
                code, _text, sock = _connect(running.port, "127.0.0.1", stack)
                assert code == 220
                sock.sendall(b"QUIT\r\n")
                assert sock.recv(100).startswith(b"221")
                assert _closed(sock)
            deadline = time.monotonic() + 5
            while running.server.limits.open and time.monotonic() < deadline:
                time.sleep(0.01)
            assert running.server.limits.open == 0


def test_an_idle_connection_is_told_421_and_closed_after_the_idle_timeout(
        transaction: UnitOfWork) -> None:
    with smtp_server(transaction, idle_timeout=1) as running, ExitStack() as stack:
        began = time.monotonic()
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", running.port),
                                                            timeout=10))
        replies = stack.enter_context(sock.makefile("rb"))
        assert read_reply(replies)[0] == 220
        sock.sendall(b"EHLO mx.acme.example\r\n")
        assert read_reply(replies)[0] == 250
        code, text = read_reply(replies)
        assert code == 421
        assert "4.4.2" in text
        assert replies.readline() == b""
        assert 1.0 <= time.monotonic() - began < 5


def test_a_slow_transfer_that_keeps_sending_is_not_cut_off(engine: Engine,
                                                           transaction: UnitOfWork) -> None:
    message = mail(7)
    with smtp_server(transaction, idle_timeout=1) as running, ExitStack() as stack:
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", running.port),
                                                            timeout=10))
        replies = stack.enter_context(sock.makefile("rb"))
        assert read_reply(replies)[0] == 220
        sock.sendall(f"EHLO mx.acme.example\r\nMAIL FROM:<orders@acme.example>\r\n"
                     f"RCPT TO:<{OURS}>\r\nDATA\r\n".encode())
        assert [read_reply(replies)[0] for _ in range(4)] == [250, 250, 250, 354]
        wire = message.replace(b"\r\n.", b"\r\n..") + b".\r\n"
        step = len(wire) // 8 + 1
        for start in range(0, len(wire), step):   # 8 parts, 0.4 s apart: 2.8 s in all
            sock.sendall(wire[start:start + step])
            time.sleep(0.4)
        assert read_reply(replies)[0] == 250
    assert [row.raw for row in stored(engine)] == [message]


def test_limits_and_timeout_from_the_environment() -> None:
    settings = SmtpSettings.from_env({"GATEWAY_SMTP_MAX_CONNECTIONS": "50",
                                      "GATEWAY_SMTP_MAX_CONNECTIONS_PER_CLIENT": "5",
                                      "GATEWAY_SMTP_IDLE_TIMEOUT": "30"})
    assert (settings.max_connections, settings.max_connections_per_client,
            settings.idle_timeout) == (50, 5, 30)
    default = SmtpSettings.from_env({})
    assert (default.max_connections, default.max_connections_per_client,
            default.idle_timeout) == (100, 20, 60)
