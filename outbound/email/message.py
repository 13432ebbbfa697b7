"""Replies and reminders as whole RFC 5322 messages (multipart/alternative: plain text, then
HTML, RFC 2046 section 5.1.4: the richer part last)."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from outbound.email.catalogue import CATALOGUE
from outbound.email.content import RejectionContent, ReminderContent, ReplyContent
from outbound.email.templates import Templates, inert
from outbound.email.threading import reply_subject

MAX_ORDERS_IN_SUBJECT = 3


@dataclass(frozen=True, slots=True)
class Parent:
    """What the message being answered says about itself (its header fields, as received)."""

    message_id: str | None
    subject: str | None
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Addresses:
    """Who it is from and to, its Message-ID (`<token@domain>`, ours) and its date."""

    sender: str
    sender_name: str
    recipient: str
    message_id: str
    date: datetime


def message_id(kind: str, token: str, domain: str) -> str:
    """A Message-ID of ours: `<kind.token@domain>` (RFC 5322 section 3.6.4). The token is
    random and carries nothing internal; the domain is what `loops.no_reply` recognises."""
    return f"<{kind}.{token}@{domain}>"


def build_reply(content: ReplyContent, parent: Parent, addresses: Addresses,
                templates: Templates) -> bytes:
    """The reply to `parent`, threaded under it (In-Reply-To, References, "Re:")."""
    orders = sorted({line.order for line in content.lines if line.order}
                    | {r.order for r in content.requests if r.order}
                    | {row.order for row in content.fill_in if row.order})
    own = _own_subject(content.language, "subject_reply", orders)
    subject = reply_subject(parent.subject, own)
    text, html = templates.render("reply", content.language,
                                  {"content": content, "subject": subject})
    message = _message(addresses, subject, content.language.value, text, html)
    message["Auto-Submitted"] = "auto-replied"   # RFC 3834 section 5.1
    if parent.message_id:
        message["In-Reply-To"] = parent.message_id
    if parent.references:
        message["References"] = " ".join(parent.references)
    return message.as_bytes(policy=email.policy.SMTP)


def build_reminder(content: ReminderContent, addresses: Addresses,
                   templates: Templates) -> bytes:
    """A reminder of missing confirmations: a message of its own, not a reply."""
    orders = sorted({line.order for line in content.lines})
    subject = _own_subject(content.language, "subject_reminder", orders)
    text, html = templates.render("reminder", content.language,
                                  {"content": content, "subject": subject})
    message = _message(addresses, subject, content.language.value, text, html)
    message["Auto-Submitted"] = "auto-generated"   # RFC 3834 section 5.1
    return message.as_bytes(policy=email.policy.SMTP)


def build_rejection(content: RejectionContent, parent: Parent | None, addresses: Addresses,
                    templates: Templates) -> bytes:
    """The buyer's "no" to a supplier's change of one line: threaded under the supplier's
    message when it came by email (`parent`), else a message of its own."""
    own = _own_subject(content.language, "subject_rejection", [content.order])
    subject = reply_subject(parent.subject, own) if parent is not None else own
    text, html = templates.render("rejection", content.language,
                                  {"content": content, "subject": subject})
    message = _message(addresses, subject, content.language.value, text, html)
    # Sent on a person's decision, not automatically in answer (RFC 3834 section 5.1: "no").
    if parent is not None and parent.message_id:
        message["In-Reply-To"] = parent.message_id
    if parent is not None and parent.references:
        message["References"] = " ".join(parent.references)
    return message.as_bytes(policy=email.policy.SMTP)


def _own_subject(language: object, key: str, orders: list[str]) -> str:
    phrases = CATALOGUE[language]   # type: ignore[index]
    if not orders:
        return phrases["subject_reply_none"]
    named = ", ".join(inert(o) for o in orders[:MAX_ORDERS_IN_SUBJECT])
    if len(orders) > MAX_ORDERS_IN_SUBJECT:
        named += ", …"
    return str(phrases[key].format(orders=named))


def _message(addresses: Addresses, subject: str, language: str, text: str,
             html: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = formataddr((inert(addresses.sender_name), addresses.sender))
    message["To"] = addresses.recipient
    message["Subject"] = inert(subject)
    message["Date"] = format_datetime(addresses.date)
    message["Message-ID"] = addresses.message_id
    # Microsoft Exchange sends no out-of-office or other automatic answer to this message.
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    # After the body: setting the content replaces every Content-* field.
    message["Content-Language"] = language   # RFC 3282
    return message
