"""Alerts to buyers, written to the outbox in the transaction of the decision that caused them.

`tell` is called by the exception ledger (`exception_store.ExceptionLedger.flush`) and by the
overdue check with what happened to each exception (`raised`, `seen_again`, `reopened`,
`resolved`, `escalated`). For each change that matters (`gateway.domain.alerts`) it finds the
owner (the order's buyer, else the supplier's buyer contact, else the default group:
`alert_routing`), and either writes the alert mail and webhook to the outbox at once, or
keeps the change for the owner's daily digest (`gateway.services.digest`). What each
recipient heard is kept in `alert_marks`; every decision in `exception_alerts`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gateway.domain.alerts import (
    Change,
    Delivery,
    DigestItem,
    Heard,
    change_that_matters,
    delivery,
    owner_of,
)
from gateway.domain.discrepancies import ExceptionState, is_open
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.domain.tolerances import Severity
from gateway.persistence.bulk import insert_rows, replace_rows
from gateway.persistence.models import (
    AlertMarkRow,
    ExceptionAlertRow,
    ExceptionRow,
    NotifySettingsRow,
    Supplier,
)
from gateway.persistence.queries import chunked, found_by_key, one_of
from gateway.services.alert_routing import NotifyConfig, Recipient, notify_from_mapping
from gateway.services.outbox import enqueue_many

if TYPE_CHECKING:
    from outbound.alert_mail import MailSender

log = logging.getLogger(__name__)
MARKS = cast(Table, AlertMarkRow.__table__)
ALERTS = cast(Table, ExceptionAlertRow.__table__)
EXCEPTIONS = cast(Table, ExceptionRow.__table__)
_ACTIONS = frozenset({"raised", "seen_again", "reopened", "resolved", "escalated"})


def notify_config(session: Session) -> NotifyConfig:
    row = session.get(NotifySettingsRow, 1)
    return notify_from_mapping(row.config) if row is not None else NotifyConfig()


def store_notify(session: Session, data: Mapping[str, Any], now: datetime) -> NotifyConfig:
    """Check and keep the `[notify]` section (`gateway partners load`); replaces the last."""
    config = notify_from_mapping(data)
    row = session.get(NotifySettingsRow, 1)
    if row is None:
        session.add(NotifySettingsRow(id=1, config=dict(data), loaded_at=now))
    else:
        row.config, row.loaded_at = dict(data), now
    session.flush()
    return config


@dataclass(frozen=True, slots=True)
class Standing:
    """An exception as an alert shows it, with its owner's routing facts."""

    item: DigestItem
    owner: str | None
    buyer_contact: str | None


def standing(session: Session, ids: Sequence[int], changes: Mapping[int, Change] | None = None
             ) -> dict[int, Standing]:
    """The exceptions as they stand now, with their supplier's name and buyer contact."""
    found: dict[int, Standing] = {}
    columns = (EXCEPTIONS.c.id, EXCEPTIONS.c.code, EXCEPTIONS.c.severity, EXCEPTIONS.c.risk,
               EXCEPTIONS.c.state, EXCEPTIONS.c.supplier_code, EXCEPTIONS.c.order_number,
               EXCEPTIONS.c.line_no, EXCEPTIONS.c.expected, EXCEPTIONS.c.actual,
               EXCEPTIONS.c.owner, Supplier.name, Supplier.buyer_contact)
    for batch in chunked(sorted(set(ids))):
        for (row_id, code, severity, risk, state, supplier, order, line, expected, actual,
             owner, name, contact) in session.execute(
                select(*columns).outerjoin(Supplier, Supplier.code == EXCEPTIONS.c.supplier_code)
                .where(one_of(EXCEPTIONS.c.id, batch, session.get_bind().dialect))):
            change = (changes or {}).get(row_id, Change.OPENED)
            item = DigestItem(row_id, supplier or "", name or supplier or "", code,
                              Severity(severity), float(risk), state, change, order, line,
                              expected, actual)
            found[row_id] = Standing(item, owner, contact)
    return found


def tell(session: Session, changes: Sequence[tuple[int, str]], now: datetime) -> int:
    """Decide and write the alerts for what just happened to these exceptions, in order
    (`(exception id, ledger action)`); returns how many alerts were decided."""
    changes = [(row_id, action) for row_id, action in changes if action in _ACTIONS]
    if not changes:
        return 0
    config = notify_config(session)
    rows = standing(session, [row_id for row_id, _action in changes])
    desk = _Desk(session, config, now, _heard(session, list(rows)))
    for row_id, action in changes:
        if row_id in rows:
            desk.decide(rows[row_id], action)
    return desk.write()


class _Desk:
    """The alerts of one call: decided one change after another against what each recipient
    heard, then written with a handful of statements."""

    def __init__(self, session: Session, config: NotifyConfig, now: datetime,
                 heard: dict[tuple[int, str], Heard]) -> None:
        self.session, self.config, self.now, self.heard = session, config, now, heard
        self.touched: set[tuple[int, str]] = set()
        self.decided: list[tuple[Standing, Recipient, Change, Delivery]] = []

    def decide(self, row: Standing, action: str) -> None:
        person = self.config.recipient(owner_of(row.owner, row.buyer_contact,
                                                self.config.default_group))
        target = self.config.group_of(person) if action == "escalated" and person else person
        if target is None:
            if action in ("raised", "reopened", "escalated"):
                log.warning("exception #%d %s: no one to tell (no owner, buyer contact or "
                            "default group; for an escalation, no group)",
                            row.item.exception_id, action)
            return
        key = (row.item.exception_id, target.name)
        before = self.heard.get(key)
        change = change_that_matters(action, row.item.severity, before, self.config.rules)
        if change is None:
            if action == "resolved" and before is not None:
                # Told or not, the recipient's picture is now "resolved": a later reopening
                # is news again.
                self.heard[key] = Heard(Change.RESOLVED, before.severity, self.now,
                                        before.at_once_at, before.escalated)
                self.touched.add(key)
            return
        way = delivery(change, row.item.severity, row.item.risk, before, self.config.rules,
                       self.now)
        self.heard[key] = Heard(
            change, row.item.severity if change is not Change.RESOLVED or before is None
            else before.severity, self.now,
            self.now if way is Delivery.AT_ONCE else before.at_once_at if before else None,
            change is Change.ESCALATED or (before is not None and before.escalated))
        self.touched.add(key)
        self.decided.append((row, target, change, way))

    def write(self) -> int:
        decisions, drafts = [], []
        sender = _mail_sender(self.config) if self.decided else None
        for row, target, change, way in self.decided:
            item = _with_change(row.item, change)
            if change is not Change.RESOLVED and not is_open(ExceptionState(item.state)):
                way = Delivery.DIGEST   # closed again within this batch: no mail at once
            outbox = (at_once_drafts(self.config, target, item, self.now, sender)
                      if way is Delivery.AT_ONCE else [])
            decisions.append(({
                "exception_id": item.exception_id, "recipient": target.name,
                "change": change.value, "severity": item.severity.value, "state": item.state,
                "delivery": way.value, "decided_at": self.now}, len(outbox)))
            drafts += outbox
        ids = iter(enqueue_many(self.session, drafts, self.now))
        if decisions:
            insert_rows(self.session.connection(), ALERTS, [
                {**values, "outbox_ids": [next(ids) for _draft in range(count)]}
                for values, count in decisions])
        self._marks()
        return len(self.decided)

    def _marks(self) -> None:
        keys = sorted(self.touched)
        if not keys:
            return
        replace_rows(self.session.connection(), MARKS, [
            {"exception_id": e, "recipient": r, "change": h.change.value,
             "severity": h.severity.value, "heard_at": h.at, "at_once_at": h.at_once_at,
             "escalated": h.escalated} for (e, r) in keys for h in [self.heard[(e, r)]]],
            ("exception_id", "recipient"))


def _heard(session: Session, ids: list[int]) -> dict[tuple[int, str], Heard]:
    heard: dict[tuple[int, str], Heard] = {}
    for batch in chunked(sorted(ids)):
        marks = found_by_key(select(MARKS), MARKS.c.exception_id, batch,
                             session.get_bind().dialect)
        for row in session.execute(select(*marks.c)):
            heard[(row.exception_id, row.recipient)] = Heard(
                Change(row.change), Severity(row.severity), aware(row.heard_at),
                aware(row.at_once_at) if row.at_once_at else None, bool(row.escalated))
    return heard


def aware(moment: datetime) -> datetime:
    """SQLite gives datetimes back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _with_change(item: DigestItem, change: Change) -> DigestItem:
    from dataclasses import replace

    return replace(item, change=change)


def _mail_sender(config: NotifyConfig) -> MailSender:
    from outbound.alert_mail import MailSender

    return MailSender.of(config.sender)


def at_once_drafts(config: NotifyConfig, target: Recipient, item: DigestItem,
                   now: datetime, sender: MailSender | None = None) -> list[OutboundDraft]:
    """The mail to each of the recipient's addresses and their webhook, for one change.
    `sender`: `config.sender` parsed, when the caller writes many alerts."""
    from outbound.alert_mail import alert_message

    sender = sender or _mail_sender(config)
    domain = sender.address.rpartition("@")[2]
    reason = f"alert: {item.code} #{item.exception_id} {item.change.value} for {target.name}"
    drafts = []
    for address in target.emails:
        wire_id = message_id_in(domain)
        drafts.append(OutboundDraft(
            OutboundKind.ALERT, Transport.SMTP, address,
            alert_message(sender, (address,), item, target.language, wire_id, now),
            wire_id, reason, sender=sender.address,
            supplier_code=item.supplier_code or None, exception_id=item.exception_id))
    if target.webhook is not None:
        drafts.append(webhook_draft(target, "alert", [item], now, reason,
                                    item.supplier_code or None, item.exception_id))
    return drafts


def webhook_draft(target: Recipient, event: str, items: list[DigestItem], now: datetime,
                  reason: str, supplier_code: str | None = None,
                  exception_id: int | None = None) -> OutboundDraft:
    """A webhook for the recipient's configured style. A `json` webhook is signed by the
    sender at each attempt (`outbound.webhook.signing.sign_attempt`) with the secret in the
    variable the configuration names (stored as `X-Gateway-Sign-With`, never sent)."""
    from outbound.webhook.bodies import json_body, slack_body, teams_body
    from outbound.webhook.signing import DELIVERY_HEADER, EVENT_HEADER, SIGN_WITH_HEADER

    hook = target.webhook
    assert hook is not None
    wire_id = str(uuid.uuid4())
    title = (f"{len(items)} supplier exception(s) for {target.name}" if event == "digest"
             else f"{items[0].severity.value.upper()} {items[0].code} "
                  f"{items[0].change.value}: {items[0].supplier_name}")
    body = (json_body(event, wire_id, target.name, now, items) if hook.style == "json"
            else slack_body(title, items) if hook.style == "slack" else teams_body(title, items))
    headers: tuple[tuple[str, str], ...] = ((DELIVERY_HEADER, wire_id), (EVENT_HEADER, event))
    if hook.style == "json" and hook.secret_env:
        headers += ((SIGN_WITH_HEADER, hook.secret_env),)
    return OutboundDraft(
        OutboundKind.DIGEST if event == "digest" else OutboundKind.ALERT, Transport.WEBHOOK,
        hook.url, body, wire_id, reason, content_type="application/json", headers=headers,
        supplier_code=supplier_code, exception_id=exception_id)


def message_id(sender: str) -> str:
    """A Message-ID (without brackets) in the sender's domain, fixed with the draft."""
    return message_id_in(parseaddr(sender)[1].rpartition("@")[2])


def message_id_in(domain: str) -> str:
    """A Message-ID (without brackets) in `domain` (the sender's), or a reserved one."""
    return f"{uuid.uuid4().hex}.alert@{domain or 'gateway.invalid'}"
