"""Email (RFC 5322, MIME): one raw message in, a `ParsedEmail` with located problems out.

Syntax only: addresses, subject, date, the body as text, HTML tables, attachments and forwarded
messages. What a body or an attachment says about an order is decided in `mappings/`.
"""

from parsers.mime.charsets import DecodedText, decode_labelled, decode_unlabelled
from parsers.mime.errors import (
    EmptyMessageError,
    HtmlError,
    MailProblem,
    MailProblemCode,
    MessageTooLargeError,
    MimeError,
)
from parsers.mime.headers import safe_filename
from parsers.mime.html import html_tables, html_to_text
from parsers.mime.message import header_sender, parse_email
from parsers.mime.model import Attachment, Disposition, Mailbox, MailLimits, ParsedEmail

__all__ = [
    "Attachment",
    "DecodedText",
    "Disposition",
    "EmptyMessageError",
    "HtmlError",
    "MailLimits",
    "MailProblem",
    "MailProblemCode",
    "Mailbox",
    "MessageTooLargeError",
    "MimeError",
    "ParsedEmail",
    "decode_labelled",
    "decode_unlabelled",
    "header_sender",
    "html_tables",
    "html_to_text",
    "parse_email",
    "safe_filename",
]
