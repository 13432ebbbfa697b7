"""Acknowledgements to suppliers who sent EDIFACT: what to answer, and handing it to the outbox.

Deciding is pure (`decide`): the received interchanges (each message's heading and the syntax
problems the parser found), the documents that were applied with what reconciliation found in
each, and the partner's policy give a list of `AckSpec`s:

- a **CONTRL** per received interchange, when the partner's `contrl` is `always`, or
  `on_error` and something in it was rejected or repaired: UCI 7 (acknowledged; the rejected
  messages named by UCM 4) or 4 (nothing accepted), one UCM per message, UCS/UCD locating each
  syntax problem by segment position and data element with its ISO 9735 code (0085);
- an **APERAK** interchange per received interchange, holding one APERAK per message that
  was applied, when the partner's `aperak` is `always`, or `on_error` and the message has a
  business problem (`ERRORS`): an unknown order or line, an item mismatch, a value outside
  the tolerance, a document number sent before, a value that could not be read.

`acknowledge` runs in the write transaction of processing: it takes the next interchange
control reference of the partner (`next_reference`: a counter row per partner, incremented
by one atomic `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, so two writers never get the
same number and a rolled-back one leaves no gap that is reused), serialises the interchange
(`outbound.edifact`), wraps it in an email to the supplier's first address (`application/
EDIFACT`, RFC 1767) and enqueues it (`gateway.services.outbox.enqueue`). The outbox sends it
through the relay, or drops it as a file when none is configured. An acknowledgement that
says what one decided for the same message before said (a replay that changed nothing) is
not sent again (`fingerprint`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.documents import Document
from gateway.domain.outbound import OutboundDraft, OutboundKind, OutboundState, Transport
from gateway.persistence.models import InterchangeCounterRow, OutboundMessageRow
from gateway.services.outbox import enqueue
from mappings.registry import MessageHeading
from outbound.edifact import (
    AckMail,
    AperakError,
    AperakMessage,
    ContrlReport,
    ErrorKind,
    InboundEnvelope,
    MessageIdentifier,
    MessageResponse,
    Party,
    SyntaxFault,
    ack_email,
    answer_interchange,
    answer_written,
    aperak_segments,
    aperaks_written,
    contrl_segments,
    contrl_written,
)
from parsers.errors import Problem, ProblemCode


class AckWhen(StrEnum):
    """A partner's `contrl` / `aperak` key: when to answer."""

    ALWAYS = "always"
    ON_ERROR = "on_error"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class AckPolicy:
    """What a partner wants back. Both default to `never`: an answer the partner's system
    does not expect lands in someone's inbox as noise, so it is asked for, never assumed."""

    contrl: AckWhen = AckWhen.NEVER
    aperak: AckWhen = AckWhen.NEVER


# -- What was received -------------------------------------------------------------------


@dataclass(slots=True)
class ReceivedInterchange:
    """One UNB ... UNZ of a received file: its envelope, its messages, its own problems."""

    envelope: InboundEnvelope
    messages: list[MessageHeading] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def received_interchanges(items: Iterable[MessageHeading | Problem]
                          ) -> list[ReceivedInterchange]:
    """The interchanges of a file, from its headings and file-level problems in order.

    A file-level problem belongs to the interchange around it: a problem of a UNB (or before
    any message) to the interchange that follows, any other (a UNZ count, a segment outside a
    message) to the one before. Messages without an interchange envelope (a lone UNH) are left
    out: without a UNB there is nobody to answer in EDIFACT."""
    found: list[ReceivedInterchange] = []
    pending: list[Problem] = []
    current: ReceivedInterchange | None = None
    header: object = None
    for item in items:
        if isinstance(item, Problem):
            if current is None or item.tag in ("UNA", "UNB"):
                pending.append(item)
            else:
                current.problems.append(item)
            continue
        if item.interchange is None:
            continue
        if item.interchange is not header:
            header = item.interchange
            current = ReceivedInterchange(_envelope(item))
            found.append(current)
            current.problems += pending
            pending = []
        assert current is not None
        current.messages.append(item)
    if pending and current is not None:
        current.problems += pending
    return found


def _envelope(heading: MessageHeading) -> InboundEnvelope:
    unb = heading.interchange
    assert unb is not None
    return InboundEnvelope(
        syntax_id=unb.syntax_id or "UNOA", syntax_version=unb.syntax_version or "3",
        sender=Party(unb.sender or "", unb.sender_qualifier),
        receiver=Party(unb.receiver or "", unb.receiver_qualifier),
        reference=unb.reference or "", test=unb.test)


def identifier(heading: MessageHeading) -> MessageIdentifier:
    return MessageIdentifier(heading.reference, heading.type, heading.version, heading.release,
                             heading.agency, heading.association)


# -- CONTRL ------------------------------------------------------------------------------

# Where in its segment a problem is, when the problem's code names one data element
# (ISO 9735-1: UNT 0074 count and 0062 reference; UNZ/UNE 0036/0060 count and 0020/0048
# reference; UNB S001/0001 syntax identifier; UNH 0062 reference). (element, component).
_ELEMENTS: dict[tuple[ProblemCode, str], tuple[int, int | None]] = {
    (ProblemCode.COUNT_MISMATCH, "UNT"): (1, None),
    (ProblemCode.COUNT_MISMATCH, "UNE"): (1, None),
    (ProblemCode.COUNT_MISMATCH, "UNZ"): (1, None),
    (ProblemCode.REFERENCE_MISMATCH, "UNT"): (2, None),
    (ProblemCode.REFERENCE_MISMATCH, "UNE"): (2, None),
    (ProblemCode.REFERENCE_MISMATCH, "UNZ"): (2, None),
    (ProblemCode.UNSUPPORTED_SYNTAX, "UNB"): (1, 1),
    (ProblemCode.MISSING_VALUE, "UNH"): (1, None),
}


def syntax_fault(problem: Problem) -> SyntaxFault:
    """The CONTRL fault for a parse problem: its code (0085), and where it is: the segment's
    position in its message (a message's problem) and the data element, when known."""
    element, component = _ELEMENTS.get((problem.code, problem.tag or ""), (None, None))
    segment = problem.segment if problem.message_index is not None else None
    return SyntaxFault(problem.code.contrl_code, segment, problem.tag, element, component)


def contrl_report(received: ReceivedInterchange,
                  refusals: Sequence[Problem] = ()) -> ContrlReport:
    """The CONTRL for one interchange. `refusals` are the errors found after reading (a value
    no database stores), by message index: each rejects its message too."""
    responses = []
    for heading in received.messages:
        later = [p for p in refusals
                 if p.message_index == heading.index and p not in heading.problems]
        problems = [*heading.problems, *later]
        responses.append(MessageResponse(identifier(heading), heading.refused or bool(later),
                                         tuple(syntax_fault(p) for p in problems)))
    own = [p for p in received.problems if p.is_error] or received.problems
    fault = syntax_fault(own[0]) if own else None
    envelope = received.envelope
    return ContrlReport(envelope.reference, envelope.sender, envelope.receiver,
                        tuple(responses), fault, envelope.syntax_version)


# -- APERAK ------------------------------------------------------------------------------

_KINDS: dict[DiscrepancyCode, ErrorKind] = {
    DiscrepancyCode.UNKNOWN_ORDER: ErrorKind.UNKNOWN_ORDER,
    DiscrepancyCode.UNKNOWN_LINE: ErrorKind.UNKNOWN_LINE,
    DiscrepancyCode.AMBIGUOUS_LINE: ErrorKind.AMBIGUOUS_LINE,
    DiscrepancyCode.ITEM_MISMATCH: ErrorKind.ITEM_MISMATCH,
    DiscrepancyCode.QTY_SHORT: ErrorKind.QUANTITY_TOLERANCE,
    DiscrepancyCode.QTY_OVER: ErrorKind.QUANTITY_TOLERANCE,
    DiscrepancyCode.DATE_LATE: ErrorKind.DATE_TOLERANCE,
    DiscrepancyCode.DATE_EARLY: ErrorKind.DATE_TOLERANCE,
    DiscrepancyCode.PRICE_CHANGED: ErrorKind.PRICE_TOLERANCE,
    DiscrepancyCode.UNIT_MISMATCH: ErrorKind.UNIT_DIFFERS,
    DiscrepancyCode.OVER_SHIPPED: ErrorKind.OVER_SHIPPED,
    DiscrepancyCode.DUPLICATE_DOCUMENT: ErrorKind.DUPLICATE_DOCUMENT,
}
# Notices that mean a value was sent and could not be read (it became null).
UNREADABLE_VALUES = frozenset({ProblemCode.INVALID_DATE.value, ProblemCode.INVALID_NUMBER.value,
                               ProblemCode.INVALID_CODE.value,
                               ProblemCode.INVALID_CHARACTER.value,
                               ProblemCode.INVALID_IDENTIFIER.value})
_WHAT = {ErrorKind.QUANTITY_TOLERANCE: "quantity", ErrorKind.DATE_TOLERANCE: "date",
         ErrorKind.PRICE_TOLERANCE: "price", ErrorKind.UNIT_DIFFERS: "unit",
         ErrorKind.OVER_SHIPPED: "despatched quantity"}


@dataclass(frozen=True, slots=True)
class Answered:
    """A document that was applied, and what reconciliation found in it."""

    document: Document
    discrepancies: tuple[Discrepancy, ...]


def aperak_errors(answered: Answered) -> tuple[AperakError, ...]:
    """The business problems of one document, in words for the supplier: what it said, what
    the order says, and the order line; never a tolerance profile's name or an internal id."""
    document = answered.document
    only_order = document.order_numbers[0] if len(document.order_numbers) == 1 else None
    errors = [_error(kind, d) for d in answered.discrepancies
              if (kind := _KINDS.get(d.code)) is not None]
    for notice in document.warnings:
        if notice.code in UNREADABLE_VALUES:
            where = f"segment {notice.segment} ({notice.tag})" if notice.segment else \
                "the message"
            errors.append(AperakError(ErrorKind.UNREADABLE_VALUE,
                                      f"{where}: {notice.detail}; the value was not used",
                                      only_order))
    return tuple(errors)


def _error(kind: ErrorKind, d: Discrepancy) -> AperakError:
    order = d.order_number
    if kind is ErrorKind.UNKNOWN_ORDER:
        text = (f"order {order} is not an open order of ours for you" if order
                else "the message names no order number")
        return AperakError(kind, text, order)
    if kind in (ErrorKind.UNKNOWN_LINE, ErrorKind.AMBIGUOUS_LINE):
        how = "matches no line" if kind is ErrorKind.UNKNOWN_LINE else \
            "matches several lines; please send the order line number"
        item = f" (item {d.actual})" if d.actual else ""
        return AperakError(kind, f"your line {d.line_no}{item} {how} of order {order}", order)
    if kind is ErrorKind.DUPLICATE_DOCUMENT:
        return AperakError(kind, f"{d.actual}: this document number was received before with "
                                 "other content; this message was not applied", order)
    line = f"order {order} line {d.line_no}"
    if kind is ErrorKind.ITEM_MISMATCH:
        return AperakError(kind, f"{line}: ordered item {d.expected}, your message names "
                                 f"{d.actual}", order, d.line_no)
    difference = f" ({d.difference})" if d.difference else ""
    return AperakError(kind, f"{line}: {_WHAT[kind]} {d.actual}, ordered {d.expected}"
                             f"{difference}; outside the agreed tolerance, the buyer reviews "
                             "it", order, d.line_no)


def aperak_message(answered: Answered, heading: MessageHeading, number: str,
                   prepared: datetime) -> AperakMessage:
    document = answered.document
    return AperakMessage(number, prepared, identifier(heading), document.document_number,
                         document.document_date, aperak_errors(answered))


# -- Deciding ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AckSpec:
    """One acknowledgement interchange to send: a CONTRL, or the APERAKs of an interchange
    (each with the document it answers and the heading of its message)."""

    kind: OutboundKind
    envelope: InboundEnvelope
    contrl: ContrlReport | None = None
    aperaks: tuple[tuple[Answered, MessageHeading], ...] = ()


def decide(policy: AckPolicy, interchanges: Sequence[ReceivedInterchange],
           answered: Sequence[Answered], refusals: Sequence[Problem] = ()) -> list[AckSpec]:
    """What to send back for one received file (see the module docstring)."""
    specs: list[AckSpec] = []
    by_index = {a.document.message_index: a for a in answered}
    for received in interchanges:
        if policy.contrl is not AckWhen.NEVER:
            report = contrl_report(received, refusals)
            if policy.contrl is AckWhen.ALWAYS or report.has_faults:
                specs.append(AckSpec(OutboundKind.CONTRL, received.envelope, contrl=report))
        if policy.aperak is AckWhen.NEVER:
            continue
        wanted = tuple((by_index[h.index], h) for h in received.messages
                       if h.index in by_index and (policy.aperak is AckWhen.ALWAYS
                                                   or aperak_errors(by_index[h.index])))
        if wanted:
            specs.append(AckSpec(OutboundKind.APERAK, received.envelope, aperaks=wanted))
    return specs


def render(spec: AckSpec, reference: str, prepared: datetime) -> bytes:
    """The interchange of `spec` under our control reference `reference`.

    Written from text line by line (`answer_written`); when some supplier text must first be
    fitted to the repertoire, built again from segments, which fitting needs (the two give
    the same bytes wherever both apply: tests/unit/test_acknowledgements.py)."""
    if spec.contrl is not None:
        written = answer_written(spec.envelope, reference, prepared,
                                 contrl_written(spec.contrl), 1, "CONTRL")
        return written if written is not None else answer_interchange(
            spec.envelope, reference, prepared, [contrl_segments(spec.contrl)], "CONTRL")
    aperaks = [aperak_message(answered, heading, f"{reference}-{n}", prepared)
               for n, (answered, heading) in enumerate(spec.aperaks, 1)]
    written = answer_written(spec.envelope, reference, prepared, aperaks_written(aperaks),
                             len(aperaks), "APERAK")
    return written if written is not None else answer_interchange(
        spec.envelope, reference, prepared,
        [aperak_segments(message, str(n)) for n, message in enumerate(aperaks, 1)], "APERAK")


# -- Sending -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Addressing:
    """Whom acknowledgements come from (`GATEWAY_ACK_FROM`, else `GATEWAY_REPLY_FROM`) and the
    right-hand side of their Message-IDs (`GATEWAY_REPLY_MESSAGE_ID_DOMAIN`, by which our own
    messages coming back are recognised: `outbound.email.loops`). The defaults are those of
    `gateway.config.ReplySettings`."""

    sender: str = "purchasing@gateway.invalid"
    message_id_domain: str = ""

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.sender.rpartition("@")[2] or "gateway.invalid"


def next_reference(session: Session, partner: str) -> int:
    """The partner's next interchange control reference: one atomic statement that inserts
    the counter at 1 or adds one to it and returns the new value. The row stays locked until
    the transaction ends, so a concurrent writer waits and then gets the next number; a
    rolled-back transaction takes its increment with it, and the number it saw was never sent
    (the outbox row rolled back too)."""
    table = cast(Table, InterchangeCounterRow.__table__)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(partner=partner, last_reference=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.partner],
        set_={"last_reference": table.c.last_reference + 1}
    ).returning(table.c.last_reference)
    return int(session.execute(statement).scalar_one())


_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def draft(spec: AckSpec, interchange: bytes, reference: str, supplier: str, recipient: str,
          message_id: int, addressing: Addressing, prepared: datetime) -> OutboundDraft:
    """The email carrying one acknowledgement interchange, ready for the outbox."""
    name = "CONTRL" if spec.kind is OutboundKind.CONTRL else "APERAK"
    wire_id = f"{name.lower()}.{_UNSAFE.sub('-', supplier)}.{reference}@{addressing.domain}"
    theirs = _UNSAFE.sub("-", spec.envelope.reference) or "(none)"
    mail = AckMail(addressing.sender, recipient, wire_id,
                   f"{name} {reference} for your interchange {theirs}",
                   _mail_text(spec, name, theirs), f"{name.lower()}_{reference}.edi")
    return OutboundDraft(
        kind=spec.kind, transport=Transport.SMTP, recipient=recipient,
        payload=ack_email(mail, interchange, prepared), wire_id=wire_id,
        reason=f"{name} for interchange {theirs} of message #{message_id}",
        sender=addressing.sender, supplier_code=supplier, message_id=message_id,
        extra={"interchange_reference": reference})


def _mail_text(spec: AckSpec, name: str, theirs: str) -> str:
    if spec.contrl is not None:
        rejected = sum(1 for m in spec.contrl.messages if m.rejected)
        summary = (f"{len(spec.contrl.messages)} message(s) received, {rejected} rejected."
                   if spec.contrl.messages else "No message could be read.")
    else:
        errors = sum(len(aperak_errors(a)) for a, _h in spec.aperaks)
        summary = f"{len(spec.aperaks)} message(s) answered, {errors} problem(s) reported."
    return (f"The attached EDIFACT {name} answers your interchange {theirs}.\n{summary}\n"
            "This message was sent automatically; please read the attachment with your EDI "
            "system.\n")


# Rendered with this reference and time, two specs that say the same are the same bytes.
_NEUTRAL_REFERENCE, _NEUTRAL_TIME = "0", datetime(2000, 1, 1, tzinfo=UTC)
_FINGERPRINT = "fingerprint"  # the key of `OutboundDraft.extra` that keeps it


def fingerprint(spec: AckSpec) -> str:
    """What an acknowledgement says, without our control reference and preparation time: the
    same for the same verdicts on the same received interchange."""
    neutral = render(spec, _NEUTRAL_REFERENCE, _NEUTRAL_TIME)
    return f"{spec.kind.value}:{hashlib.sha256(neutral).hexdigest()}"


def said_before(session: Session, message_id: int) -> set[str]:
    """The fingerprints of the acknowledgements decided for a message before, but for those
    an operator cancelled (`gateway outbox cancel`)."""
    rows = session.execute(select(OutboundMessageRow.extra).where(
        OutboundMessageRow.message_id == message_id,
        OutboundMessageRow.kind.in_([OutboundKind.CONTRL.value, OutboundKind.APERAK.value]),
        OutboundMessageRow.state != OutboundState.CANCELLED.value))
    return {extra[_FINGERPRINT] for (extra,) in rows if extra and _FINGERPRINT in extra}


# The key of `session.info` under which the composition root puts the AS2 route
# (`gateway.services.as2_outbound.as2_route_info`), when AS2 partners are configured.
AS2_ROUTE = "gateway.as2_route"


class As2Route(Protocol):
    """Acknowledgements to a supplier that is an AS2 partner with a URL go by AS2."""

    def knows(self, supplier: str) -> bool: ...

    def __call__(self, supplier: str, interchange: bytes, kind: OutboundKind, reason: str,
                 message_id: int, filename: str, prepared: datetime,
                 content_type: str = "application/edifact") -> OutboundDraft | None:
        ...


def acknowledge(session: Session, specs: Sequence[AckSpec], supplier: str,
                recipient: str | None, message_id: int, addressing: Addressing,
                prepared: datetime, as2: As2Route | None = None) -> list[int]:
    """Number, serialise and enqueue each acknowledgement in the caller's transaction; the
    outbox row ids. One that says what an acknowledgement decided for the message before
    said (a replay that changed nothing of it) is not sent again: the supplier's system has
    it already, and a second one under a new control reference would be news to it. To an
    AS2 partner (`as2` knows it) it goes by AS2, else by email to `recipient`."""
    via_as2 = as2 is not None and as2.knows(supplier)
    if not via_as2 and recipient is None:
        return []
    ids = []
    before = said_before(session, message_id)
    for spec in specs:
        said = fingerprint(spec)
        if said in before:
            continue
        reference = str(next_reference(session, supplier))
        interchange = render(spec, reference, prepared)
        name = "contrl" if spec.kind is OutboundKind.CONTRL else "aperak"
        by_as2 = as2(supplier, interchange, spec.kind,
                     f"{name.upper()} {reference} for message #{message_id}", message_id,
                     f"{name}_{reference}.edi", prepared) if via_as2 and as2 else None
        made = by_as2 or draft(spec, interchange, reference, supplier, str(recipient),
                               message_id, addressing, prepared)
        made = replace(made, extra={**made.extra, "interchange_reference": reference})
        made = replace(made, extra={**made.extra, _FINGERPRINT: said})
        ids.append(enqueue(session, made, prepared))
    return ids
