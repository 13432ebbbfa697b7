"""The throughput rounds' lean HTTP client (`gateway.bench.web.RawClient`): it reads each answer
off a keep-alive connection by its Content-Length, however the bytes arrive, and refuses an
answer that is not a 200 holding the page's marker."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.bench.common import BenchmarkError
from gateway.bench.web import RawClient, content_length


@contextmanager
def scripted_server(answers: list[list[bytes]]) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server taking one connection: for each request it reads, it sends the next
    answer's pieces one send at a time. Yields its port and the requests it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            for pieces in answers:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(4096)
                requests.append(data)
                for piece in pieces:
                    connection.sendall(piece)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], requests
    finally:
        thread.join(timeout=5)
        listener.close()


def _answer(body: bytes, status: bytes = b"200 OK") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_answers_are_read_by_their_length_however_they_arrive() -> None:
    first = _answer(b'{"items": [1, 2, 3]}')
    second = _answer(b'{"items": []}')
    # the first in three pieces, the head cut in two; the second in one
    with scripted_server([[first[:10], first[10:40], first[40:]], [second]]) as (port, seen):
        client = RawClient(port, "/api/v1/exceptions", {"Authorization": "Bearer t"},
                           b'"items"')
        client.get()
        client.get()
        client.close()
    assert seen == [b"GET /api/v1/exceptions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    b"Authorization: Bearer t\r\n\r\n" % port] * 2


@pytest.mark.parametrize(("answer", "message"), [
    (_answer(b'{"title": "Not signed in"}', b"401 Unauthorized"), "answered"),
    (_answer(b'{"other": 1}'), "without"),
    (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{", "closed"),
])
def test_anything_but_a_whole_200_with_the_marker_fails_the_round(answer: bytes,
                                                                   message: str) -> None:
    with scripted_server([[answer]]) as (port, _):
        client = RawClient(port, "/", {}, b'"items"')
        with pytest.raises(BenchmarkError, match=message):
            client.get()
        client.close()


def test_the_content_length_is_found_in_any_case() -> None:
    assert content_length(b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:  12 \r\nx: y") == 12
    with pytest.raises(BenchmarkError):
        content_length(b"HTTP/1.1 200 OK\r\nx-content-length: 3")
