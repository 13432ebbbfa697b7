"""What the gateway sends: one draft shape for every outbound message.

Services that decide to answer (acknowledgements to suppliers, alerts to buyers, reminders)
build an `OutboundDraft` with the exact bytes to put on the wire and hand it to the outbox in
the same transaction as the decision (`gateway.services.outbox.enqueue`). The outbox never
builds or parses a payload: it stores the bytes, sends them through the named transport and
records every attempt.

`wire_id` is the identity the receiver sees (an email's Message-ID, an EDIFACT interchange
control reference, a webhook's delivery id). It is fixed when the draft is made and reused on
every attempt, so a crash between sending and recording at worst repeats a message the
receiver recognises as the same one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.errors import InvalidTransition


class OutboundKind(StrEnum):
    """Why a message leaves; the outbox lists and filters by it."""

    CONTRL = "contrl"
    APERAK = "aperak"
    FUNCTIONAL_ACK = "functional_ack"  # an X12 997 or 999
    EMAIL_REPLY = "email_reply"
    REMINDER = "reminder"
    REJECTION = "rejection"       # a buyer does not accept a supplier's change
    ALERT = "alert"
    DIGEST = "digest"
    MDN = "mdn"                   # an AS2 receipt sent asynchronously (gateway.channels.as2)


class Transport(StrEnum):
    """How it leaves. `file` (a Maildir-like drop folder) is the embedded default."""

    SMTP = "smtp"
    WEBHOOK = "webhook"
    FILE = "file"
    AS2 = "as2"          # POSTed to an AS2 partner, its MDN checked (docs/as2.md)


class OutboundState(StrEnum):
    """The life of an outbound row (`OUTBOUND_TRANSITIONS`).

    `pending` waits for its next attempt; `sending` is claimed by a sender (a sender that died
    leaves it there until the sweep gives it back); `sent` is final; `failed` stopped on a
    permanent failure (IT retries it once the cause is fixed); `cancelled` by an operator;
    `suppressed` was decided and deliberately never sent (loop protection, a rate cap), kept
    with why. `awaiting_mdn` was taken by an AS2 partner that answers with an asynchronous
    MDN (RFC 4130 section 7.3): the MDN makes it `sent` or `failed`, and no MDN by its
    `next_attempt_at` (the partner's window) makes it `failed`; a positive MDN that comes
    after that still makes it `sent` (the partner has it).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"
    AWAITING_MDN = "awaiting_mdn"


_O = OutboundState
OUTBOUND_TRANSITIONS: dict[OutboundState, frozenset[OutboundState]] = {
    _O.PENDING: frozenset({_O.SENDING, _O.CANCELLED}),
    # An attempt ends sent, back to pending (a transient failure: retried later, or a sender
    # lost mid-attempt: given back by the sweep) or failed (a permanent failure).
    _O.SENDING: frozenset({_O.SENT, _O.PENDING, _O.FAILED, _O.AWAITING_MDN}),
    # Its MDN decides (an asynchronous MDN may also come while the row is still `sending`:
    # the partner answered before the sender recorded the POST).
    _O.AWAITING_MDN: frozenset({_O.SENT, _O.FAILED, _O.CANCELLED}),
    _O.SENT: frozenset(),
    # IT retries a failed or cancelled row once the cause is fixed, with the same wire id. A
    # row failed for want of an asynchronous MDN is `sent` when a positive one comes late.
    _O.FAILED: frozenset({_O.PENDING, _O.CANCELLED, _O.SENT}),
    _O.CANCELLED: frozenset({_O.PENDING}),
    _O.SUPPRESSED: frozenset(),
}

# States a sender still has work in; the others are final until someone acts.
ACTIVE_STATES = frozenset({_O.PENDING, _O.SENDING})


def move_outbound(current: OutboundState, target: OutboundState) -> OutboundState:
    if target not in OUTBOUND_TRANSITIONS[current]:
        raise InvalidTransition("an outbound message", current, target)
    return target


def sources_of(target: OutboundState) -> frozenset[OutboundState]:
    """The states a row may be in to move to `target` (for guarded UPDATEs)."""
    return frozenset(state for state, targets in OUTBOUND_TRANSITIONS.items()
                     if target in targets)


class AttemptOutcome(StrEnum):
    """How one attempt ended, as recorded beside the row."""

    SENT = "sent"
    TRANSIENT = "transient"   # try again later with the same wire id
    PERMANENT = "permanent"   # trying again cannot help: the row fails


def retry_delay(attempts: int, base: float, cap: float,
                rand: Callable[[], float]) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: exponential back-off with full
    jitter, a random wait between 0 and `base` doubled per attempt, at most `cap` (AWS
    Architecture Blog, "Exponential Backoff And Jitter", 2015), so rows that met the same
    outage do not all come back in the same second."""
    return rand() * min(cap, base * 2.0 ** min(max(attempts - 1, 0), 32))


@dataclass(frozen=True)
class OutboundDraft:
    """One message to send, complete: the outbox adds nothing to `payload`.

    For `Transport.SMTP` (and a `Transport.FILE` drop of an email) the payload is a whole
    RFC 5322 message whose Message-ID header equals `wire_id` in angle brackets; `sender` is the
    envelope MAIL FROM and `recipient` the RCPT TO. For `Transport.WEBHOOK` the payload is the
    HTTP body, `recipient` the URL and `headers` the extra HTTP headers (a signature, say).
    """

    kind: OutboundKind
    transport: Transport
    recipient: str
    payload: bytes
    wire_id: str
    reason: str
    sender: str = ""
    content_type: str = "message/rfc822"
    headers: tuple[tuple[str, str], ...] = ()
    supplier_code: str | None = None
    message_id: int | None = None
    exception_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
