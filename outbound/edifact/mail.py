"""An acknowledgement interchange sent by email: the supplier's way back until AS2.

RFC 1767 registers `application/EDIFACT` for an EDIFACT interchange in MIME; it is attached
whole and base64-encoded (the interchange may hold 8-bit text, and no line may be rewrapped).
The Message-ID is fixed by the caller from the interchange control reference, so every attempt
to send the same acknowledgement carries the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


@dataclass(frozen=True, slots=True)
class AckMail:
    """Who writes to whom, and what the interchange is."""

    sender: str
    recipient: str
    message_id: str  # without angle brackets
    subject: str
    text: str
    filename: str


def ack_email(mail: AckMail, interchange: bytes, prepared: datetime) -> bytes:
    """The whole RFC 5322 message: a short text part and the interchange attached."""
    message = EmailMessage(policy=SMTP)
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(prepared)
    message["Message-ID"] = f"<{mail.message_id}>"
    # An automatic answer (RFC 3834 section 5): no auto-reply should answer it in turn.
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(mail.text)
    message.add_attachment(interchange, maintype="application", subtype="EDIFACT",
                           filename=mail.filename)
    return message.as_bytes()
