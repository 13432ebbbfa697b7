"""The message page `/messages/{id}`: one inbound message as the archive holds it, shown safely,
and IT's actions on it.

- the raw bytes as text, never rendered: EDIFACT one segment per line; an email's headers, its
  text body (an HTML body only as the text derived from it) and its attachments listed by
  name, type and size (`gateway.web.excerpt`); every character escaped by the templates;
- the parsed documents, the problems with their location (message, segment, tag or MIME part),
  the exceptions raised, and the processing history (received, queued, attempts, state and
  why, and every action taken on it from here, from the audit log);
- IT and admins: release (a quarantined message), retry (a failed one) and re-process (replay
  any processed message: its effects are undone and it is read again), through
  `gateway.services.inbound.release` and `gateway.services.replay.replay`; each a POST with the
  session's CSRF token, audited (`audit_events`, subject `message #id`). Buyers read only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from gateway.domain.access import Actor, Role
from gateway.domain.messages import MessageState
from gateway.errors import GatewayError, InvalidTransition
from gateway.persistence.accounts import AuditEventRow
from gateway.persistence.models import InboundMessage
from gateway.services.accounts import audit
from gateway.services.inbound import message_detail, release
from gateway.services.replay import replay
from gateway.web.context import WebContext
from gateway.web.excerpt import Excerpt, message_excerpt
from gateway.web.pages import (
    _locale,
    _problem_page,
    _signed_in,
    _to_login,
    posted_by,
    stored_id,
)


class MessageAction(StrEnum):
    RELEASE = "release"      # a quarantined message, once its cause is fixed
    RETRY = "retry"          # a failed one
    REPROCESS = "reprocess"  # any processed message: undone and read again


# The state each action starts from (None: any but a duplicate or one still in the pipeline).
FROM_STATES: dict[MessageAction, tuple[str, ...] | None] = {
    MessageAction.RELEASE: (MessageState.QUARANTINED.value,),
    MessageAction.RETRY: (MessageState.FAILED.value,), MessageAction.REPROCESS: None}


def allowed(action: MessageAction, state: str) -> bool:
    """Whether `action` applies to a message in `state`."""
    wanted = FROM_STATES[action]
    return state in wanted if wanted is not None else state not in _BUSY


@dataclass(frozen=True, slots=True)
class AttachmentView:
    name: str
    content_type: str
    size: int


def may_work_messages(actor: Actor) -> bool:
    return actor.role in (Role.IT, Role.ADMIN)


def attachments_of(raw: bytes) -> list[AttachmentView]:
    """An email's attachments: the name as the sender wrote it (path parts and all: shown as
    text), the type and the size in bytes."""
    from parsers.mime.message import parse_email

    return [AttachmentView(a.filename or "", a.content_type, len(a.content))
            for a in parse_email(raw).attachments]


def whole_message(raw: bytes, filename: str | None) -> tuple[Excerpt, list[AttachmentView]]:
    excerpt = message_excerpt(raw, filename, None, None, [])
    attachments = attachments_of(raw) if excerpt.kind == "email" else []
    return excerpt, attachments


def register_message_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/messages/{message_id}", include_in_schema=False)
    def message_page(request: Request, message_id: int, done: str | None = None) -> Response:
        with ctx.transaction() as session:
            current = _signed_in(ctx, request, session)
            if current is None:
                return _to_login(request)
            try:
                if not stored_id(message_id):
                    raise LookupError(f"no message #{message_id}")
                detail = message_detail(session, message_id)
            except LookupError:
                return _problem_page(ctx, request, current, 404, "no_message")
            row = session.get(InboundMessage, message_id)
            assert row is not None
            excerpt, attachments = whole_message(bytes(row.raw), row.filename)
            history = list(session.scalars(select(AuditEventRow).where(
                AuditEventRow.subject == f"message #{message_id}").order_by(AuditEventRow.id)))
            state = detail.summary.state
            values: dict[str, Any] = {
                "detail": detail, "row": row, "excerpt": excerpt, "attachments": attachments,
                "history": history, "can_work": may_work_messages(current.actor),
                "actions": [a.value for a in MessageAction if allowed(a, state.value)],
                "done": done if done in {a.value for a in MessageAction} else None}
            return ctx.render(request, _locale(request, current.user), "message.html",
                              me=current, **values)

    @app.post("/messages/{message_id}/actions", include_in_schema=False)
    def message_action(request: Request, message_id: int, action: Annotated[str, Form()] = "",
                       csrf: Annotated[str, Form()] = "") -> Response:
        current = posted_by(ctx, request, csrf)
        if isinstance(current, Response):
            return current
        if not may_work_messages(current.actor):
            return _problem_page(ctx, request, current, 403, "not_it")
        if action not in {a.value for a in MessageAction}:
            return _problem_page(ctx, request, current, 400, "action")
        chosen = MessageAction(action)
        now = ctx.now()
        try:
            with ctx.transaction() as session:
                found = (session.get(InboundMessage, message_id) if stored_id(message_id)
                         else None)
                if found is None:
                    return _problem_page(ctx, request, current, 404, "no_message")
                before = found.state
            if not allowed(chosen, before):
                raise InvalidTransition("a message", before, chosen.value)
            if chosen is MessageAction.REPROCESS:
                report = replay(ctx.transaction, message_id, now.date(), now)
            else:
                report = release(ctx.transaction, message_id, now.date(), now)
        except InvalidTransition:
            return _problem_page(ctx, request, current, 409, "message_state")
        except GatewayError as exc:
            with ctx.transaction() as session:
                audit(session, current.actor.audit_name, f"message_{chosen.value}",
                      f"message #{message_id}", now, f"failed: {type(exc).__name__}")
            return _problem_page(ctx, request, current, 500, "message_failed")
        with ctx.transaction() as session:
            audit(session, current.actor.audit_name, f"message_{chosen.value}",
                  f"message #{message_id}", now,
                  f"{before} → {report.state.value}")
        return RedirectResponse(f"/messages/{message_id}?done={chosen.value}", status_code=303)


# A message the pipeline has not finished with, or a duplicate (its original is processed).
_BUSY = frozenset({MessageState.RECEIVED.value, MessageState.DUPLICATE.value})
