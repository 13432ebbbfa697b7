"""The supplier pages: `/suppliers` (every supplier with its open exceptions) and
`/suppliers/{code}` (the partner entry, its tolerance profile versions and its scorecard for
a period in the URL, `?from=YYYY-MM-DD&to=YYYY-MM-DD`, by default the last 90 days, with a
chart per month drawn as SVG on the server)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from babel.numbers import format_percent
from fastapi import FastAPI, Request
from fastapi.responses import Response
from markupsafe import Markup

from gateway.domain.access import Role
from gateway.domain.scorecard import MonthScore, Ratio, by_month, score
from gateway.domain.tolerances import DEFAULT_PROFILE
from gateway.services.accounts import SignedIn
from gateway.services.partners import ACK_POLICIES, LANGUAGES, MAIL_AUTH_POLICIES, PROFILE_FIELDS
from gateway.services.scorecard import (
    SupplierEntry,
    line_facts,
    list_suppliers,
    supplier_entry,
)
from gateway.services.supplier_admin import entry_tag, profile_name_of, profile_tag
from gateway.web.charts import Bar, percent_bars
from gateway.web.context import WebContext
from gateway.web.i18n import Formats
from gateway.web.pages import _locale, _problem_page, _signed_in, _to_login

DEFAULT_PERIOD_DAYS = 90
LONGEST_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    def as_query(self) -> str:
        return urlencode({"from": self.start.isoformat(), "to": self.end.isoformat()})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def choose_period(start: str | None, end: str | None, today: date) -> Period | None:
    """The period asked for, else the last 90 days up to today; None when it makes no sense
    (unreadable dates, ends before it starts, longer than three years)."""
    last = _day(end) if end else today
    try:
        first = _day(start) if start else (last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
                                           if last else None)
    except OverflowError:  # a `to` in the first days of year 1
        return None
    if first is None or last is None or last < first:
        return None
    if (last - first).days > LONGEST_PERIOD_DAYS:
        return None
    return Period(first, last)


def percent(fmt: Formats) -> Callable[[Ratio | float | None], str]:
    def shown(value: Ratio | float | None) -> str:
        share = value.value if isinstance(value, Ratio) else value
        return "" if share is None else format_percent(share, locale=fmt.locale)
    return shown


METRICS: dict[str, Callable[[MonthScore], Ratio]] = {
    "otif": lambda month: month.card.otif,
    "on_time_requested": lambda month: month.card.on_time_vs_requested,
    "on_time_confirmed": lambda month: month.card.on_time_vs_confirmed,
    "fill_rate": lambda month: month.card.fill_rate,
    "confirmation_rate": lambda month: month.card.confirmation_rate,
}


def month_charts(months: list[MonthScore], fmt: Formats) -> Callable[[str, str], Markup]:
    """What the template calls to draw one metric per month under a translated title."""
    shown = percent(fmt)

    def chart(title: str, metric: str) -> Markup:
        read = METRICS[metric]
        return percent_bars(title, [
            Bar(format_skeleton("yMMM", month.month, locale=fmt.locale),
                read(month).value, shown(read(month)))
            for month in months])
    return chart


def editing(entry: SupplierEntry, current: SignedIn, done: str | None) -> dict[str, Any]:
    """What the page's edit forms need (admins only; others read): the versions the forms
    carry back, and the values the profile form starts from (the newest version's)."""
    if current.user.role is not Role.ADMIN:
        return {"can_edit": False, "done": None}
    newest = entry.profiles[0] if entry.profiles else None
    name = profile_name_of(entry.supplier)
    limits = {field: getattr(newest or DEFAULT_PROFILE, field) for field in PROFILE_FIELDS}
    return {"can_edit": True, "done": done if done in ("entry", "profile") else None,
            "entry_version": entry_tag(entry.supplier),
            "profile_version": profile_tag(name, newest.version if newest else None),
            "limits": limits, "choices": {"language": LANGUAGES,
                                          "mail_auth": MAIL_AUTH_POLICIES,
                                          "acks": ACK_POLICIES}}


def register_supplier_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/suppliers", include_in_schema=False)
    def suppliers(request: Request) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            return ctx.render(request, _locale(request, current.user), "suppliers.html",
                              me=current, suppliers=list_suppliers(session))

    @app.get("/suppliers/{code}", include_in_schema=False)
    def supplier(request: Request, code: str) -> Response:
        params = request.query_params
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            locale = _locale(request, current.user)
            entry = supplier_entry(session, code)
            if entry is None:
                return _problem_page(ctx, request, current, 404, "not_found")
            today = ctx.now().date()
            period = choose_period(params.get("from"), params.get("to"), today)
            if period is None:
                return _problem_page(ctx, request, current, 400, "period")
            facts = line_facts(session, code, period.start, period.end)
            fmt = Formats(locale)
            months = by_month(facts, today)
            return ctx.render(request, locale, "supplier.html", me=current, entry=entry,
                              period=period, card=score(facts, today), months=months,
                              chart=month_charts(months, fmt), percent=percent(fmt),
                              **editing(entry, current, params.get("done")))
