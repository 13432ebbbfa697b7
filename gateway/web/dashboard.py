"""The dashboard, `/dashboard` (where `/` leads after sign-in): what needs attention now, for
buyers (open exceptions, orders at risk this week) and for IT (messages per channel, the
connectors, quarantine, failures, the outbox). Read in a fixed number of queries."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.services.dashboard import SEVERITIES, load_dashboard
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _signed_in, _to_login


def register_dashboard(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/dashboard", include_in_schema=False)
    def dashboard(request: Request) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            board = load_dashboard(session, ctx.now())
            locale = _locale(request, current.user)

            def short_day(day: date) -> str:
                return format_skeleton("MMMd", day, locale=locale)
            return ctx.render(request, locale, "dashboard.html", me=current, board=board,
                              severities=SEVERITIES, short_day=short_day)
