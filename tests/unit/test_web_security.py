"""`gateway.web.security.SecurityHeaders` on its own, as plain ASGI: the headers on every
answer, HSTS only when asked, and an exception that ends a response already begun is not
answered a second time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.web.security import SecurityHeaders

Message = dict[str, Any]


def _run(app: Any, hsts: bool = False) -> tuple[list[Message], BaseException | None]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    raised: BaseException | None = None
    try:
        asyncio.run(SecurityHeaders(app, hsts=hsts)({"type": "http"}, receive, send))
    except RuntimeError as exc:
        raised = exc
    return sent, raised


def _headers(message: Message) -> dict[bytes, bytes]:
    return dict(message["headers"])


async def _page(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-frame-options", b"SAMEORIGIN")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _fails_before_answering(_scope: Any, _receive: Any, _send: Any) -> None:
    raise RuntimeError("a defect")


async def _fails_while_answering(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    raise RuntimeError("a defect")


def test_an_answer_gets_the_headers_it_did_not_set_itself() -> None:
    sent, raised = _run(_page)
    assert raised is None
    headers = _headers(sent[0])
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
    assert b"strict-transport-security" not in headers


def test_hsts_is_sent_only_when_the_site_is_served_over_https() -> None:
    sent, _raised = _run(_page, hsts=True)
    assert _headers(sent[0])[b"strict-transport-security"] == b"max-age=31536000"


def test_an_exception_before_the_answer_is_answered_500_with_the_headers_and_raised_on() -> None:
    sent, raised = _run(_fails_before_answering, hsts=True)
    assert isinstance(raised, RuntimeError)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 500
    headers = _headers(sent[0])
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"strict-transport-security"] == b"max-age=31536000"
    assert headers[b"content-length"] == str(len(sent[1]["body"])).encode()
    assert sent[1]["body"] == b"Internal Server Error"


def test_an_exception_after_the_answer_began_is_raised_on_without_a_second_answer() -> None:
    sent, raised = _run(_fails_while_answering)
    assert isinstance(raised, RuntimeError)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200


def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def lifespan(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def send(_message: Message) -> None:
        pytest.fail("nothing is sent for a lifespan scope")

    asyncio.run(SecurityHeaders(lifespan)({"type": "lifespan"}, nothing, send))
    assert seen == ["lifespan"]


def test_hsts_is_sent_for_a_request_that_came_over_tls() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(SecurityHeaders(_page)({"type": "http", "scheme": "https"}, receive, send))
    assert _headers(sent[0])[b"strict-transport-security"] == b"max-age=31536000"
