"""What a buyer needs to see of an archived email next to an exception: who wrote it, its
subject and Message-ID, and what in it could not be read (each item says where)."""

from __future__ import annotations

from typing import Any

from gateway.persistence.models import InboundMessage
from mappings.registry import reader_for
from parsers.errors import ProblemCode, Severity
from parsers.mime import MimeError, parse_email

_SNIFF_BYTES = 4096


def email_summary(message: InboundMessage) -> dict[str, Any] | None:
    """The email's From, subject, Message-ID and unread parts; None for a message that is not
    an email (an EDIFACT file, say)."""
    reader = reader_for(message.raw[:_SNIFF_BYTES], message.filename or "")
    if reader is None or reader.name != "email":
        return None
    try:
        parsed = parse_email(message.raw)
    except MimeError:
        return None
    # As processing lists them (mappings.email.message.unread_problems): every error, the
    # specific ones before the summing-up "nothing readable".
    errors = [p for p in message.problems or [] if p.get("severity") == Severity.ERROR.value]
    unread = [p.get("detail") for p in sorted(
        errors, key=lambda p: p.get("code") == ProblemCode.NOTHING_READABLE.value)]
    return {"from": parsed.from_address, "subject": parsed.subject,
            "message_id": parsed.message_id, "unread": unread}
