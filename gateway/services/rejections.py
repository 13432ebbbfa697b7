"""A buyer rejects the supplier's change of one line: the reply that tells the supplier.

The exception moves to `rejected_change` (the caller, `gateway.web.actions`, does that and its
audit event); this module builds the email that says which line and which value the buyer does
not accept and what stands (the ordered value), in the supplier's language (partner
`language`), and hands it to the outbox in the same transaction. When the change came by email
the reply is threaded under that message (In-Reply-To, References, "Re:"); otherwise it is a
message of its own.

It goes to the supplier's authenticated From when the change came by mail authenticated as
the supplier (as `gateway.services.replies` answers), else to the first address the partner
entry lists. With neither, or with replies turned off (`GATEWAY_REPLIES`), it is recorded in
the outbox as suppressed with why: the buyer's decision stands either way. The rejection is
sent on a person's decision, so the per-hour cap of automatic replies does not apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.acceptance import ACCEPTABLE
from gateway.domain.discrepancies import DiscrepancyCode, ExceptionState, move_exception
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.errors import InvalidTransition
from gateway.mailauth.headers import header_fields
from gateway.mailauth.verdict import MAIL_CHANNELS, Trust, Verdict
from gateway.persistence.models import (
    ExceptionRow,
    InboundMessage,
    OrderLineRow,
    OutboundMessageRow,
    Supplier,
    SupplierIdentity,
)
from gateway.services import outbox
from gateway.services.replies import REPLIES, Replier, bracketed_id, header_field
from outbound.email.content import Field, Language, RejectionContent
from outbound.email.message import Addresses, Parent, build_rejection, message_id
from outbound.email.templates import TemplateProblem
from outbound.email.threading import references

log = logging.getLogger(__name__)

# Which value of the line each rejectable code is about.
FIELDS = {
    DiscrepancyCode.QTY_SHORT: Field.QUANTITY, DiscrepancyCode.QTY_OVER: Field.QUANTITY,
    DiscrepancyCode.DATE_LATE: Field.DATE, DiscrepancyCode.DATE_EARLY: Field.DATE,
    DiscrepancyCode.PRICE_CHANGED: Field.PRICE,
}
REJECTABLE = frozenset(ACCEPTABLE)


@dataclass(frozen=True, slots=True)
class Rejection:
    """The reply decided: its Message-ID and why it was not queued (None: queued)."""

    outbox_id: int
    wire_id: str
    why_not: str | None


def rejectable(code: str, order_number: str | None) -> bool:
    """Whether a buyer can reject this exception's change (a changed quantity, date or price
    of a known order)."""
    try:
        return DiscrepancyCode(code) in REJECTABLE and bool(order_number)
    except ValueError:
        return False


def rejection_content(row: ExceptionRow, supplier_name: str, language: str | None,
                      item: str | None) -> RejectionContent:
    """What the reply says (pure): only what the supplier sent and what was ordered."""
    if not rejectable(row.code, row.order_number):
        raise InvalidTransition(f"a {row.code} exception", "its change", "rejected")
    try:
        chosen = Language(language or Language.EN.value)
    except ValueError:
        chosen = Language.EN
    return RejectionContent(supplier_name, chosen, row.order_number or "", row.line_no, item,
                            FIELDS[DiscrepancyCode(row.code)], row.expected, row.actual)


def reply_to_rejection(session: Session, row: ExceptionRow, now: datetime,
                       replier: Replier | None = None) -> Rejection:
    """Build the reply for a rejected change and hand it to the outbox (queued or recorded as
    suppressed), in `session`'s transaction. `InvalidTransition` when the exception is not a
    change that can be rejected."""
    replier = replier or session.info.get(REPLIES) or _default_replier()
    supplier = session.scalars(select(Supplier).where(
        Supplier.code == (row.supplier_code or ""))).first()
    line = session.get(OrderLineRow, row.order_line_id) if row.order_line_id else None
    item = (line.supplier_part or line.buyer_part or line.description) if line else None
    content = rejection_content(row, supplier.name if supplier else (row.supplier_code or ""),
                                supplier.language if supplier else None, item)
    message = session.get(InboundMessage, row.message_id) if row.message_id else None
    parent = _parent(message)
    recipient, why = _recipient(session, supplier, message)
    if why is None and not replier.settings.enabled:
        why = "replies are turned off (GATEWAY_REPLIES)"
    settings = replier.settings
    wire = message_id("rejection", replier.token(), settings.message_id_domain)
    try:
        payload = build_rejection(content, parent, Addresses(
            settings.from_address, settings.from_name,
            recipient or "undisclosed-recipients:;", wire, now), replier.templates)
    except TemplateProblem as exc:
        raise InvalidTransition(f"a {row.code} exception", f"a reply that cannot be built "
                                f"({exc})", "rejected") from exc
    draft = OutboundDraft(
        OutboundKind.REJECTION, Transport.SMTP if settings.relay else Transport.FILE,
        recipient or "", payload, wire.strip("<>"),
        f"change rejected: order {content.order} line {content.line or '-'} "
        f"{content.field.value}, language {content.language.value}",
        sender=settings.from_address, supplier_code=row.supplier_code,
        message_id=row.message_id, exception_id=row.id,
        extra={"language": content.language.value})
    if why is not None:
        log.warning("rejection reply suppressed", extra={"exception_id": row.id, "why": why})
        return Rejection(outbox.record_suppressed(session, draft, why, now), draft.wire_id, why)
    return Rejection(outbox.enqueue(session, draft, now), draft.wire_id, None)


def reject_change(session: Session, exception_id: int, actor: str, reason: str,
                  now: datetime) -> tuple[ExceptionRow, Rejection]:
    """A buyer rejects the supplier's change, from the web app, the API or the command line
    alike: the reply is built and handed to the outbox first (a change that cannot be rejected
    moves nothing), then the exception becomes `rejected_change` with the reason and the
    reply's fate in its trail. LookupError for an unknown id; InvalidTransition for an
    exception whose state or kind does not allow it."""
    from gateway.services.queue import act_on_exception

    row = session.get(ExceptionRow, exception_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no exception #{exception_id}")
    move_exception(ExceptionState(row.state), ExceptionState.REJECTED_CHANGE)
    rejected = reply_to_rejection(session, row, now)
    sent = "queued" if rejected.why_not is None else f"not sent: {rejected.why_not}"
    moved = act_on_exception(session, exception_id, ExceptionState.REJECTED_CHANGE, actor,
                             f"{reason} — reply to the supplier {sent} "
                             f"(outbox #{rejected.outbox_id})", now)
    return moved, rejected


MAX_REPLIES_SHOWN = 20


def replies_to(session: Session, exception_id: int) -> list[OutboundMessageRow]:
    """The outbox rows that answer one exception (a rejection's reply), newest first: one
    statement."""
    return list(session.scalars(select(OutboundMessageRow)
                                .where(OutboundMessageRow.exception_id == exception_id)
                                .order_by(OutboundMessageRow.id.desc())
                                .limit(MAX_REPLIES_SHOWN)))


def _parent(message: InboundMessage | None) -> Parent | None:
    """The supplier's email the change came in, as the reply threads under it; None when it
    came otherwise (EDI, a spreadsheet, an operator's file)."""
    if message is None or not _is_email(message):
        return None
    fields = header_fields(message.raw)
    own = bracketed_id(header_field(fields, "message-id"))
    return Parent(own, header_field(fields, "subject"),
                  references(own, header_field(fields, "references"),
                             header_field(fields, "in-reply-to")))


def _is_email(message: InboundMessage) -> bool:
    if message.channel in MAIL_CHANNELS:
        return True
    return (message.filename or "").lower().endswith(".eml")


def _recipient(session: Session, supplier: Supplier | None,
               message: InboundMessage | None) -> tuple[str | None, str | None]:
    """(whom it goes to, why there is none): the authenticated From of the supplier's mail,
    else the partner entry's first address. A From that is not authenticated is never used."""
    if (message is not None and message.channel in MAIL_CHANNELS
            and message.sender_trust == Trust.VERIFIED.value and message.authentication):
        author = Verdict.from_json(message.authentication).from_address
        if author:
            return author, None
    if supplier is None:
        return None, "the exception names no known supplier"
    listed = session.scalars(
        select(SupplierIdentity.value).where(SupplierIdentity.supplier_id == supplier.id,
                                             SupplierIdentity.kind == "email")
        .order_by(SupplierIdentity.id).limit(1)).first()
    return (listed, None) if listed else (None, "the partner entry lists no address")


def _default_replier() -> Replier:
    from gateway.config import ReplySettings

    return Replier(ReplySettings())
