"""The limits on one email's parts and body text: past them the email is still returned with
its header and a located error, in work bounded by the limit, not by what the sender wrote."""

from __future__ import annotations

from email.message import Message

import pytest

import mappings.email.body as body_module
from mappings.email.message import read_email_message
from mappings.registry import reader_for
from parsers.errors import ProblemCode
from parsers.mime import MailLimits, MailProblemCode, parse_email
from parsers.mime import message as mime_message


def many_parts(parts: int, html: bool = False) -> bytes:
    """One email of `parts` inline text parts (each an HTML table when `html`)."""
    out = [b"From: Orders <orders@supplier.example>\r\nSubject: PO 4500012345\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"]
    for number in range(parts):
        content = (b"<table><tr><td>PO</td><td>Line</td><td>Qty</td></tr><tr><td>4500012345"
                   b"</td><td>%d</td><td>5</td></tr></table>" % number) if html else b"x"
        kind = b"text/html" if html else b"text/plain"
        out.append(b"--B\r\nContent-Type: " + kind + b"\r\n\r\n" + content + b"\r\n")
    out.append(b"--B--\r\n")
    return b"".join(out)


def test_a_message_past_the_part_limit_keeps_its_header_and_says_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Message] = []

    class Counted(Message):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(mime_message, "Message", Counted)
    parsed = parse_email(many_parts(4000), MailLimits(max_parts=50))
    [problem] = parsed.problems
    assert (problem.code, problem.part, problem.is_error) == (
        MailProblemCode.TOO_MANY_PARTS, "", True)
    assert "more than 50 MIME parts" in problem.detail
    assert parsed.from_address == "orders@supplier.example"
    assert (parsed.text_body, parsed.attachments) == (None, ())
    # The parser was stopped at the limit: not one part past it was made.
    assert len(made) <= 51


def test_a_message_past_the_part_limit_is_an_error_the_buyer_reads() -> None:
    reading = read_email_message(many_parts(2000), "reply.eml", readers=reader_for)
    assert reading.envelope is not None
    assert reading.envelope.sender_addresses == ("orders@supplier.example",)
    first = reading.results[0]
    assert first.code is ProblemCode.UNSUPPORTED_SYNTAX  # type: ignore[union-attr]
    assert "more than 500 MIME parts" in first.detail  # type: ignore[union-attr]


def test_the_lines_of_a_body_are_keyed_once_however_many_tables_it_has(
        monkeypatch: pytest.MonkeyPatch) -> None:
    keyed: list[str] = []
    original = body_module._line_key

    def counting(text: str) -> tuple[str, ...]:
        keyed.append(text)
        return original(text)

    monkeypatch.setattr(body_module, "_line_key", counting)
    parsed = parse_email(many_parts(300, html=True))
    reading = read_email_message(many_parts(300, html=True), "reply.eml",
                                 readers=reader_for)
    assert parsed.text_body is not None
    assert reading.results
    # Each line of the body once (it was once per line and per table: 300 times as many).
    assert len(keyed) <= parsed.text_body.count("\n") + 1


def test_body_text_past_the_limit_is_not_read_and_says_where() -> None:
    raw = (b"From: orders@supplier.example\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\nPO 4500012345 line 10: 80 pcs\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 200 + b"\r\n--B--\r\n")
    parsed = parse_email(raw, MailLimits(max_text_chars=100))
    [problem] = parsed.problems
    assert (problem.code, problem.part) == (MailProblemCode.TEXT_TOO_LONG, "2")
    assert "past the 100 read" in problem.detail
    assert parsed.text_body == "PO 4500012345 line 10: 80 pcs"


def test_forwarded_messages_share_the_body_text_limit() -> None:
    inner = b"From: b@supplier.example\r\n\r\n" + b"z" * 80 + b"\r\n"
    raw = (b"From: orders@supplier.example\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"a" * 50 + b"\r\n"
           b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--B--\r\n")
    parsed = parse_email(raw, MailLimits(max_text_chars=100))
    [forwarded] = parsed.forwarded
    assert [p.code for p in forwarded.problems] == [MailProblemCode.TEXT_TOO_LONG]
    assert forwarded.text_body is None
