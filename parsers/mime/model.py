"""An email as read: addresses, subject, date, the body as text, attachments, forwarded messages.

Syntax only (RFC 5322 and MIME, RFC 2045-2049): what the supplier wrote and attached, never what
it means for an order. Every value is decoded text or bytes; nothing refers back to the stdlib
message object, so a `ParsedEmail` can be kept, compared and sent between processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from parsers.mime.errors import MailProblem

MiB = 1024 * 1024


class Disposition(StrEnum):
    """How the sender meant a part to be shown (Content-Disposition, RFC 2183)."""

    INLINE = "inline"
    ATTACHMENT = "attachment"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One address: the addr-spec lower-cased for matching (RFC 5321 lets the local part be
    case-sensitive; no mail system a supplier uses treats it so), and the display name decoded."""

    address: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A leaf part that is not the body: a file, an inline image, a calendar entry.

    `filename` is decoded (RFC 2231, RFC 2047) and reduced to a bare name: no directory, no drive,
    no control character. It is for display and for guessing a format, never a path to write to.
    `charset` is the declared charset of a text part, a hint for reading it (a CSV file).
    `part` is its IMAP part path (RFC 3501 section 6.4.5), e.g. "2" or "3.1.2".
    """

    filename: str | None
    content_type: str
    disposition: Disposition
    content: bytes
    part: str
    charset: str | None = None
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """One email. `text_body` is the text/plain body (the plain alternative when there are
    several), else text derived from the HTML body; `forwarded` holds the message/rfc822 parts,
    read the same way; `problems` holds what was wrong, located by part path."""

    message_id: str | None
    sender: Mailbox | None
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    subject: str | None
    date: datetime | None
    text_body: str | None
    html_body: str | None
    attachments: tuple[Attachment, ...]
    forwarded: tuple[ParsedEmail, ...]
    problems: tuple[MailProblem, ...]
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: tuple[Mailbox, ...] = ()
    part: str = ""

    @property
    def from_address(self) -> str | None:
        return self.sender.address if self.sender else None

    @property
    def from_name(self) -> str | None:
        return self.sender.name if self.sender else None

    def all_problems(self) -> tuple[MailProblem, ...]:
        """This email's problems and those of every forwarded message in it."""
        nested = tuple(problem for inner in self.forwarded for problem in inner.all_problems())
        return self.problems + nested


@dataclass(frozen=True, slots=True)
class MailLimits:
    """Limits on untrusted input (docs/architecture.md, "Caps and limits"). Past a limit, the rest
    is not decoded and a located error says so; the message itself is still returned (with only its
    top-level header when it has more than `max_parts` MIME parts, counted as they are split
    off, over all forwarded messages). `max_text_chars` bounds the body text read, plain and
    HTML, over the message and every message forwarded in it: the text readers' work is in
    proportion to it."""

    max_message_bytes: int = 64 * MiB
    max_attachments: int = 100
    max_total_bytes: int = 100 * MiB
    max_depth: int = 10
    max_parts: int = 500
    max_text_chars: int = 2 * MiB
