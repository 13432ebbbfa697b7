"""The floors `gateway bench web` measures the API against: what serving the same page costs
in Python with nothing of the gateway in the way.

`floor_app` is a bare ASGI application served by uvicorn the way `gateway web` is (same
event loop and HTTP parser, same worker count, its access log on). It answers every request
with the API's first page, pre-rendered (the bytes the gateway answered, read from the file
named by `GATEWAY_BENCH_FLOOR_BODY`):

- without `GATEWAY_BENCH_FLOOR_DSN`: the HTTP floor, no database at all;
- with it: each request first runs the page's statement (`GATEWAY_BENCH_FLOOR_SQL`, a JSON
  file with `sql` and `parameters`, what the bare side runs) through psycopg, on a
  connection of its own per worker thread, in a worker thread as a synchronous driver must
  (`gateway.web.threads.WorkerThreads` of `THREADS`, the hand-off `gateway web` uses): the
  HTTP-and-query floor. The rows are fetched and dropped; the pre-rendered page is sent;
- with `GATEWAY_BENCH_FLOOR_MODE=async` as well: the same statement through psycopg's asyncio
  connections on the event loop, no worker thread (what an async driver would save).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ENV_BODY = "GATEWAY_BENCH_FLOOR_BODY"
ENV_DSN = "GATEWAY_BENCH_FLOOR_DSN"
ENV_SQL = "GATEWAY_BENCH_FLOOR_SQL"
# "async": the statement through psycopg's asyncio connections (a pool of `ASYNC_POOL`) on the
# event loop instead of a worker thread.
ENV_MODE = "GATEWAY_BENCH_FLOOR_MODE"
ASYNC_POOL = 8
THREADS = 10  # gateway.bootstrap.SERVING_POOL_SIZE, the threads `gateway web` reads the page in

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


def page_query(dsn: str, sql: str, parameters: dict[str, Any]) -> Callable[[], None]:
    """Runs the statement and fetches its rows, on the calling thread's own connection."""
    import psycopg

    local = threading.local()

    def run() -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = psycopg.connect(dsn, autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            cursor.fetchall()
    return run


def async_page_query(dsn: str, sql: str, parameters: dict[str, Any]
                     ) -> Callable[[], Awaitable[None]]:
    """The statement on one of `ASYNC_POOL` asyncio connections, opened at first use."""
    import asyncio

    import psycopg

    idle: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None

    async def run() -> None:
        nonlocal idle
        if idle is None:
            idle = asyncio.Queue()
            for _ in range(ASYNC_POOL):
                idle.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
        connection = await idle.get()
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(sql, parameters)
                await cursor.fetchall()
        finally:
            idle.put_nowait(connection)
    return run


def floor_app() -> ASGIApp:
    """uvicorn's factory (`--factory`): the app, configured from the environment."""
    from gateway.web.threads import WorkerThreads

    body = Path(os.environ[ENV_BODY]).read_bytes()
    query: Callable[[], None] | None = None
    awaited: Callable[[], Awaitable[None]] | None = None
    if os.environ.get(ENV_DSN):
        statement = json.loads(Path(os.environ[ENV_SQL]).read_text())
        if os.environ.get(ENV_MODE) == "async":
            awaited = async_page_query(os.environ[ENV_DSN], statement["sql"],
                                       statement["parameters"])
        else:
            query = page_query(os.environ[ENV_DSN], statement["sql"], statement["parameters"])
    start: Message = {"type": "http.response.start", "status": 200,
                      "headers": [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(body)).encode())]}
    answer: Message = {"type": "http.response.body", "body": body}
    threads = WorkerThreads(THREADS, "floor")

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if query is not None:
            await threads.call(query)
        elif awaited is not None:
            await awaited()
        await send(start)
        await send(answer)
    return app
