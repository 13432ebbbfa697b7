"""The daily digest: every change kept for a recipient since their last digest, one entry per
exception however often it changed (a flapping exception is told once), grouped by supplier,
the worst first; one mail per address (and one webhook) per recipient, written to the outbox
in the digest's transaction.

An entry whose exception the gateway has since closed is dropped unless the change is the
resolution itself (asked for with `alert_on_resolved`): the buyer has nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parseaddr
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from gateway.domain.alerts import Change, Delivery, DigestItem, digest_groups
from gateway.domain.discrepancies import ExceptionState, is_open
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.models import ExceptionAlertRow
from gateway.services.alert_routing import NotifyConfig, Recipient
from gateway.services.alerts import message_id, notify_config, standing, webhook_draft
from gateway.services.outbox import enqueue

ALERTS = cast(Table, ExceptionAlertRow.__table__)


@dataclass(frozen=True, slots=True)
class DigestReport:
    recipient: str
    exceptions: int
    outbox_ids: tuple[int, ...]


def send_digests(session: Session, now: datetime,
                 only: tuple[str, ...] | None = None) -> list[DigestReport]:
    """Write the digest of every recipient with changes waiting (or of those in `only`);
    returns one report each."""
    pending: dict[str, list[tuple[int, int, Change]]] = {}
    query = (select(ALERTS.c.id, ALERTS.c.exception_id, ALERTS.c.recipient, ALERTS.c.change)
             .where(ALERTS.c.delivery == Delivery.DIGEST.value, ALERTS.c.digested_at.is_(None))
             .order_by(ALERTS.c.id))
    if only is not None:
        query = query.where(ALERTS.c.recipient.in_(only))
    for alert_id, exception_id, recipient, change in session.execute(query):
        pending.setdefault(recipient, []).append((alert_id, exception_id, Change(change)))
    config = notify_config(session)
    reports = []
    for recipient, entries in pending.items():
        reports.append(_digest(session, config, recipient, entries, now))
    return reports


def _digest(session: Session, config: NotifyConfig, name: str,
            entries: list[tuple[int, int, Change]], now: datetime) -> DigestReport:
    rows = standing(session, [exception_id for _id, exception_id, _change in entries])
    items = [replace(rows[exception_id].item, change=change)
             for _id, exception_id, change in entries if exception_id in rows]
    groups = digest_groups(items)
    groups = [(code, kept) for code, group in groups
              if (kept := [i for i in group if _still_news(i)])]
    target = config.recipient(name)
    drafts = _drafts(config, target, groups, now) if groups and target is not None else []
    ids = tuple(enqueue(session, draft, now) for draft in drafts)
    session.execute(update(ALERTS).where(ALERTS.c.id == bindparam("_id"))
                    .values(digest_id=bindparam("digest"), digested_at=bindparam("at")),
                    [{"_id": alert_id, "digest": ids[0] if ids else None, "at": now}
                     for alert_id, _e, _c in entries])
    return DigestReport(name, sum(len(group) for _code, group in groups), ids)


def _still_news(item: DigestItem) -> bool:
    return item.change is Change.RESOLVED or is_open(ExceptionState(item.state))


def _drafts(config: NotifyConfig, target: Recipient,
            groups: list[tuple[str, list[DigestItem]]], now: datetime) -> list[OutboundDraft]:
    from outbound.alert_mail import digest_message

    count = sum(len(group) for _code, group in groups)
    reason = f"digest: {count} exception(s) for {target.name}"
    drafts = []
    if target.digest:
        for address in target.emails:
            wire_id = message_id(config.sender)
            drafts.append(OutboundDraft(
                OutboundKind.DIGEST, Transport.SMTP, address,
                digest_message(config.sender, (address,), groups, target.language, wire_id,
                               now),
                wire_id, reason, sender=parseaddr(config.sender)[1]))
    if target.webhook is not None:
        drafts.append(webhook_draft(target, "digest",
                                    [item for _code, group in groups for item in group],
                                    now, reason))
    return drafts
