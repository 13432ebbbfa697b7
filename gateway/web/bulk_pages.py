"""Bulk actions on the exception queue: several rows ticked on the queue page (checkboxes in
a plain form, no JavaScript), then acknowledged, assigned or resolved at once.

Each ticked row carries the version the buyer saw (`id:version`); each is acted on in its own
transaction through `gateway.web.actions.perform`, so each is checked for permission and
version and lands in its own audit trail, and one that fails does not stop the others. The
answer is a page listing what was done and what failed and why (not a redirect: sending the
form again repeats nothing, as every row's version has moved on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import Response

from gateway.domain.access import Actor
from gateway.errors import AccessError, Forbidden, InvalidTransition, StaleVersion
from gateway.web.actions import Action, ActionRequest, perform
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _problem_page, posted_by
from gateway.web.queue_view import MAX_ROW_ID

# What may be done to many exceptions at once: nothing that decides a supplier's change.
BULK_ACTIONS = (Action.ACKNOWLEDGE, Action.ASSIGN, Action.RESOLVE)
MAX_PICKS = 200


@dataclass(frozen=True, slots=True)
class Pick:
    """One ticked row: the exception and the version the buyer saw."""

    exception_id: int
    version: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one pick: `failure` None when done, else why (`forbidden`, `stale`,
    `transition`, `not_found`, `refused`) and the gateway's words for it."""

    exception_id: int
    failure: str | None = None
    detail: str | None = None


def parse_picks(values: list[str]) -> list[Pick]:
    """`id:version` values of the ticked boxes, duplicates and garbage (an id in other than
    ASCII digits, or past the database's INTEGER) dropped, bounded."""
    picks: dict[int, Pick] = {}
    for value in values[:MAX_PICKS]:
        number, _sep, version = value.partition(":")
        if (number.isascii() and number.isdigit() and 0 < int(number) <= MAX_ROW_ID
                and int(number) not in picks):
            picks[int(number)] = Pick(int(number), version.strip() or None)
    return list(picks.values())


def act_on_each(ctx: WebContext, actor: Actor, picks: list[Pick], action: Action,
                assignee: str, comment: str) -> list[Outcome]:
    outcomes = []
    for pick in picks:
        request = ActionRequest(action, comment, assignee, pick.version)
        try:
            with ctx.transaction() as session:
                perform(session, actor, pick.exception_id, request, ctx.now())
        except LookupError:
            outcomes.append(Outcome(pick.exception_id, "not_found"))
        except Forbidden as exc:
            outcomes.append(Outcome(pick.exception_id, "forbidden", str(exc)))
        except StaleVersion as exc:
            outcomes.append(Outcome(pick.exception_id, "stale", str(exc)))
        except InvalidTransition as exc:
            outcomes.append(Outcome(pick.exception_id, "transition", str(exc)))
        except AccessError as exc:
            outcomes.append(Outcome(pick.exception_id, "refused", str(exc)))
        else:
            outcomes.append(Outcome(pick.exception_id))
    return outcomes


def register_bulk_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.post("/exceptions/bulk", include_in_schema=False)
    def bulk(request: Request, pick: Annotated[list[str] | None, Form()] = None,
             action: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
             assignee: Annotated[str, Form()] = "",
             comment: Annotated[str, Form()] = "") -> Response:
        current = posted_by(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        if action not in {a.value for a in BULK_ACTIONS}:
            return _problem_page(ctx, request, current, 400, "action")
        picks = parse_picks(pick or [])
        outcomes = act_on_each(ctx, current.actor, picks, Action(action), assignee, comment)
        failed = [o for o in outcomes if o.failure is not None]
        return ctx.render(request, _locale(request, current.user), "bulk.html", me=current,
                          action=action, outcomes=outcomes, failed=failed,
                          done=[o for o in outcomes if o.failure is None],
                          status=200 if picks else 400)
