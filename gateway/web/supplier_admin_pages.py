"""An admin's edits on the supplier page: `POST /suppliers/{code}/entry` (the partner entry)
and `POST /suppliers/{code}/profile` (a new version of its tolerance profile), both through
`gateway.services.supplier_admin`. Each is a plain form POST with the session's CSRF token
and the version the page showed (412 when someone changed it meanwhile), answered by a
redirect back to the page; other roles get 403 and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.domain.access import Role
from gateway.errors import StaleVersion
from gateway.services.accounts import SignedIn
from gateway.services.partners import PROFILE_FIELDS
from gateway.services.supplier_admin import (
    EntryEdit,
    InvalidEdit,
    add_profile_version,
    edit_entry,
)
from gateway.web.context import WebContext
from gateway.web.pages import _locale, posted_by


def admin_problem(ctx: WebContext, request: Request, current: SignedIn, status: int,
                  reason: str, detail: str | None = None) -> Response:
    """The problem page of an admin form, with the field at fault when there is one."""
    return ctx.render(request, _locale(request, current.user), "problem.html", status=status,
                      me=current, http_status=status, reason=reason, exception_id=None,
                      detail=detail)


def _back(code: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/suppliers/{quote(code, safe='')}?done={done}", status_code=303)


def _admin(ctx: WebContext, request: Request, csrf: str) -> SignedIn | Response:
    current = posted_by(ctx, request, csrf)
    if isinstance(current, Response):
        return current
    if current.user.role is not Role.ADMIN:
        return admin_problem(ctx, request, current, 403, "not_admin")
    return current


def register_supplier_admin_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.post("/suppliers/{code}/entry", include_in_schema=False)
    def edit_partner(request: Request, code: str, csrf: Annotated[str, Form()] = "",
                     version: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                     buyer_contact: Annotated[str, Form()] = "",
                     profile_name: Annotated[str, Form()] = "",
                     language: Annotated[str, Form()] = "",
                     mail_auth: Annotated[str, Form()] = "",
                     reminders: Annotated[str, Form()] = "",
                     contrl: Annotated[str, Form()] = "",
                     aperak: Annotated[str, Form()] = "") -> Response:
        current = _admin(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        edit = EntryEdit(name, buyer_contact, profile_name, language, mail_auth,
                         reminders == "on", contrl, aperak)
        return _apply(ctx, request, current, code, "entry", lambda session: edit_entry(
            session, code, edit, version, current.actor.audit_name, ctx.now()))

    @app.post("/suppliers/{code}/profile", include_in_schema=False)
    async def new_profile_version(request: Request, code: str) -> Response:
        # Eleven limits: read from the form as a mapping, then handled off the event loop.
        form = await request.form()
        values = {key: str(form.get(key, ""))[:64] for key in PROFILE_FIELDS}
        csrf, version = str(form.get("csrf", "")), str(form.get("version", ""))
        return await run_in_threadpool(_profile, ctx, request, code, csrf, values, version)


def _profile(ctx: WebContext, request: Request, code: str, csrf: str,
             values: dict[str, str], version: str) -> Response:
    current = _admin(ctx, request, csrf)
    if isinstance(current, Response):
        return current
    actor = current.actor.audit_name
    return _apply(ctx, request, current, code, "profile", lambda session: add_profile_version(
        session, code, values, version, actor, ctx.now()))


def _apply(ctx: WebContext, request: Request, current: SignedIn, code: str, done: str,
           change: Callable[[Session], object]) -> Response:
    try:
        with ctx.transaction() as session:
            change(session)
    except LookupError:
        return admin_problem(ctx, request, current, 404, "no_supplier")
    except StaleVersion:
        return admin_problem(ctx, request, current, 412, "stale")
    except InvalidEdit as exc:
        return admin_problem(ctx, request, current, 422, "invalid_edit", str(exc))
    return _back(code, done)
