"""The outbox page `/outbox` (IT and admins): what the gateway sends or sent, newest first,
filtered by `kind`, `state` and `supplier`, 50 a page by keyset, each row linking to the
exception or the message it answers; the envelope and state only, never the payload (a reply
quotes the supplier, an alert names prices). Buyers see the replies to their exceptions on
the exception page instead (`services.rejections.replies_to`). One statement per page
besides the session.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.domain.access import Role
from gateway.domain.outbound import OutboundKind, OutboundState
from gateway.web.api import ApiProblem
from gateway.web.api_resources import outbox_page
from gateway.web.context import WebContext
from gateway.web.pages import _locale, _problem_page, _signed_in, _to_login
from gateway.web.queue_view import DEFAULT_PAGE_SIZE


def _one_of(value: str | None, choices: type[OutboundKind] | type[OutboundState]
            ) -> str | None:
    return value if value in {member.value for member in choices} else None


def register_outbox_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/outbox", include_in_schema=False)
    def outbox(request: Request, kind: str | None = None, state: str | None = None,
               supplier: str | None = None, cursor: str | None = None) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            if current.user.role not in (Role.IT, Role.ADMIN):
                return _problem_page(ctx, request, current, 403, "not_it_outbox")
            chosen_kind, chosen_state = _one_of(kind, OutboundKind), _one_of(state, OutboundState)
            code = (supplier or "").strip()[:64] or None
            try:
                page = outbox_page(session, OutboundKind(chosen_kind) if chosen_kind else None,
                                   OutboundState(chosen_state) if chosen_state else None,
                                   code, cursor, DEFAULT_PAGE_SIZE)
            except ApiProblem:
                return _problem_page(ctx, request, current, 400, "cursor")
            query = {k: v for k, v in (("kind", chosen_kind), ("state", chosen_state),
                                       ("supplier", code)) if v}
            following = {**query, "cursor": page["next_cursor"] or ""}
            return ctx.render(
                request, _locale(request, current.user), "outbox.html", me=current,
                rows=page["items"], kinds=[k.value for k in OutboundKind],
                states=[s.value for s in OutboundState], chosen=query,
                next_link=f"/outbox?{urlencode(following)}" if page["next_cursor"] else None,
                first_link=f"/outbox?{urlencode(query)}" if cursor else None)
