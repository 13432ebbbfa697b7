"""Reading SMTP mail data (`MailData`) and counting connections (`ConnectionLimits`), without
a socket: where the data ends, what is kept, and who is let in."""

from __future__ import annotations

import re

import pytest

from gateway.channels.smtp_data import MailData
from gateway.channels.smtp_limits import ConnectionLimits


def pieces(stream: bytes, buffer: int = 1 << 20) -> list[bytes]:
    """The pieces the session hands over: lines up to their LF, and parts of at most
    `buffer` bytes of a longer line (what a StreamReader's readuntil yields)."""
    found: list[bytes] = []
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", stream):
        while len(line) > buffer and not line[:buffer].endswith(b"\n"):
            found.append(line[:buffer])
            line = line[buffer:]
        found.append(line)
    return found


def read(stream: bytes, limit: int | None = None, buffer: int = 1 << 20) -> tuple[MailData,
                                                                                   bytes]:
    """The data read up to its end, and what follows it (the next commands)."""
    data = MailData(limit)
    parts = pieces(stream, buffer)
    for index, piece in enumerate(parts):
        if data.feed(piece):
            return data, b"".join(parts[index + 1:])
    raise AssertionError("the data never ended")


def test_crlf_lines_end_at_crlf_dot_crlf_and_are_unstuffed():
    data, rest = read(b"Subject: x\r\n\r\n..signature\r\nbody\r\n.\r\nQUIT\r\n")
    assert bytes(data.content) == b"Subject: x\r\n\r\n.signature\r\nbody\r\n"
    assert rest == b"QUIT\r\n"
    assert (data.bare_line_feeds, data.smuggling_patterns) == (0, 0)


def test_an_empty_message_ends_at_the_first_line():
    data, rest = read(b".\r\nQUIT\r\n")
    assert (bytes(data.content), rest) == (b"", b"QUIT\r\n")


def test_bare_lf_lines_are_taken_as_sent_and_unstuffed_like_crlf_lines():
    body = b"Subject: x\n\nline one\n..starts with a dot\nlast\n"
    data, rest = read(body + b"\r\n.\r\n")
    assert bytes(data.content) == b"Subject: x\n\nline one\n.starts with a dot\nlast\n\r\n"
    assert rest == b""
    assert data.bare_line_feeds == 5


def test_a_line_longer_than_the_buffer_is_taken_whole():
    interchange = b"UNA:+.? 'UNB+UNOC:3+X:14+Y:14+261126:0900+1'" + b"FTX+AAI+++" * 300_000
    data, _rest = read(interchange + b"\r\n.\r\n", buffer=65_536)
    assert bytes(data.content) == interchange + b"\r\n"


def test_a_crlf_split_between_two_parts_of_a_long_line_still_ends_the_line():
    data = MailData(None)
    assert not data.feed(b"x" * 10 + b"\r")
    assert not data.feed(b"\n")
    assert data.feed(b".\r\n")
    assert (bytes(data.content), data.bare_line_feeds) == (b"x" * 10 + b"\r\n", 0)


@pytest.mark.parametrize(("pattern", "lone_dots"), [
    (b"\n.\n", 1), (b"\n.\r\n", 1), (b"\r\n.\n", 1),
    # A bare CR ends no line: the dot is inside one.
    (b"\r.\r", 0), (b"\r.\r\n", 0)], ids=["LF.LF", "LF.CRLF", "CRLF.LF", "CR.CR", "CR.CRLF"])
def test_a_smuggled_end_of_data_is_content_not_the_end(pattern, lone_dots):
    """SEC Consult's SMTP smuggling: an end-of-data a lenient server would see, followed by
    a second transaction. Only the real end (CRLF.CRLF) ends the one message."""
    smuggled = (b"MAIL FROM:<ceo@buyer.example>\r\nRCPT TO:<orders@buyer.example>\r\n"
                b"DATA\r\nFrom: ceo@buyer.example\r\n\r\nPay now\r\n")
    first = b"Subject: hello\r\n\r\nhello" + pattern + smuggled
    data, rest = read(first + b".\r\nQUIT\r\n")
    assert bytes(data.content) == first
    assert rest == b"QUIT\r\n"
    assert data.smuggling_patterns == lone_dots


def test_over_the_limit_the_content_is_dropped_and_read_on_to_the_end():
    data, rest = read(b"x" * 100 + b"\r\n" + b"y" * 100 + b"\r\n.\r\nQUIT\r\n", limit=150)
    assert data.too_big
    assert bytes(data.content) == b""
    assert data.received == 204
    assert rest == b"QUIT\r\n"


def test_connections_are_limited_overall_and_per_client_address():
    limits = ConnectionLimits(total=3, per_client=2)
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is None
    refusal = limits.admit("192.0.2.1")
    assert refusal is not None
    assert "from 192.0.2.1" in refusal
    assert limits.admit("192.0.2.2") is None
    refusal = limits.admit("192.0.2.3")
    assert refusal is not None
    assert "3 open" in refusal
    limits.release("192.0.2.1")
    assert limits.admit("192.0.2.3") is None
    assert limits.open == 3
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        limits.release(client)
    assert limits.open == 0
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is None
