"""The users page for admins, `/users`: every account with its role, group and state, and the
actions of `gateway users` with the same rules (`gateway.services.accounts`): create (with a
role and a group), disable or enable (which signs the user out everywhere), reset the password
(likewise). Passwords are typed twice and hashed with Argon2; every action is audited with the
admin's email. Each is a plain form POST with the session's CSRF token; other roles get 403.
An admin cannot disable their own account (no locking oneself out from here).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from gateway.domain.access import Role, may_manage_users
from gateway.errors import ConfigurationError
from gateway.persistence.accounts import AuditEventRow, UserRow
from gateway.services.accounts import (
    SignedIn,
    create_user,
    disable_user,
    list_users,
    reset_password,
)
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _signed_in, _to_login, posted_by, stored_id
from gateway.web.supplier_admin_pages import admin_problem

MAX_PASSWORD_LENGTH = 1024  # longer is no password a person types: refused before hashing
DONE = ("created", "disabled", "enabled", "password")
RECENT_EVENTS = 50
ACCOUNT_ACTIONS = ("user_created", "user_disabled", "user_enabled", "password_reset",
                   "token_created", "token_revoked")


def _admin(ctx: WebContext, request: Request, csrf: str) -> SignedIn | Response:
    current = posted_by(ctx, request, csrf)
    if isinstance(current, Response):
        return current
    if not may_manage_users(current.actor):
        return admin_problem(ctx, request, current, 403, "not_admin")
    return current


def _email_of(ctx: WebContext, user_id: int) -> str | None:
    if not stored_id(user_id):
        return None
    with ctx.transaction() as session:
        row = session.get(UserRow, user_id)
        return row.email if row is not None else None


def register_users_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/users", include_in_schema=False)
    def users(request: Request, done: str | None = None) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            if not may_manage_users(current.actor):
                return admin_problem(ctx, request, current, 403, "not_admin")
            events = list(session.scalars(
                select(AuditEventRow).where(AuditEventRow.action.in_(ACCOUNT_ACTIONS))
                .order_by(AuditEventRow.id.desc()).limit(RECENT_EVENTS)))
            return ctx.render(request, _locale(request, current.user), "users.html",
                              me=current, users=list_users(session), events=events,
                              roles=[r.value for r in Role],
                              done=done if done in DONE else None)

    @app.post("/users", include_in_schema=False)
    def create(request: Request, csrf: Annotated[str, Form()] = "",
               email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
               role: Annotated[str, Form()] = "", group: Annotated[str, Form()] = "",
               password: Annotated[str, Form()] = "",
               password_again: Annotated[str, Form()] = "") -> Response:
        current = _admin(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        if role not in {r.value for r in Role}:
            return admin_problem(ctx, request, current, 422, "invalid_edit", "role")
        if password != password_again or len(password) > MAX_PASSWORD_LENGTH:
            return admin_problem(ctx, request, current, 422, "passwords_differ")
        try:
            with ctx.transaction() as session:
                create_user(session, email[:200], name.strip()[:200], Role(role),
                            group.strip()[:64] or None, password, current.user.email,
                            ctx.now())
        except ConfigurationError as exc:
            return admin_problem(ctx, request, current, 422, "invalid_edit", str(exc))
        return RedirectResponse("/users?done=created", status_code=303)

    @app.post("/users/{user_id}/disable", include_in_schema=False)
    def disable(request: Request, user_id: int, csrf: Annotated[str, Form()] = "",
                enable: Annotated[str, Form()] = "") -> Response:
        current = _admin(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        email = _email_of(ctx, user_id)
        if email is None:
            return admin_problem(ctx, request, current, 404, "no_user")
        if user_id == current.user.id and not enable:
            return admin_problem(ctx, request, current, 409, "own_account")
        with ctx.transaction() as session:
            disable_user(session, email, current.user.email, ctx.now(), disabled=not enable)
        return RedirectResponse(f"/users?done={'enabled' if enable else 'disabled'}",
                                status_code=303)

    @app.post("/users/{user_id}/password", include_in_schema=False)
    def password(request: Request, user_id: int, csrf: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "",
                 password_again: Annotated[str, Form()] = "") -> Response:
        current = _admin(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        email = _email_of(ctx, user_id)
        if email is None:
            return admin_problem(ctx, request, current, 404, "no_user")
        if password != password_again or len(password) > MAX_PASSWORD_LENGTH:
            return admin_problem(ctx, request, current, 422, "passwords_differ")
        try:
            with ctx.transaction() as session:
                reset_password(session, email, password, current.user.email, ctx.now())
        except ConfigurationError as exc:
            return admin_problem(ctx, request, current, 422, "invalid_edit", str(exc))
        return RedirectResponse("/users?done=password", status_code=303)
