"""Discrepancies, their risk, and the life cycle of the exception a buyer works on.

A `Discrepancy` is what reconciliation finds; the persistence layer turns it into an exception
row, or updates the open one with the same `key` (repeated evidence does not flood the queue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from gateway.domain.tolerances import Severity
from gateway.errors import InvalidTransition


class DiscrepancyCode(StrEnum):
    """docs/architecture.md, "Discrepancy codes" (extend, do not rename)."""

    QTY_SHORT = "QTY_SHORT"
    QTY_OVER = "QTY_OVER"
    DATE_LATE = "DATE_LATE"
    DATE_EARLY = "DATE_EARLY"
    PRICE_CHANGED = "PRICE_CHANGED"
    LINE_REJECTED = "LINE_REJECTED"
    ORDER_REJECTED = "ORDER_REJECTED"
    LINE_NOT_CONFIRMED = "LINE_NOT_CONFIRMED"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    UNKNOWN_LINE = "UNKNOWN_LINE"
    AMBIGUOUS_LINE = "AMBIGUOUS_LINE"
    ITEM_MISMATCH = "ITEM_MISMATCH"
    UNIT_MISMATCH = "UNIT_MISMATCH"
    OVER_SHIPPED = "OVER_SHIPPED"
    SHORT_SHIPPED = "SHORT_SHIPPED"
    SHIPPED_UNCONFIRMED = "SHIPPED_UNCONFIRMED"
    DUPLICATE_DOCUMENT = "DUPLICATE_DOCUMENT"
    CONFIRMATION_OVERDUE = "CONFIRMATION_OVERDUE"
    DESPATCH_OVERDUE = "DESPATCH_OVERDUE"
    DELIVERY_OVERDUE = "DELIVERY_OVERDUE"
    # An email answer, or part of one, that could not be read with confidence.
    UNREADABLE_REPLY = "UNREADABLE_REPLY"
    # A supplier's message that processing failed on (not for a transient reason): IT has it
    # as `failed`, the buyer must know the supplier said something nobody has read.
    MESSAGE_FAILED = "MESSAGE_FAILED"
    # Mail that claims a supplier but is not authenticated as one of its domains: what it said
    # is kept and shown, and applied only once a buyer acts (docs/mail-authentication.md).
    UNVERIFIED_SENDER = "UNVERIFIED_SENDER"
    # A supplier line with values but no confirmation or rejection (no status word, no code).
    LINE_UNCLEAR = "LINE_UNCLEAR"
    # A message the gateway meant to send (an acknowledgement, a reply, an alert) that the
    # other side refused for good: IT fixes the address or the relay and retries it.
    OUTBOUND_FAILED = "OUTBOUND_FAILED"
    # An AS2 certificate, ours or a partner's, that expires soon or has expired: IT renews it
    # before traffic stops (docs/as2.md).
    CERTIFICATE_EXPIRING = "CERTIFICATE_EXPIRING"
    # A changed AS2 partner file (or a key or certificate it names) that does not load: the
    # endpoint keeps the previous one in service until IT fixes it (docs/as2.md).
    AS2_PARTNER_FILE_REJECTED = "AS2_PARTNER_FILE_REJECTED"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """What was expected, what the supplier said, by how much, and which rule fired."""

    code: DiscrepancyCode
    severity: Severity
    order_number: str | None
    line_no: str | None
    expected: str | None
    actual: str | None
    difference: str | None
    rule: str
    tolerance: str | None
    risk: float
    position: int | None = None
    owner: str | None = None
    # Set for a problem each message has of its own (UNREADABLE_REPLY): one exception per
    # message, not one per order line.
    message_id: int | None = None

    @property
    def key(self) -> str:
        key = discrepancy_key(self.code, self.order_number, self.line_no)
        return key if self.message_id is None else message_key(key, self.message_id)


def discrepancy_key(code: DiscrepancyCode, order_number: str | None,
                    line_no: str | None) -> str:
    """The identity of a problem: the same code on the same order line is one exception."""
    return f"{code}|{order_number or ''}|{line_no or ''}"


def message_key(key: str, message_id: int) -> str:
    """The identity of one message's own problem of the kind `key` names."""
    return f"{key}|#{message_id}"


def of_message(key: str) -> tuple[str, int] | None:
    """The problem key and the message of a `message_key`; None for any other key."""
    base, _, message = key.rpartition("|#")
    return (base, int(message)) if base and message.isdigit() else None


_TEXT_LIMIT = 200  # the longest expected/actual text an exception keeps


def unreadable_reply(order_number: str | None, unread: list[str], position: int | None,
                     owner: str | None, message_id: int) -> Discrepancy:
    """What a supplier's email said that was not read with confidence (each item says where:
    "line 7 of the email body: ...", "attachment 'x.xlsx' (part 2): sheet 'S' row 4: ..."):
    the buyer reads the email and answers it; nothing of it was guessed. One exception per
    email: each unreadable email stays visible with its own reasons. A later answer that is
    read (a line of the order confirmed or rejected) resolves it (see `ExceptionLedger`)."""
    first = unread[0]
    more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
    if len(first) + len(more) > _TEXT_LIMIT:
        first = first[: _TEXT_LIMIT - len(more) - 1] + "…"
    return Discrepancy(
        DiscrepancyCode.UNREADABLE_REPLY, Severity.MEDIUM, order_number, None,
        "an answer read with confidence", first + more, f"{len(unread)} part(s) not read",
        "what cannot be read with confidence goes to the buyer, never a guessed confirmation",
        None, risk_score(Severity.MEDIUM, 1, Decimal(0), None), position, owner, message_id)


def message_failed(reason: str, message_id: int) -> Discrepancy:
    """A supplier's message the gateway failed on: nothing of it was applied. High: whatever
    the supplier said (a changed date, a rejected line) is unknown until it is read or IT
    retries it; resolved when a retry processes it."""
    shown = reason if len(reason) <= _TEXT_LIMIT else reason[: _TEXT_LIMIT - 1] + "…"
    return Discrepancy(
        DiscrepancyCode.MESSAGE_FAILED, Severity.HIGH, None, None,
        "the supplier's message processed", shown, None,
        "a message of a known supplier failed; IT retries it once the cause is fixed, the "
        "buyer reads it meanwhile", None, risk_score(Severity.HIGH, 1, Decimal(0), None),
        None, None, message_id)


def outbound_failed(what: str, reason: str) -> Discrepancy:
    """A message the gateway could not send and stopped trying (`what`: "alert #12 by smtp"):
    the supplier or buyer it was meant for has not heard what the gateway decided. High;
    resolved when a retry sends it."""
    shown = reason if len(reason) <= _TEXT_LIMIT else reason[: _TEXT_LIMIT - 1] + "…"
    return Discrepancy(
        DiscrepancyCode.OUTBOUND_FAILED, Severity.HIGH, None, None, f"{what} delivered",
        shown, None, "an outbound message failed for good; IT fixes the cause and runs "
        "`gateway outbox retry`", None, risk_score(Severity.HIGH, 1, Decimal(0), None))


def certificate_expiring(whose: str, subject: str, not_after: str, days_left: int
                         ) -> Discrepancy:
    """An AS2 certificate (`whose`: "ours BUYER-AS2", "partner ACME-AS2") that expires in
    `days_left` days (negative: expired). High within a week, medium before."""
    severity = Severity.HIGH if days_left <= 7 else Severity.MEDIUM
    actual = (f"{subject} expired on {not_after}" if days_left < 0
              else f"{subject} expires on {not_after}, in {days_left} day(s)")
    return Discrepancy(
        DiscrepancyCode.CERTIFICATE_EXPIRING, severity, None, None,
        f"the AS2 certificate of {whose} valid", actual[:_TEXT_LIMIT], None,
        "an AS2 certificate near its end: IT lists the renewed one beside it in the partner "
        "file (both are used by their dates) before it expires", None,
        risk_score(severity, 1, Decimal(0), max(days_left, 0)))


def partner_file_rejected(path: str, reason: str) -> Discrepancy:
    """A changed AS2 partner file that does not load: traffic goes on with the previous one,
    but a renewal listed in it is not in service. High."""
    shown = reason if len(reason) <= _TEXT_LIMIT else reason[: _TEXT_LIMIT - 1] + "…"
    return Discrepancy(
        DiscrepancyCode.AS2_PARTNER_FILE_REJECTED, Severity.HIGH, None, None,
        f"the changed AS2 partner file {path} loads", shown, None,
        "a changed AS2 partner file, key or certificate that does not load: the previous one "
        "stays in service until IT fixes it", None,
        risk_score(Severity.HIGH, 1, Decimal(0), None))


def risk_score(severity: Severity, magnitude: Decimal | float, line_value: Decimal,
               days_to_need: int | None) -> float:
    """Grows with the size of the deviation, the line's value and the nearness of the need date.

    severity weight (1-3) x (1 + deviation, capped at 3) x (1 + log10(1 + value))
    x urgency (4 when needed today or overdue, falling towards 1 over the weeks; 1.5 unknown).
    """
    deviation = min(abs(float(magnitude)), 3.0)
    value = 1.0 + math.log10(1.0 + max(float(line_value), 0.0))
    urgency = 1.5 if days_to_need is None else 1.0 + 3.0 / (1.0 + max(days_to_need, 0) / 7.0)
    return round(severity.weight * (1.0 + deviation) * value * urgency, 1)


class ExceptionState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ACCEPTED_CHANGE = "accepted_change"
    REJECTED_CHANGE = "rejected_change"


_CLOSED = frozenset({ExceptionState.RESOLVED, ExceptionState.ACCEPTED_CHANGE,
                     ExceptionState.REJECTED_CHANGE})

EXCEPTION_TRANSITIONS: dict[ExceptionState, frozenset[ExceptionState]] = {
    ExceptionState.OPEN: frozenset({ExceptionState.ACKNOWLEDGED, *_CLOSED}),
    ExceptionState.ACKNOWLEDGED: frozenset({ExceptionState.OPEN, *_CLOSED}),
    # New evidence of the same problem reopens a resolved or rejected one.
    ExceptionState.RESOLVED: frozenset({ExceptionState.OPEN}),
    ExceptionState.REJECTED_CHANGE: frozenset({ExceptionState.OPEN}),
    ExceptionState.ACCEPTED_CHANGE: frozenset({ExceptionState.OPEN}),
}


def move_exception(current: ExceptionState, target: ExceptionState) -> ExceptionState:
    if target not in EXCEPTION_TRANSITIONS[current]:
        raise InvalidTransition("an exception", current, target)
    return target


def is_open(state: ExceptionState) -> bool:
    return state not in _CLOSED


OPEN_STATES = tuple(s.value for s in ExceptionState if is_open(s))
