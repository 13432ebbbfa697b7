"""What a 997/999 answers for a received X12 file: its functional groups and the verdict on
each transaction set, from what the parser and the mappings found (pure).

Each transaction set is accepted (A), accepted with errors noted (E: a wrong SE count or
control number, read all the same) or rejected (R: cut short, not an 855/856/850, or refused
by its mapping); each group is answered with the counts and its own trailer problems. The
acknowledgement text itself is written by `outbound.x12`; `acknowledge_x12` numbers it, attaches
it to an email and enqueues it in processing's transaction when the partner's entry asks
(`functional_ack = "997"` or `"999"`), as `gateway.services.acknowledgements` does for CONTRL.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.documents import Document
from gateway.domain.outbound import OutboundDraft, OutboundKind, OutboundState, Transport
from gateway.persistence.models import OutboundMessageRow
from gateway.services.acknowledgements import Addressing, As2Route, next_reference
from gateway.services.outbox import enqueue
from mappings.x12.reading import map_transaction
from outbound.x12 import (
    GroupResult,
    InterchangeParties,
    TransactionResult,
    functional_ack,
    functional_ack_email,
)
from parsers.errors import ParseError, Problem, ProblemCode
from parsers.x12 import Transaction, parse_x12

# 718 Transaction Set Syntax Error Code, by what the parser or mapping reported.
_TRANSACTION_CODES: dict[ProblemCode, str] = {
    ProblemCode.UNSUPPORTED_MESSAGE: "1",
    ProblemCode.MESSAGE_NOT_TERMINATED: "2",
    ProblemCode.REFERENCE_MISMATCH: "3",
    ProblemCode.COUNT_MISMATCH: "4",
}
# 716 Functional Group Syntax Error Code, for the group's own trailer.
_GROUP_CODES: dict[ProblemCode, str] = {
    ProblemCode.GROUP_NOT_TERMINATED: "3",
    ProblemCode.REFERENCE_MISMATCH: "4",
    ProblemCode.COUNT_MISMATCH: "5",
}


@dataclass(slots=True)
class _Group:
    parties: InterchangeParties | None
    functional_id: str
    control_number: str
    version: str
    transactions: list[TransactionResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def functional_groups(items: Iterable[Transaction | Problem],
                      refusals: dict[int, list[Problem]] | None = None
                      ) -> list[tuple[GroupResult, InterchangeParties]]:
    """The groups of a parsed X12 file, each with the parties of its interchange.

    `refusals` holds, per transaction index, the errors its mapping refused it with. A
    file-level problem at a GE counts against the group before it."""
    refusals = refusals or {}
    groups: list[_Group] = []
    for item in items:
        if isinstance(item, Problem):
            if item.tag == "GE" and groups and item.code in _GROUP_CODES:
                groups[-1].errors.append(_GROUP_CODES[item.code])
            continue
        group = item.group
        header = item.interchange
        if group is None or header is None:
            continue
        if not groups or groups[-1].control_number != group.control_number \
                or groups[-1].functional_id != group.functional_id:
            parties = InterchangeParties(header.sender_qualifier or "ZZ", header.sender or "",
                                         header.receiver_qualifier or "ZZ",
                                         header.receiver or "", header.test)
            groups.append(_Group(parties, group.functional_id, group.control_number,
                                 group.version or ""))
        groups[-1].transactions.append(_result(item, refusals.get(item.index, [])))
    return [(GroupResult(g.functional_id, g.control_number, g.version, tuple(g.transactions),
                         tuple(dict.fromkeys(g.errors))), g.parties)
            for g in groups if g.parties is not None]


def _result(transaction: Transaction, refused: list[Problem]) -> TransactionResult:
    problems = [*transaction.problems, *refused]
    codes = [_TRANSACTION_CODES.get(p.code, "5") for p in problems
             if p.is_error or p.code in _TRANSACTION_CODES]
    return TransactionResult(transaction.type, transaction.control_number,
                             rejected=any(p.is_error for p in problems),
                             errors=tuple(dict.fromkeys(codes)))


# -- Sending -----------------------------------------------------------------------------

_NEUTRAL_NUMBER, _NEUTRAL_TIME = 0, datetime(2000, 1, 1, tzinfo=UTC)
_FINGERPRINT = "fingerprint"
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def read_groups(raw: bytes) -> list[tuple[GroupResult, InterchangeParties]]:
    """The functional groups of received X12 bytes with the verdicts on their transaction
    sets, each refused by its parser or its mapping rejected (a file that is not X12: none)."""
    try:
        items = list(parse_x12(io.BufferedReader(io.BytesIO(raw))))
    except ParseError:
        return []
    refusals: dict[int, list[Problem]] = {}
    for item in items:
        if isinstance(item, Transaction) and not item.refused:
            mapped = map_transaction(item)
            if not isinstance(mapped, Document):
                refusals[item.index] = mapped
    return functional_groups(items, refusals)


def x12_senders(raw: bytes) -> set[str]:
    """The ISA06 senders of the interchanges in `raw` that hold a functional group."""
    return {parties.sender for _group, parties in read_groups(raw) if parties.sender}


def acknowledge_x12(session: Session, raw: bytes, kind: str, supplier: str,
                    recipient: str | None, message_id: int, addressing: Addressing,
                    prepared: datetime, as2: As2Route | None = None) -> list[int]:
    """A 997 or 999 per functional group of `raw`, each in its own interchange numbered from
    the partner's counter (the one EDIFACT acknowledgements use), enqueued in the caller's
    transaction; the outbox row ids. To an AS2 partner (`as2` knows it) it goes by AS2, as
    a CONTRL does, else attached to an email to `recipient` (none: nothing sent). One that
    says what was said for the message before (a replay that changed nothing) is not sent
    again."""
    via_as2 = as2 is not None and as2.knows(supplier)
    if not via_as2 and recipient is None:
        return []
    before = _said_before(session, message_id)
    ids = []
    for group, parties in read_groups(raw):
        said = kind + ":" + hashlib.sha256(functional_ack(
            group, parties, _NEUTRAL_NUMBER, _NEUTRAL_TIME, kind).encode()).hexdigest()
        if said in before:
            continue
        number = next_reference(session, supplier)
        text = functional_ack(group, parties, number, prepared, kind)
        theirs = f"group {group.control_number} ({group.functional_id})"
        reason = f"{kind} for functional {theirs} of message #{message_id}"
        extra = {"interchange_reference": str(number), _FINGERPRINT: said}
        # RFC 1767 names X12 content application/EDI-X12 (AS2 carries it so: RFC 4130 5.1).
        by_as2 = as2(supplier, text.encode("ascii", errors="replace"),
                     OutboundKind.FUNCTIONAL_ACK, reason, message_id, f"{kind}_{number}.x12",
                     prepared,
                     content_type="application/edi-x12") if via_as2 and as2 else None
        made = by_as2 or _email_draft(group, text, kind, number, theirs, supplier,
                                      str(recipient), message_id, addressing, prepared, reason)
        ids.append(enqueue(session, replace(made, extra={**made.extra, **extra}), prepared))
    return ids


def _email_draft(group: GroupResult, text: str, kind: str, number: int, theirs: str,
                 supplier: str, recipient: str, message_id: int, addressing: Addressing,
                 prepared: datetime, reason: str) -> OutboundDraft:
    """The 997/999 attached to an email to `recipient`, from the acknowledgements sender."""
    wire_id = f"{kind}.{_UNSAFE.sub('-', supplier)}.{number}@{addressing.domain}"
    summary = (f"{len(group.transactions)} transaction set(s) received, "
               f"{group.accepted} accepted.")
    payload = functional_ack_email(
        addressing.sender, recipient, wire_id, f"{kind} {number} for your {theirs}",
        f"The attached X12 {kind} acknowledges your functional {theirs}.\n{summary}\n"
        "This message was sent automatically; please read the attachment with your EDI "
        "system.\n", text, f"{kind}_{number}.x12", prepared)
    return OutboundDraft(
        kind=OutboundKind.FUNCTIONAL_ACK, transport=Transport.SMTP, recipient=recipient,
        payload=payload, wire_id=wire_id, reason=reason, sender=addressing.sender,
        supplier_code=supplier, message_id=message_id)


def _said_before(session: Session, message_id: int) -> set[str]:
    rows = session.execute(select(OutboundMessageRow.extra).where(
        OutboundMessageRow.message_id == message_id,
        OutboundMessageRow.kind == OutboundKind.FUNCTIONAL_ACK.value,
        OutboundMessageRow.state != OutboundState.CANCELLED.value))
    return {extra[_FINGERPRINT] for (extra,) in rows if extra and _FINGERPRINT in extra}
