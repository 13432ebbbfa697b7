"""What a buyer (or an integration) does to an exception from the web app or the API:
acknowledge, assign, comment, resolve, reopen, accept the supplier's change (the order
line takes the supplier's value, `gateway.domain.acceptance`) or reject it (a reply to the
supplier through the outbox, `gateway.services.rejections`). Each lands in the exception's
audit trail (`exception_events`) with who and when, through `services.queue.act_on_exception`
for the moves.

The row is locked first (PostgreSQL), then checked: may this actor act on it (its owner or the
owner's group, `gateway.domain.access`), and is it still the version the actor saw (`expected`
is the ETag the page or the API client had; another change meanwhile answers 412, and so does
an action that names no version).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.access import Actor, Role, may_act_on_exception
from gateway.domain.discrepancies import ExceptionState
from gateway.errors import AccessError, Forbidden, StaleVersion
from gateway.persistence.accounts import UserRow
from gateway.persistence.models import (
    ExceptionEventRow,
    ExceptionRow,
)
from gateway.services.acceptances import accept_change
from gateway.services.queue import act_on_exception
from gateway.services.rejections import reject_change
from gateway.web.queue_view import MAX_ROW_ID, exception_version, owner_group


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    COMMENT = "comment"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    ACCEPT = "accept"
    REJECT = "reject"


MOVES = {Action.ACKNOWLEDGE: ExceptionState.ACKNOWLEDGED, Action.RESOLVE: ExceptionState.RESOLVED,
         Action.REOPEN: ExceptionState.OPEN}


@dataclass(frozen=True, slots=True)
class ActionRequest:
    action: Action
    comment: str | None = None
    assignee: str | None = None
    expected: str | None = None


def may_act(session: Session, actor: Actor, row: ExceptionRow) -> bool:
    return may_act_on_exception(actor, row.owner, owner_group(session, row.owner))


def perform(session: Session, actor: Actor, exception_id: int, request: ActionRequest,
            now: datetime) -> ExceptionRow:
    # An id past the database's INTEGER names no row (and would fail the statement).
    row = (session.get(ExceptionRow, exception_id, with_for_update=True)
           if 0 < exception_id <= MAX_ROW_ID else None)
    if row is None:
        raise LookupError(f"no exception #{exception_id}")
    if not may_act(session, actor, row):
        raise Forbidden("you may read this exception but not act on it: it belongs to "
                        "another buyer's group")
    # No version is no proof of what the actor saw (a form without it, a pick without it):
    # refused as a stale one would be. The API asks for If-Match before this (428).
    if not request.expected or request.expected.strip() != exception_version(row):
        raise StaleVersion("the exception changed since you loaded it; reload and try again")
    comment = (request.comment or "").strip()[:2000] or None
    if request.action is Action.ASSIGN:
        return _assign(session, actor, row, request.assignee, comment, now)
    if request.action is Action.ACCEPT:
        return accept_change(session, exception_id, actor.audit_name, comment, now)
    if request.action is Action.REJECT:
        # The reply is built and handed to the outbox first: a change that cannot be
        # rejected (no order, not a quantity, date or price) moves nothing.
        if comment is None:
            raise AccessError("a rejection needs a reason (the comment)")
        return reject_change(session, exception_id, actor.audit_name, comment, now)[0]
    if request.action is Action.COMMENT and comment is None:
        raise AccessError("a comment needs text")
    return act_on_exception(session, exception_id, MOVES.get(request.action),
                            actor.audit_name, comment, now)


def _assign(session: Session, actor: Actor, row: ExceptionRow, assignee: str | None,
            comment: str | None, now: datetime) -> ExceptionRow:
    email = (assignee or "").strip()
    user = session.scalars(select(UserRow).where(
        func.lower(UserRow.email) == email.lower(), UserRow.disabled.is_(False))).first()
    if user is None or user.role != Role.BUYER.value:
        raise AccessError(f"{email or 'nobody'} is not an active buyer")
    if actor.role is Role.BUYER and not _may_hand_to(actor, user):
        raise Forbidden("a buyer assigns within their own group")
    before = row.owner
    row.owner = user.email
    row.updated_at = now
    detail = f"owner {before or '-'} → {user.email}" + (f": {comment}" if comment else "")
    session.add(ExceptionEventRow(exception_id=row.id, at=now, actor=actor.audit_name,
                                  action="assign", from_state=row.state, to_state=row.state,
                                  detail=detail))
    session.flush()
    return row


def _may_hand_to(actor: Actor, user: UserRow) -> bool:
    """A buyer hands an exception to themselves or to a buyer of their group; a buyer in no
    group shares with nobody (as `access.may_act_on_exception` reads a group)."""
    if user.email.lower() == (actor.email or "").lower():
        return True
    return actor.group is not None and user.group_name == actor.group
