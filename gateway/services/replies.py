"""Email replies to suppliers who wrote by email: what was understood, what the buyer needs.

After processing wrote what an email changed (`processing.write_batch`), each email a
supplier sent is answered in the same transaction: a reply threaded under it, in the
supplier's language, handed to the outbox (`gateway.services.outbox.enqueue`), or recorded
there as suppressed with why (`record_suppressed`). Nothing is sent from here.

Who gets a reply (docs/architecture.md, "Replies to suppliers"):

1. not a message that must never be answered automatically: an auto-reply, a bounce, list or
   bulk mail, or our own message come back (`outbound.email.loops.no_reply`);
2. only a sender the gateway knows to be the supplier: mail authenticated as the supplier's
   domain (trust `verified`) gets its reply at its authenticated From; a file an operator
   handed in (`gateway ingest`, trust `trusted` outside the mail channels) at the address the
   partner entry lists first. Mail not authenticated (trust `unverified`, or a partner whose
   `mail_auth = "none"` turns the check off) gets none: its From could be anybody's. The
   Reply-To field is never followed: it is the sender's to write;
3. at most `GATEWAY_REPLY_MAX_PER_HOUR` replies per supplier per hour.

Every decision is a row of `email_replies` (queued with its Message-ID, or suppressed with
why); the hourly cap counts the queued ones. A message processed again (`gateway replay`,
`gateway messages release` or `retry`) that has a decision already is not answered again.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gateway.config import ReplySettings
from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.documents import Document, DocumentKind, DocumentStatus, Line, LineStatus
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.mailauth.headers import header_fields
from gateway.mailauth.verdict import MAIL_CHANNELS, Trust, Verdict
from gateway.persistence.models import EmailReplyRow, OrderLineRow, PurchaseOrder
from gateway.services import outbox
from gateway.services.lookups import SupplierInfo
from outbound.email.content import (
    Ask,
    Change,
    Field,
    FillInRow,
    Language,
    ReplyContent,
    ReplyLine,
    Request,
    UnreadPart,
)
from outbound.email.content import (
    Verdict as LineVerdict,
)
from outbound.email.loops import no_reply
from outbound.email.message import Addresses, Parent, build_reply, message_id
from outbound.email.templates import TemplateProblem, Templates
from outbound.email.threading import references

log = logging.getLogger(__name__)

# The key under which a session factory carries the `Replier` (`session.info`): processing
# answers emails only when the composition root put one there (`replier_info`).
REPLIES = "gateway.replies"
QUEUED, SUPPRESSED = "queued", "suppressed"
# The fill-in table of an unreadable reply: the lines of the orders it names, at most this
# many; blank rows when it names none the supplier has.
MAX_FILL_IN = 50
BLANK_ROWS = 3

# What each discrepancy asks of the supplier, and which value of a line it changed.
_ASKS: Mapping[DiscrepancyCode, Ask] = {
    DiscrepancyCode.UNKNOWN_ORDER: Ask.UNKNOWN_ORDER,
    DiscrepancyCode.UNKNOWN_LINE: Ask.UNKNOWN_LINE,
    DiscrepancyCode.AMBIGUOUS_LINE: Ask.AMBIGUOUS_LINE,
    DiscrepancyCode.ITEM_MISMATCH: Ask.ITEM,
    DiscrepancyCode.UNIT_MISMATCH: Ask.UNIT,
    DiscrepancyCode.QTY_SHORT: Ask.QUANTITY,
    DiscrepancyCode.QTY_OVER: Ask.QUANTITY,
    DiscrepancyCode.DATE_LATE: Ask.DATE,
    DiscrepancyCode.DATE_EARLY: Ask.DATE,
    DiscrepancyCode.PRICE_CHANGED: Ask.PRICE,
    DiscrepancyCode.LINE_NOT_CONFIRMED: Ask.MISSING_LINE,
    DiscrepancyCode.LINE_UNCLEAR: Ask.UNCLEAR_LINE,
    DiscrepancyCode.DUPLICATE_DOCUMENT: Ask.DOCUMENT_NUMBER,
    DiscrepancyCode.LINE_REJECTED: Ask.REJECTED,
    DiscrepancyCode.ORDER_REJECTED: Ask.REJECTED,
}
_CHANGES: Mapping[DiscrepancyCode, Field] = {
    DiscrepancyCode.QTY_SHORT: Field.QUANTITY, DiscrepancyCode.QTY_OVER: Field.QUANTITY,
    DiscrepancyCode.DATE_LATE: Field.DATE, DiscrepancyCode.DATE_EARLY: Field.DATE,
    DiscrepancyCode.PRICE_CHANGED: Field.PRICE, DiscrepancyCode.UNIT_MISMATCH: Field.UNIT,
    DiscrepancyCode.ITEM_MISMATCH: Field.ITEM,
}
_NOT_MATCHED = frozenset({DiscrepancyCode.UNKNOWN_LINE, DiscrepancyCode.AMBIGUOUS_LINE,
                          DiscrepancyCode.UNKNOWN_ORDER})
# Values that the discrepancy's expected/actual carry only as the gateway's own wording.
_OWN_WORDING = frozenset({DiscrepancyCode.UNKNOWN_ORDER, DiscrepancyCode.LINE_NOT_CONFIRMED,
                          DiscrepancyCode.LINE_UNCLEAR, DiscrepancyCode.LINE_REJECTED,
                          DiscrepancyCode.ORDER_REJECTED})


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """What processing knows of one email it has just reconciled."""

    message_id: int
    raw: bytes
    channel: str
    sender: str                  # the SMTP MAIL FROM (`<>` for a bounce), else the From
    authentication: Mapping[str, Any] | None
    trust: Trust | None
    supplier: SupplierInfo
    parent_id: str | None        # its Message-ID
    subject: str | None
    order_numbers: tuple[str, ...]
    documents: Sequence[Document]
    discrepancies: Sequence[Discrepancy]
    unread: Sequence[UnreadPart]


@dataclass(frozen=True, slots=True)
class Decision:
    message_id: int
    supplier_code: str
    wire_id: str | None
    why_not: str | None          # None: queued


class Replier:
    """Answers emails with the configured settings and templates (built once per process)."""

    def __init__(self, settings: ReplySettings,
                 token: Callable[[], str] = lambda: secrets.token_hex(12)) -> None:
        self.settings = settings
        self.templates = Templates(settings.template_dir)
        self.token = token

    def answer(self, session: Session, emails: Sequence[EmailFacts],
               now: datetime) -> list[Decision]:
        """Decide and build each reply; enqueue it or record it suppressed, in `session`."""
        # A message processed again (`gateway replay`, release, retry) was answered the first
        # time: the supplier hears once per email.
        answered = answered_before(session, [e.message_id for e in emails])
        emails = [e for e in emails if e.message_id not in answered]
        if not emails:
            return []
        sent = sent_in_last_hour(session, {e.supplier.code for e in emails}, now)
        decisions = []
        for facts in emails:
            decision, draft = self._decide(session, facts, now, sent)
            if draft is not None and decision.why_not is None:
                outbox.enqueue(session, draft, now)
                sent[facts.supplier.code] += 1
            elif draft is not None and decision.why_not is not None:
                outbox.record_suppressed(session, draft, decision.why_not, now)
            session.execute(insert(EmailReplyRow).values(
                supplier_code=decision.supplier_code, message_id=decision.message_id,
                created_at=now, outcome=SUPPRESSED if decision.why_not else QUEUED,
                why=decision.why_not, wire_id=decision.wire_id))
            decisions.append(decision)
        return decisions

    def _decide(self, session: Session, facts: EmailFacts, now: datetime,
                sent: Mapping[str, int]) -> tuple[Decision, OutboundDraft | None]:
        code = facts.supplier.code
        fields = header_fields(facts.raw)
        recipient, why = recipient_of(facts)
        loop = no_reply(fields, facts.sender if facts.channel == "smtp" else None,
                        self.settings.message_id_domain)
        if loop is not None:
            why = f"not answered automatically: {loop.describe()}"
        elif why is None and not self.settings.enabled:
            why = "replies are turned off (GATEWAY_REPLIES)"
        elif why is None and sent.get(code, 0) >= self.settings.max_per_hour:
            why = (f"cap reached: {self.settings.max_per_hour} replies to this supplier in the "
                   "last hour (GATEWAY_REPLY_MAX_PER_HOUR)")
        named = _named_orders(facts)
        known = known_lines(session, code, named) if facts.unread else {}
        content = reply_content(facts.supplier, facts.documents, facts.discrepancies,
                                facts.unread, known, named)
        wire = message_id("reply", self.token(), self.settings.message_id_domain)
        parent = Parent(bracketed_id(facts.parent_id), facts.subject,
                        references(bracketed_id(facts.parent_id),
                                   header_field(fields, "references"),
                                   header_field(fields, "in-reply-to")))
        try:
            payload = build_reply(content, parent, Addresses(
                self.settings.from_address, self.settings.from_name,
                recipient or "undisclosed-recipients:;", wire, now), self.templates)
        except TemplateProblem as exc:
            log.warning("email reply not built", extra={"message_id": facts.message_id,
                                                        "error": str(exc)})
            return Decision(facts.message_id, code, None, f"not built: {exc}"), None
        draft = OutboundDraft(
            OutboundKind.EMAIL_REPLY,
            Transport.SMTP if self.settings.relay else Transport.FILE,
            recipient or "", payload, wire.strip("<>"),
            f"reply to message #{facts.message_id}: {_summary(content)}",
            sender=self.settings.from_address, supplier_code=code,
            message_id=facts.message_id, extra={"language": content.language.value})
        return Decision(facts.message_id, code, draft.wire_id, why), draft


def replier_info(env: Mapping[str, str]) -> dict[str, Any]:
    """What a session factory carries so that processing answers emails (`session.info`)."""
    return {REPLIES: Replier(ReplySettings.from_env(env))}


def recipient_of(facts: EmailFacts) -> tuple[str | None, str | None]:
    """(whom the reply goes to, why there is none). Only a sender the gateway knows to be the
    supplier is answered (see the module's docstring)."""
    listed = facts.supplier.reply_to
    if facts.channel not in MAIL_CHANNELS:
        # Handed in by an operator: the reply goes to the partner's own address, never to
        # whatever the file's From says.
        return (listed, None) if listed else (None, "the partner entry lists no address")
    if facts.trust is not Trust.VERIFIED or not facts.authentication:
        trust = facts.trust.value if facts.trust else "not judged"
        return None, f"sender not authenticated as the supplier (trust {trust}): no reply"
    author = Verdict.from_json(facts.authentication).from_address
    if not author:
        return (listed, None) if listed else (None, "no authenticated From address")
    return author, None


def answered_before(session: Session, message_ids: Sequence[int]) -> set[int]:
    """The messages a reply was decided for already (queued or suppressed)."""
    found: set[int] = set()
    for start in range(0, len(message_ids), 500):
        found.update(session.scalars(select(EmailReplyRow.message_id).where(
            EmailReplyRow.message_id.in_(message_ids[start:start + 500]))))
    return found


def sent_in_last_hour(session: Session, suppliers: Iterable[str],
                      now: datetime) -> Counter[str]:
    """Replies queued per supplier in the hour before `now` (the cap counts these)."""
    counts: Counter[str] = Counter()
    wanted = sorted(set(suppliers))
    if not wanted:
        return counts
    for code, count in session.execute(
            select(EmailReplyRow.supplier_code, func.count())
            .where(EmailReplyRow.supplier_code.in_(wanted), EmailReplyRow.outcome == QUEUED,
                   EmailReplyRow.created_at > now - timedelta(hours=1))
            .group_by(EmailReplyRow.supplier_code)):
        counts[code] = count
    return counts


def known_lines(session: Session, supplier: str,
                orders: Iterable[str]) -> dict[str, list[FillInRow]]:
    """The lines of the named orders that belong to this supplier, as fill-in rows; an order
    of another supplier, or open to every supplier, is not shown."""
    numbers = sorted(set(orders))[:20]
    found: dict[str, list[FillInRow]] = {}
    if not numbers:
        return found
    for number, line_no, supplier_part, buyer_part, description in session.execute(
            select(PurchaseOrder.number, OrderLineRow.line_no, OrderLineRow.supplier_part,
                   OrderLineRow.buyer_part, OrderLineRow.description)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id)
            .where(PurchaseOrder.number.in_(numbers), PurchaseOrder.supplier_code == supplier)
            .order_by(PurchaseOrder.number, OrderLineRow.id)):
        found.setdefault(number, []).append(FillInRow(
            number, line_no, supplier_part or buyer_part or description or ""))
    return found


# -- what the reply says (pure) ------------------------------------------------------------


def reply_content(supplier: SupplierInfo, documents: Sequence[Document],
                  discrepancies: Sequence[Discrepancy], unread: Sequence[UnreadPart],
                  known: Mapping[str, list[FillInRow]],
                  named_orders: Sequence[str] = ()) -> ReplyContent:
    """Per line what was understood, what the buyer needs fixed, and for what could not be
    read a table to fill in. Built from what the supplier sent and the discrepancies of this
    email alone: no row id, rule or tolerance name, nothing of another supplier."""
    lines: list[ReplyLine] = []
    for document in documents:
        if document.kind is DocumentKind.ORDER_RESPONSE:
            lines += _document_lines(document, discrepancies)
    requests = list(dict.fromkeys(
        request for d in discrepancies if (request := _request(d, documents)) is not None))
    fill_in: list[FillInRow] = []
    if unread:
        for rows in known.values():
            fill_in += rows
        fill_in = fill_in[:MAX_FILL_IN]
        if not fill_in:
            order = named_orders[0] if len(named_orders) == 1 else ""
            fill_in = [FillInRow(order)] * BLANK_ROWS
    return ReplyContent(supplier.name, language_of(supplier), tuple(lines), tuple(requests),
                        tuple(unread), tuple(fill_in))


def language_of(supplier: SupplierInfo) -> Language:
    try:
        return Language(supplier.language or Language.EN.value)
    except ValueError:
        return Language.EN


def _document_lines(document: Document,
                    discrepancies: Sequence[Discrepancy]) -> list[ReplyLine]:
    only = document.order_numbers[0] if len(document.order_numbers) == 1 else None
    if not document.lines:
        verdict = {DocumentStatus.ACCEPTED: LineVerdict.CONFIRMED,
                   DocumentStatus.REJECTED: LineVerdict.REJECTED,
                   DocumentStatus.CANCELLED: LineVerdict.REJECTED}.get(
            document.status or DocumentStatus.CHANGED, LineVerdict.NOT_UNDERSTOOD)
        return [ReplyLine(number, None, None, verdict) for number in document.order_numbers]
    # A line of an order the gateway does not have for this supplier matched nothing.
    unknown = {d.order_number for d in discrepancies
               if d.code is DiscrepancyCode.UNKNOWN_ORDER}
    result = []
    for position, line in enumerate(document.lines, 1):
        order = line.order_number or only
        found = [d for d in discrepancies if d.position == position
                 and d.order_number in (order, None) and d.code in _ASKS]
        reply = _reply_line(line, order, found)
        if order in unknown or (order is None and None in unknown):
            reply = replace(reply, verdict=LineVerdict.NOT_UNDERSTOOD, changes=())
        result.append(reply)
    return result


def _reply_line(line: Line, order: str | None, found: list[Discrepancy]) -> ReplyLine:
    changes = tuple(Change(_CHANGES[d.code], d.expected, d.actual) for d in found
                    if d.code in _CHANGES)
    if line.status in (LineStatus.REJECTED, LineStatus.DELETED):
        verdict = LineVerdict.REJECTED
    elif line.status is None or any(d.code in _NOT_MATCHED for d in found):
        verdict = LineVerdict.NOT_UNDERSTOOD
    elif changes or line.status is LineStatus.CHANGED:
        verdict = LineVerdict.CHANGED
    else:
        verdict = LineVerdict.CONFIRMED
    item = line.item.supplier_part or line.item.buyer_part or line.item.gtin or \
        line.item.description
    quantity = None if line.quantity is None else \
        f"{_number(line.quantity)} {line.unit or ''}".strip()
    return ReplyLine(order, line.order_line_no or line.line_no, item, verdict, quantity,
                     line.delivery_date.isoformat() if line.delivery_date else None,
                     None if line.price is None else _number(line.price), changes)


def _request(discrepancy: Discrepancy, documents: Sequence[Document]) -> Request | None:
    ask = _ASKS.get(discrepancy.code)
    if ask is None:
        return None
    order, line = discrepancy.order_number, discrepancy.line_no
    if ask is Ask.UNKNOWN_ORDER and not order:
        return Request(Ask.NO_ORDER_NUMBER)
    if line and line.startswith("#"):
        # A line matched to no order line is named by its place in the document: say the
        # supplier's own line number instead.
        line = _supplier_line(documents, discrepancy.position)
    if discrepancy.code in _OWN_WORDING:
        return Request(ask, order, line)
    if ask is Ask.DOCUMENT_NUMBER:
        return Request(ask, order, None, None, _document_number(documents, discrepancy))
    return Request(ask, order, line, discrepancy.expected, discrepancy.actual)


def _supplier_line(documents: Sequence[Document], position: int | None) -> str | None:
    for document in documents:
        if position is not None and 0 < position <= len(document.lines):
            line = document.lines[position - 1]
            return line.line_no or line.order_line_no
    return None


def _document_number(documents: Sequence[Document], discrepancy: Discrepancy) -> str | None:
    numbers = [d.document_number for d in documents if d.document_number
               and (discrepancy.order_number in d.order_numbers
                    or discrepancy.order_number == d.document_number)]
    return numbers[0] if numbers else None


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _named_orders(facts: EmailFacts) -> list[str]:
    named = {n for d in facts.documents for n in d.order_numbers}
    named |= {line.order_number for d in facts.documents for line in d.lines
              if line.order_number}
    return sorted(named | set(facts.order_numbers))


def _summary(content: ReplyContent) -> str:
    return (f"{len(content.lines)} line(s), {len(content.requests)} request(s), "
            f"{len(content.unread)} unread part(s), language {content.language.value}")


def header_field(fields: Sequence[tuple[str, str]], name: str) -> str | None:
    """The one value of header `name` (lower case), or None when absent or repeated."""
    values = [value for field, value in fields if field == name]
    return values[0] if len(values) == 1 else None


def bracketed_id(value: str | None) -> str | None:
    """A Message-ID in angle brackets, or None when it cannot be one."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if any(c in value for c in " \t\r\n") or not 2 < len(value) <= 250:
        return None
    return value if value.startswith("<") else f"<{value}>"
