"""`/api/v1/suppliers/{code}/profiles` (the versions of a supplier's tolerance profile; a new
version with scope `suppliers:write`) and `/api/v1/suppliers/{code}/scorecard` (what the
supplier page shows for a period, scope `suppliers:read`).

A new profile version is asked with `If-Match` carrying the profile's current ETag (`"NAME.N"`,
N its newest version, 0 before any): missing answers 428, stale 412. Fields left out keep
the newest version's value; the same values as the newest make no version (200, not 201).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.access import Actor, Scope
from gateway.domain.scorecard import MonthScore, Ratio, Scorecard, by_month, score
from gateway.errors import StaleVersion
from gateway.persistence.models import ToleranceProfileRow
from gateway.services.scorecard import line_facts
from gateway.services.supplier_admin import (
    MAX_DAYS,
    MAX_HOURS,
    MAX_PERCENT,
    MAX_QUANTITY,
    InvalidEdit,
    add_profile_version,
    profile_name_of,
    profile_tag,
    profile_versions,
    supplier_by_code,
)
from gateway.web.api import NO_NUL, PREFIX, PROBLEM_RESPONSES, ApiProblem, scoped
from gateway.web.api_resources import _LIMITS, ProfileVersionOut, _limit_text
from gateway.web.context import WebContext
from gateway.web.queue_view import utc
from gateway.web.supplier_pages import choose_period

SuppliersReader = Annotated[Actor, Depends(scoped(Scope.SUPPLIERS_READ))]
SuppliersWriter = Annotated[Actor, Depends(scoped(Scope.SUPPLIERS_WRITE))]

Percent = Annotated[Decimal | None, Field(default=None, ge=0, le=MAX_PERCENT, decimal_places=6)]
Quantity = Annotated[Decimal | None, Field(default=None, ge=0, le=MAX_QUANTITY,
                                           decimal_places=6)]
Days = Annotated[int | None, Field(default=None, ge=0, le=MAX_DAYS)]
Hours = Annotated[int | None, Field(default=None, ge=0, le=MAX_HOURS)]


class ProfileIn(BaseModel):
    """The limits to change; each left out keeps the newest version's value."""

    model_config = ConfigDict(extra="forbid")
    qty_under_pct: Percent = None
    qty_under_abs: Quantity = None
    qty_over_pct: Percent = None
    qty_over_abs: Quantity = None
    date_early_warning_days: Days = None
    date_early_error_days: Days = None
    date_late_warning_days: Days = None
    date_late_error_days: Days = None
    price_pct: Percent = None
    confirmation_due_hours: Hours = None
    despatch_lead_days: Days = None


class ProfileVersionsOut(BaseModel):
    supplier: str
    profile: str = Field(description="the profile's name (`default` when the entry names none)")
    versions: list[ProfileVersionOut] = Field(description="oldest first")


class ProfileChangeOut(ProfileVersionOut):
    created: bool = Field(description="false: the values were the newest version's already")


class RatioOut(BaseModel):
    part: str
    whole: str
    value: float | None = Field(description="part ÷ whole; null when there is nothing to count")


class ScorecardOut(BaseModel):
    lines: int
    confirmation_rate: RatioOut
    median_hours_to_confirm: float | None
    on_time_vs_confirmed: RatioOut = Field(description="against the first confirmed date")
    on_time_vs_requested: RatioOut
    fill_rate: RatioOut
    otif: RatioOut
    asn_accuracy: RatioOut
    exceptions: int
    exceptions_per_100_lines: float | None


class MonthOut(ScorecardOut):
    month: str = Field(description="YYYY-MM of the requested dates")


class SupplierScorecardOut(BaseModel):
    supplier: str
    start: str = Field(description="the period's first day (`from`)")
    end: str = Field(description="the period's last day (`to`)")
    card: ScorecardOut
    months: list[MonthOut]


def version_json(row: ToleranceProfileRow) -> dict[str, Any]:
    return {"name": row.name, "version": row.version,
            "created_at": utc(row.created_at).isoformat(),
            "limits": {name: _limit_text(getattr(row, name)) for name in _LIMITS}}


def ratio_json(ratio: Ratio) -> dict[str, Any]:
    return {"part": format(ratio.part, "f"), "whole": format(ratio.whole, "f"),
            "value": ratio.value}


def card_json(card: Scorecard) -> dict[str, Any]:
    ratios = ("confirmation_rate", "on_time_vs_confirmed", "on_time_vs_requested",
              "fill_rate", "otif", "asn_accuracy")
    return {"lines": card.lines, "median_hours_to_confirm": card.median_hours_to_confirm,
            "exceptions": card.exceptions,
            "exceptions_per_100_lines": card.exceptions_per_100_lines,
            **{name: ratio_json(getattr(card, name)) for name in ratios}}


def month_json(month: MonthScore) -> dict[str, Any]:
    return {"month": month.month.strftime("%Y-%m"), **card_json(month.card)}


def _etag(name: str, versions: list[ToleranceProfileRow]) -> str:
    return f'"{profile_tag(name, versions[-1].version if versions else None)}"'


def suppliers_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES, dependencies=NO_NUL,
                       tags=["suppliers"])

    @router.get("/suppliers/{code}/profiles", response_model=ProfileVersionsOut,
                summary="Every version of the supplier's tolerance profile (ETag: the newest)")
    def get_profiles(code: str, who: SuppliersReader) -> JSONResponse:
        with ctx.transaction() as session:
            try:
                name = profile_name_of(supplier_by_code(session, code))
            except LookupError as exc:
                raise ApiProblem(404, "Not found", f"no supplier {code!r}") from exc
            versions = profile_versions(session, name)
            body = {"supplier": code, "profile": name,
                    "versions": [version_json(row) for row in versions]}
            return JSONResponse(body, headers={"ETag": _etag(name, versions)})

    @router.post("/suppliers/{code}/profiles", response_model=ProfileChangeOut,
                 status_code=201, responses={200: {"model": ProfileChangeOut,
                                                   "description": "no value changed"}},
                 summary="A new version of the supplier's tolerance profile (If-Match)")
    def post_profile(code: str, body: ProfileIn, who: SuppliersWriter,
                     if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
        if not if_match:
            raise ApiProblem(428, "Precondition required",
                             "send the profile's ETag (GET …/profiles) in If-Match")
        expected = if_match.strip().removeprefix("W/").strip('"')
        changes = {key: str(value) for key, value in body.model_dump().items()
                   if value is not None}
        try:
            with ctx.transaction() as session:
                change = add_profile_version(session, code, changes, expected,
                                             who.audit_name, ctx.now())
                versions = profile_versions(session, change.name)
                result = {**version_json(versions[-1]), "created": change.created}
                etag = _etag(change.name, versions)
        except LookupError as exc:
            raise ApiProblem(404, "Not found", f"no supplier {code!r}") from exc
        except StaleVersion as exc:
            raise ApiProblem(412, "Precondition failed", str(exc)) from exc
        except InvalidEdit as exc:
            raise ApiProblem(422, "Unprocessable content", str(exc)) from exc
        return JSONResponse(result, status_code=201 if change.created else 200,
                            headers={"ETag": etag})

    @router.get("/suppliers/{code}/scorecard", response_model=SupplierScorecardOut,
                summary="The supplier's scorecard over a period, and per month")
    def get_scorecard(
            code: str, who: SuppliersReader,
            start: Annotated[date | None, Query(alias="from", description=(
                "first requested date counted (default: 89 days before `to`)"))] = None,
            end: Annotated[date | None, Query(alias="to", description=(
                "last requested date counted (default: today); at most three years"))] = None,
    ) -> JSONResponse:
        today = ctx.now().date()
        period = choose_period(start.isoformat() if start else None,
                               end.isoformat() if end else None, today)
        if period is None:
            raise ApiProblem(422, "Unprocessable content",
                             "`from` must not be after `to`, and a period is at most three "
                             "years")
        with ctx.transaction() as session:
            try:
                supplier_by_code(session, code)
            except LookupError as exc:
                raise ApiProblem(404, "Not found", f"no supplier {code!r}") from exc
            facts = line_facts(session, code, period.start, period.end)
        return JSONResponse({"supplier": code, "start": period.start.isoformat(),
                             "end": period.end.isoformat(), "card": card_json(score(facts, today)),
                             "months": [month_json(m) for m in by_month(facts, today)]})

    return router
