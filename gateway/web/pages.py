"""The server-rendered pages: sign in and out, the exception queue, one exception and its
actions, the choice of language. Every page reads without JavaScript; every form is a plain
POST carrying a CSRF token, answered by a redirect (303) so that reloading never repeats it.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from gateway.domain.acceptance import ACCEPTABLE
from gateway.domain.discrepancies import OPEN_STATES, DiscrepancyCode, ExceptionState
from gateway.errors import AccessError, InvalidTransition
from gateway.persistence.accounts import UserRow
from gateway.services.accounts import (
    SESSION_LIFETIME,
    SignedIn,
    UserView,
    close_session,
    current_session,
    open_session,
    sign_in,
)
from gateway.services.queue import show_exception
from gateway.services.rejections import rejectable, replies_to
from gateway.web.actions import Action, ActionRequest, may_act, perform
from gateway.web.context import WebContext
from gateway.web.excerpt import message_excerpt
from gateway.web.i18n import LANGUAGES, negotiate
from gateway.web.queue_view import (
    DEFAULT_PAGE_SIZE,
    MAX_ROW_ID,
    BadCursor,
    clean_filters,
    exception_version,
    line_history,
    queue_page,
    supplier_codes,
)
from gateway.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    safe_next,
    set_cookie,
    tokens_match,
)

SEVERITIES = ("high", "medium", "low")
# Paths whose requests answer their own malformed values: the API (problem documents,
# `gateway.web.api.refuse_nul`) and the AS2 endpoint (binary bodies).
NOT_PAGES = ("/api/", "/as2")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MalformedInput(Exception):
    """A page request with a value no link or form of the app makes: answered 400 before
    anything is read or written."""


async def refuse_nul(request: Request) -> None:
    """A NUL character in a page's path, query or form value is malformed: PostgreSQL text
    cannot hold one (the statement would fail, a 500), and no code, order number, filter,
    email or comment has one. The form is the one a POST route reads anyway (Starlette keeps
    it); the body of any other request is left unread."""
    if request.url.path.startswith(NOT_PAGES):
        return
    values = [*request.path_params.values(), *(v for _, v in request.query_params.multi_items())]
    if request.method == "POST" and request.headers.get(
            "content-type", "").lower().startswith(FORM_TYPES):
        values += [v for _, v in (await request.form()).multi_items() if isinstance(v, str)]
    if any("\x00" in str(value) for value in values):
        raise MalformedInput


def stored_id(value: int) -> bool:
    """Whether an id from a URL may name a row at all: PostgreSQL's row ids are 32-bit
    INTEGERs, and a larger value would fail the statement (a 500) instead of finding nothing."""
    return 0 < value <= MAX_ROW_ID


def _signed_in(ctx: WebContext, request: Request, session: Session) -> SignedIn | None:
    token = ctx.signer.session_token(request.cookies.get(SESSION_COOKIE))
    return current_session(session, token, ctx.now()) if token else None


def _locale(request: Request, user: UserView | None) -> str:
    choice = user.locale if user is not None else request.query_params.get("lang")
    return negotiate(choice, request.headers.get("accept-language"))


def posted_by(ctx: WebContext, request: Request, csrf: str) -> SignedIn | Response:
    """Who posted a form: the signed-in user whose CSRF token the form carries; else the
    answer to give instead (to the sign-in page, or 403)."""
    with ctx.transaction() as session:
        current = _signed_in(ctx, request, session)
    if current is None:
        return _to_login(request)
    if not tokens_match(current.csrf_token, csrf):
        return _problem_page(ctx, request, current, 403, "csrf")
    return current


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def register_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/dashboard", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:
        return _login_page(ctx, request, next, None, 200)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, email: Annotated[str, Form()] = "",
              password: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/") -> Response:
        expected = ctx.signer.login_csrf(request.cookies.get(LOGIN_CSRF_COOKIE))
        if not tokens_match(expected, csrf):
            return _login_page(ctx, request, next, "csrf", 403)
        outcome = sign_in(ctx.transaction, email, password, _client(request), ctx.now())
        if outcome.user is None:
            reason = "limited" if "too many" in str(outcome.refusal) else "refused"
            return _login_page(ctx, request, next, reason, 401)
        with ctx.transaction() as session:
            opened = open_session(session, outcome.user, ctx.now())
        response = RedirectResponse(safe_next(next), status_code=303)
        set_cookie(response, request, ctx.settings, SESSION_COOKIE,
                   ctx.signer.sign_session(opened.token),
                   int(SESSION_LIFETIME.total_seconds()))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        token = ctx.signer.session_token(request.cookies.get(SESSION_COOKIE))
        with ctx.transaction() as session:
            current = current_session(session, token, ctx.now()) if token else None
            if current is not None and token is not None and tokens_match(
                    current.csrf_token, csrf):
                close_session(session, token)
            elif current is not None:
                return _problem_page(ctx, request, current, 403, "csrf")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.post("/language", include_in_schema=False)
    def language(request: Request, locale: Annotated[str, Form()] = "",
                 csrf: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/") -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            if not tokens_match(current.csrf_token, csrf):
                return _problem_page(ctx, request, current, 403, "csrf")
            user = session.get(UserRow, current.user.id)
            if user is not None:
                user.locale = locale if locale in LANGUAGES else None
        return RedirectResponse(safe_next(next), status_code=303)

    @app.get("/exceptions", include_in_schema=False)
    def queue(request: Request, supplier: str | None = None, severity: str | None = None,
              code: str | None = None, state: str | None = None, owner: str | None = None,
              order: str | None = None, age: str | None = None,
              cursor: str | None = None) -> Response:
        filters = clean_filters(supplier, severity, code, state, owner, order, age)
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            try:
                page = queue_page(session, filters, cursor, DEFAULT_PAGE_SIZE, ctx.now())
            except BadCursor:
                return _problem_page(ctx, request, current, 400, "cursor")
            following = {**filters.as_query(), "cursor": page.next_cursor or ""}
            next_link = f"/exceptions?{urlencode(following)}" if page.next_cursor else None
            return ctx.render(
                request, _locale(request, current.user), "queue.html", me=current,
                rows=page.rows, filters=filters, next_link=next_link,
                versions={row.id: exception_version(row) for row in page.rows},
                first_link=f"/exceptions?{urlencode(filters.as_query())}" if cursor else None,
                suppliers=supplier_codes(session), severities=SEVERITIES,
                codes=[c.value for c in DiscrepancyCode],
                states=["open", "any", *(s.value for s in ExceptionState)])

    @app.get("/exceptions/{exception_id}", include_in_schema=False)
    def exception_page(request: Request, exception_id: int, done: str | None = None) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            detail = show_exception(session, exception_id) if stored_id(exception_id) else None
            if detail is None:
                return _problem_page(ctx, request, current, 404, "not_found")
            row = detail.exception
            excerpt = None
            if detail.message is not None:
                index = detail.document.message_index if detail.document else None
                excerpt = message_excerpt(detail.message.raw, detail.message.filename, index,
                                          row.position, [row.order_number or ""])
            return ctx.render(
                request, _locale(request, current.user), "exception.html", me=current,
                row=row, events=detail.events, message=detail.message,
                document=detail.document, history=line_history(session, row.order_line_id),
                excerpt=excerpt, can_act=may_act(session, current.actor, row),
                can_accept=(row.code in ACCEPTABLE and row.order_line_id is not None
                            and row.state in OPEN_STATES),
                can_reject=(rejectable(row.code, row.order_number)
                            and row.state in OPEN_STATES),
                version=exception_version(row), replies=replies_to(session, row.id),
                done=done if done in {a.value for a in Action} else None)

    @app.post("/exceptions/{exception_id}/actions", include_in_schema=False)
    def act(request: Request, exception_id: int, action: Annotated[str, Form()] = "",
            csrf: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
            comment: Annotated[str, Form()] = "",
            assignee: Annotated[str, Form()] = "") -> Response:
        current = posted_by(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        if action not in {a.value for a in Action}:
            return _problem_page(ctx, request, current, 400, "action")
        try:
            with ctx.transaction() as session:
                perform(session, current.actor, exception_id,
                        ActionRequest(Action(action), comment, assignee, version or None),
                        ctx.now())
        except LookupError:
            return _problem_page(ctx, request, current, 404, "not_found")
        except AccessError as exc:
            return _problem_page(ctx, request, current, exc.http_status, type(exc).__name__,
                                 exception_id)
        except InvalidTransition:
            return _problem_page(ctx, request, current, 409, "transition", exception_id)
        return RedirectResponse(f"/exceptions/{exception_id}?done={action}", status_code=303)

    @app.exception_handler(MalformedInput)
    async def malformed(request: Request, _exc: MalformedInput) -> Response:
        return ctx.render(request, _locale(request, None), "problem.html", status=400, me=None,
                          http_status=400, reason="malformed", exception_id=None)


def _login_page(ctx: WebContext, request: Request, next_path: str, error: str | None,
                status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = ctx.render(request, _locale(request, None), "login.html", me=None,
                          csrf=token, next=safe_next(next_path), error=error, status=status)
    set_cookie(response, request, ctx.settings, LOGIN_CSRF_COOKIE,
               ctx.signer.sign_login_csrf(token), None)
    return response


def _problem_page(ctx: WebContext, request: Request, current: SignedIn, status: int,
                  reason: str, exception_id: int | None = None) -> Response:
    return ctx.render(request, _locale(request, current.user), "problem.html", status=status,
                      me=current, http_status=status, reason=reason,
                      exception_id=exception_id)

