"""`GET /api/v1/exceptions`: the queue, worst first, one page: the route integrations poll.

What one request costs, and why it is cheap (docs/benchmarks.md, `gateway bench web`):

- One connection from the pool (no ping before it, `bootstrap.make_engine(serving=True)`) and
  one transaction holding the token check and the page; a token found valid a moment ago is
  not looked up again (`gateway.web.api_tokens`), so the page is then its only statement,
  sent alone without BEGIN and COMMIT.
- One hop to a worker thread (the context's own pool, `WebContext.in_thread`) for that
  transaction; the header and query checks run on the event loop.
- The page's columns, not ORM objects (`queue_view.queue_statement` with `API_COLUMNS`), its
  text made once per combination of filters and sent straight to psycopg, each row (a tuple)
  turned into its JSON item by a plain function and written by orjson, or taken from the
  worker's memo of items when the row has not changed since (`queue_items.ItemMemo`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.domain.access import Actor, may_read_exceptions
from gateway.web.api import PREFIX, ApiProblem, ExceptionPage, problem_response, unauthorized
from gateway.web.api_tokens import bearer_token
from gateway.web.context import WebContext
from gateway.web.queue_items import API_COLUMNS, page_json
from gateway.web.queue_view import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BadCursor,
    QueueFilters,
    clean_filters,
    queue_shape,
    queue_statement,
    queue_values,
)


def checked_values(actor: Actor | None, filters: QueueFilters, cursor: str | None,
                   limit: int, now: datetime) -> dict[str, Any]:
    """The page statement's values for `actor` (`queue_values`; 401 when there is none, 403
    without the scope, 400 for a cursor this gateway did not make, in that order)."""
    if actor is None:
        raise unauthorized()
    if not may_read_exceptions(actor):
        raise ApiProblem(403, "Forbidden", "this token's scopes do not cover exceptions")
    try:
        return queue_values(filters, cursor, limit, now)
    except BadCursor as exc:
        raise ApiProblem(400, "Bad cursor", str(exc)) from exc


def read_page(ctx: WebContext, token: str, filters: QueueFilters, cursor: str | None,
              limit: int) -> bytes:
    """The page for `token`, its JSON written after the connection went back to the pool.

    A token remembered as valid (`gateway.web.api_tokens`) leaves the page as the request's
    only statement: it runs alone, outside a transaction (`WebContext.read_alone`), one round
    trip instead of BEGIN, SELECT and COMMIT, its text made once per combination of filters
    (`queue_shape`) and sent straight to psycopg. Otherwise the token is looked up (and its
    last use recorded) in the page's own transaction."""
    now = ctx.now()
    remembered = ctx.tokens.remembered(token, now)
    if remembered is not None:
        values = checked_values(remembered, filters, cursor, limit, now)
        return page_json(ctx.read_alone(
            ("exceptions", queue_shape(filters, values)),
            lambda: queue_statement(API_COLUMNS, filters, values), values), limit, ctx.items)

    def work(connection: Connection) -> Sequence[Sequence[Any]]:
        with Session(bind=connection) as session:
            found = ctx.tokens.actor(session, token, now)
            session.flush()
        values = checked_values(found, filters, cursor, limit, now)
        return connection.execute(queue_statement(API_COLUMNS, filters, values)).all()

    return page_json(ctx.read_rows(work), limit, ctx.items)


def register_queue_api(router: APIRouter, ctx: WebContext) -> None:
    @router.get("/exceptions", response_model=ExceptionPage,
                summary="The exception queue, worst first, one page")
    async def list_exceptions(
            authorization: Annotated[str | None, Header()] = None,
            supplier: str | None = None, severity: str | None = None, code: str | None = None,
            state: Annotated[str | None, Query(
                description="open (default: open or acknowledged), any, or one state")] = None,
            owner: str | None = None, order: str | None = None,
            age: Annotated[int | None, Query(ge=0, le=36500,
                                             description="raised at least this many days "
                                                         "ago")] = None,
            cursor: str | None = None,
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Response:
        token = bearer_token(authorization)
        if token is None:
            raise unauthorized()
        filters = clean_filters(supplier, severity, code, state, owner, order, age)
        body = await ctx.in_thread(read_page, ctx, token, filters, cursor, limit)
        return Response(body, media_type="application/json")


# The query parameters of `list_exceptions`; the front door answers only requests that name
# each at most once, with the plain values below.
_TEXT_PARAMETERS = frozenset({"supplier", "severity", "code", "state", "owner", "order",
                              "cursor"})
_NUMBER_PARAMETERS = {"limit": (1, MAX_PAGE_SIZE), "age": (0, 36500)}
_PATH = PREFIX + "/exceptions"


def plain_query(query_string: bytes) -> dict[str, str] | None:
    """The list's parameters when every one is plainly valid (known, given once, no NUL, a
    number in ASCII digits within its bounds); None for anything else, which the FastAPI
    route then validates and answers (422 and the rest), so both doors answer alike. Decoded
    as Starlette decodes a query string."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs):
        return None
    for name, value in found.items():
        if "\x00" in value:
            return None
        if name in _NUMBER_PARAMETERS:
            low, high = _NUMBER_PARAMETERS[name]
            if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
                return None
        elif name not in _TEXT_PARAMETERS:
            return None
    return found


class QueueFrontDoor:
    """ASGI middleware answering `GET /api/v1/exceptions` itself when the request is plainly
    valid (`plain_query`, a bearer token): the same `read_page` as the route, without
    FastAPI's routing, parameter models and dependency solving, which cost more CPU than the
    page's query. Anything else, and every other request, goes on to the app. The route stays
    the one described by the OpenAPI document and the one that answers malformed requests."""

    def __init__(self, app: ASGIApp, ctx: WebContext) -> None:
        self._app = app
        self._ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "GET"):
            await self._app(scope, receive, send)
            return
        query = plain_query(scope["query_string"])
        token = bearer_token(_header(scope, b"authorization"))
        if query is None or token is None:
            await self._app(scope, receive, send)
            return
        filters = clean_filters(query.get("supplier"), query.get("severity"),
                                query.get("code"), query.get("state"), query.get("owner"),
                                query.get("order"), query.get("age"))
        limit = int(query.get("limit", DEFAULT_PAGE_SIZE))
        try:
            body = await self._ctx.in_thread(read_page, self._ctx, token, filters,
                                             query.get("cursor") or None, limit)
        except ApiProblem as problem:
            answer = problem_response(problem.status, problem.title, problem.detail,
                                      problem.headers, problem.extensions)
            await answer(scope, receive, send)
            return
        # The headers Starlette's `Response(body, media_type="application/json")` sends, in its
        # order, without building one per request.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode()),
                                (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
