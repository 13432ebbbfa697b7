"""`POST /as2`: the AS2 endpoint over HTTP, in the web app and alone (`gateway as2`).

The body is read up to the partner file's cap (`max_message_bytes`): a `Content-Length`
over it is refused before a byte is read, and a body that passes it while streaming stops
being read; either way the partner gets an error MDN and IT sees the request's header
fields. A body not read whole within `request_timeout_seconds` (120 by default) is answered
408 without an MDN: nothing was stored, and the partner sends it again. The channel
(`gateway.channels.as2`) runs in a thread: opening, the commit and signing the MDN never hold
the event loop, so one slow client does not stop others.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.as2.partners import As2Directory
from gateway.channels.as2 import Answer, As2Channel, As2Request

PATH = "/as2"


async def read_capped(request: Request, cap: int) -> tuple[bytes, bool]:
    """The body, and whether it passed the cap (then the part read is dropped)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


def as2_endpoint(channel: As2Channel, directories: Callable[[], As2Directory] | None = None
                 ) -> Callable[[Request], Awaitable[Response]]:
    """`directories` (a `PartnerFileWatch`): the partner file's tables as they are now, read
    again when their files change; each request is taken with the table in service when it
    arrives (None: `channel.directory` for ever)."""
    in_service = _ChannelInService(channel, directories)

    async def receive(request: Request) -> Response:
        # The caps of the table in service; its files are checked (and read again when they
        # changed) in the worker thread below, never on the event loop.
        channel = in_service.latest
        try:
            # A client that sends its body too slowly (slow loris) holds its own connection
            # until the deadline, never the others': reading is asynchronous.
            async with asyncio.timeout(channel.directory.request_timeout_seconds):
                body, oversize = await read_capped(request,
                                                   channel.directory.max_message_bytes)
        except TimeoutError:
            return Response(b"the message did not arrive in time; send it again\n",
                            status_code=408, headers={"Connection": "close"})
        headers = [(name.decode("latin-1"), value.decode("latin-1"))
                   for name, value in request.headers.raw]
        answer = await run_in_threadpool(in_service.receive, As2Request(headers, body, oversize))
        if answer.receipt is None:
            return Response(b"", status_code=200)
        return Response(answer.receipt.body, status_code=200,
                        headers=dict(answer.receipt.headers))

    return receive


class _ChannelInService:
    """The channel with the directory in service: a new channel only when the directory
    changed (one assignment: a request is taken with the old one or the new one)."""

    def __init__(self, channel: As2Channel,
                 directories: Callable[[], As2Directory] | None) -> None:
        self.latest = channel
        self._directories = directories

    def receive(self, request: As2Request) -> Answer:
        if self._directories is not None:
            directory = self._directories()
            if directory is not self.latest.directory:
                self.latest = replace(self.latest, directory=directory)
        return self.latest.receive(request)


def as2_route(channel: As2Channel, directories: Callable[[], As2Directory] | None = None
              ) -> Route:
    return Route(PATH, as2_endpoint(channel, directories), methods=["POST"])


def register_as2(app: Starlette, transaction: Callable[[], AbstractContextManager[Session]],
                 partner_file: Path, dispatch: Callable[[Sequence[int]], None] | None) -> None:
    """`POST /as2` in the web app, when GATEWAY_AS2_PARTNERS names the partner file (read
    again when it or a file it names changes)."""
    from gateway.as2.reload import PartnerFileWatch
    from gateway.services.as2_certificates import partner_file_reporter

    clock = lambda: datetime.now(UTC)   # noqa: E731
    watch = PartnerFileWatch(partner_file, os.environ,
                             on_change=partner_file_reporter(transaction, clock, partner_file))
    app.router.routes.append(as2_route(As2Channel(transaction, watch.current(), clock,
                                                  dispatch), watch))


def as2_app(channel: As2Channel, directories: Callable[[], As2Directory] | None = None
            ) -> Starlette:
    """The endpoint alone, for `gateway as2`."""
    return Starlette(routes=[as2_route(channel, directories)])
