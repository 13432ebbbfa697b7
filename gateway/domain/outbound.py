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

from dataclasses import dataclass, field
from enum import StrEnum


class OutboundKind(StrEnum):
    """Why a message leaves; the outbox lists and filters by it."""

    CONTRL = "contrl"
    APERAK = "aperak"
    EMAIL_REPLY = "email_reply"
    REMINDER = "reminder"
    ALERT = "alert"
    DIGEST = "digest"


class Transport(StrEnum):
    """How it leaves. `file` (a Maildir-like drop folder) is the embedded default."""

    SMTP = "smtp"
    WEBHOOK = "webhook"
    FILE = "file"


class OutboundState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


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
