"""The REST API, `/api/v1`, for integrations (the ERP, a ticket system) holding an API token.

- Authentication: `Authorization: Bearer <token>` (`gateway users token create`); the token's
  scopes say what it may do (`exceptions:read`, `exceptions:write`).
- Lists page by cursor: an answer's `next_cursor` is passed back as `cursor`; the order is the
  queue's (worst first) and stable under concurrent inserts.
- One exception comes with its audit trail and its order line's timeline (each version of the
  promise: requested, confirmations, despatches, a buyer's acceptance).
- Every exception carries its `version`, also sent as the `ETag` header; an action must send it
  back in `If-Match` (RFC 9110 section 13.1.1). A missing one answers 428 (RFC 6585), a stale
  one 412: two clerks never overwrite each other's decision unseen.
- Every error is an RFC 9457 problem document (`application/problem+json`) with `type`,
  `title`, `status` and `detail`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.domain.access import Actor, Scope, may_read_exceptions, token_may
from gateway.errors import AccessError, InvalidTransition
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.web.actions import Action, ActionRequest, perform
from gateway.web.api_tokens import bearer_token
from gateway.web.context import WebContext
from gateway.web.queue_view import (
    MAX_ROW_ID,
    LineHistory,
    exception_json,
    exception_version,
    line_history,
    utc,
)

PREFIX = "/api/v1"
# A row id as the database stores it (a 32-bit INTEGER on PostgreSQL): a larger one in a path
# is refused as malformed (422) instead of reaching the database's integer conversion.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
PROBLEM_TYPES = "https://supplier-gateway.invalid/problems/"


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None,
                 extensions: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        # RFC 9457 section 3.2: extension members, e.g. the refused rows of an import.
        self.extensions = extensions or {}


class ExceptionOut(BaseModel):
    id: int
    code: str
    severity: str
    risk: float
    state: str
    supplier: str | None
    order_number: str | None
    line_no: str | None
    expected: str | None
    actual: str | None
    difference: str | None
    rule: str
    tolerance: str | None
    owner: str | None
    message_id: int | None
    occurrences: int
    created_at: str
    updated_at: str
    version: str = Field(description="Send back in If-Match when acting on it.")


class TrailEntry(BaseModel):
    at: str
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    detail: str | None


class LineVersionOut(BaseModel):
    kind: str = Field(description="requested, confirmation, despatch, receipt, or accepted "
                                  "(a buyer accepted the supplier's change)")
    quantity: str | None
    delivery_date: str | None
    price: str | None
    source: str
    message_id: int | None
    document_number: str | None
    at: str


class LineOut(BaseModel):
    line_no: str
    state: str
    quantity: str
    unit: str | None
    requested_date: str | None
    price: str | None
    versions: list[LineVersionOut]


class ExceptionDetailOut(ExceptionOut):
    trail: list[TrailEntry]
    line: LineOut | None = Field(description="The order line and its timeline, when the "
                                             "exception is about one.")


class ExceptionPage(BaseModel):
    items: list[ExceptionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                                "on the last.")


# Text without a NUL character: PostgreSQL text cannot hold one (refused as malformed, 422).
NO_NUL_TEXT = r"^[^\x00]*$"


class ActionIn(BaseModel):
    action: Action
    comment: str | None = Field(default=None, max_length=2000, pattern=NO_NUL_TEXT)
    owner: str | None = Field(default=None, max_length=200, pattern=NO_NUL_TEXT,
                              description="For `assign`: the buyer's email.")


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 409, 412, 422, 428)}


def problem_response(status: int, title: str, detail: str,
                     headers: dict[str, str] | None = None,
                     extensions: dict[str, Any] | None = None) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    return JSONResponse({**(extensions or {}), "type": PROBLEM_TYPES + slug, "title": title,
                         "status": status, "detail": detail}, status_code=status,
                        media_type="application/problem+json", headers=headers)


def unauthorized() -> ApiProblem:
    return ApiProblem(401, "Not signed in", "send a valid API token as "
                      "`Authorization: Bearer <token>`",
                      {"WWW-Authenticate": 'Bearer realm="gateway"'})


def token_caller(request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> Actor:
    """The integration behind the request's bearer token; 401 as a problem. A token found
    valid a moment ago is not looked up again (`gateway.web.api_tokens`)."""
    ctx: WebContext = request.app.state.web
    token = bearer_token(authorization)
    found = None
    if token is not None:
        with ctx.transaction() as session:
            found = ctx.tokens.actor(session, token, ctx.now())
    if found is None:
        raise unauthorized()
    return found


async def api_actor(found: Annotated[Actor, Depends(token_caller)]) -> Actor:
    """An integration that may read exceptions; 403 as a problem otherwise."""
    if not may_read_exceptions(found):
        raise ApiProblem(403, "Forbidden", "this token's scopes do not cover exceptions")
    return found


Caller = Annotated[Actor, Depends(api_actor)]


async def refuse_nul(request: Request) -> None:
    """A NUL character in a path or query value is malformed (422): PostgreSQL text cannot
    hold one, and no supplier code, order number or filter value has one."""
    values = [*request.query_params.values(), *request.path_params.values()]
    if any("\x00" in str(value) for value in values):
        raise ApiProblem(422, "Unprocessable content", "a NUL character in the request")


NO_NUL = [Depends(refuse_nul)]


def scoped(scope: Scope) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency: the token's integration, when its scopes cover `scope` (else 403)."""
    async def check(found: Annotated[Actor, Depends(token_caller)]) -> Actor:
        if not token_may(found, scope):
            raise ApiProblem(403, "Forbidden", f"this token has no {scope.value} scope")
        return found
    return check


def register_api(app: FastAPI, ctx: WebContext) -> None:
    app.state.web = ctx
    router = APIRouter(prefix=PREFIX, tags=["exceptions"], responses=PROBLEM_RESPONSES,
                       dependencies=NO_NUL)

    from gateway.web.api_queue import register_queue_api

    register_queue_api(router, ctx)

    @router.get("/exceptions/{exception_id}", response_model=ExceptionDetailOut,
                summary="One exception with its audit trail")
    def get_exception(exception_id: RowId, who: Caller) -> JSONResponse:
        from sqlalchemy import select

        with ctx.transaction() as session:
            row = session.get(ExceptionRow, exception_id)
            if row is None:
                raise ApiProblem(404, "Not found", f"no exception #{exception_id}")
            events = session.scalars(select(ExceptionEventRow).where(
                ExceptionEventRow.exception_id == exception_id).order_by(ExceptionEventRow.id))
            body = exception_json(row)
            body["trail"] = [{"at": utc(e.at).isoformat(), "actor": e.actor,
                              "action": e.action, "from_state": e.from_state,
                              "to_state": e.to_state, "detail": e.detail} for e in events]
            body["line"] = _line_json(line_history(session, row.order_line_id))
            return JSONResponse(body, headers={"ETag": f'"{exception_version(row)}"'})

    @router.post("/exceptions/{exception_id}/actions", response_model=ExceptionOut,
                 summary="Act on an exception (If-Match: its version)")
    def act(exception_id: RowId, body: ActionIn, who: Caller,
            if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
        if not if_match:
            raise ApiProblem(428, "Precondition required",
                             "send the exception's version (its ETag) in If-Match")
        expected = if_match.strip().removeprefix("W/").strip('"')
        try:
            with ctx.transaction() as session:
                row = perform(session, who, exception_id,
                              ActionRequest(body.action, body.comment, body.owner, expected),
                              ctx.now())
                result = exception_json(row)
        except LookupError as exc:
            raise ApiProblem(404, "Not found", str(exc.args[0])) from exc
        except InvalidTransition as exc:
            raise ApiProblem(409, "Conflict", str(exc)) from exc
        except AccessError as exc:
            raise ApiProblem(exc.http_status, exc.title, str(exc)) from exc
        return JSONResponse(result, headers={"ETag": f'"{result["version"]}"'})

    app.include_router(router)
    from gateway.web.api_messages import max_upload_bytes, messages_router
    from gateway.web.api_orders import orders_router
    from gateway.web.api_resources import resources_router

    app.include_router(orders_router(ctx))
    app.include_router(messages_router(ctx, getattr(app.state, "dispatch", None),
                                       max_upload_bytes(os.environ)))
    app.include_router(resources_router(ctx))
    from gateway.web.api_suppliers import suppliers_router

    app.include_router(suppliers_router(ctx))
    _register_problem_handlers(app)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _line_json(history: LineHistory) -> dict[str, Any] | None:
    line = history.line
    if line is None:
        return None
    return {"line_no": line.line_no, "state": line.state, "quantity": str(line.quantity),
            "unit": line.unit, "requested_date": _text(line.requested_date),
            "price": _text(line.price),
            "versions": [{"kind": v.kind, "quantity": _text(v.quantity),
                          "delivery_date": _text(v.delivery_date), "price": _text(v.price),
                          "source": v.source, "message_id": v.message_id,
                          "document_number": v.document_number, "at": utc(v.at).isoformat()}
                         for v in history.versions]}


def _register_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def api_problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors())
        return problem_response(422, "Unprocessable content", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith(PREFIX):
            return problem_response(exc.status_code, str(exc.detail), str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

