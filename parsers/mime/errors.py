"""Problems found in an email, located by MIME part, and the errors that refuse one outright.

Exception tree (under the parsers' root, `parsers.errors.ParseError`)::

    ParseError
    └── MimeError               an email that cannot be read at all
        ├── EmptyMessageError   no header and no body
        ├── MessageTooLargeError    more bytes than the configured maximum
        └── HtmlError           an HTML body lxml cannot parse

Anything else wrong inside a readable email (a header that does not parse, a charset that does
not match its bytes, broken base64, an attachment past a limit) is a `MailProblem`: the email is
still returned, with the problem located by its part path. Part paths number parts as IMAP does
(RFC 3501 section 6.4.5): "1", "2.1" ...; the top-level header is the empty path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from parsers.errors import ParseError, ProblemCode, Severity


class MailProblemCode(StrEnum):
    """What was wrong with an email, stable for scripts and tests."""

    MALFORMED_HEADER = "MALFORMED_HEADER"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    INVALID_DATE = "INVALID_DATE"
    MISSING_HEADER = "MISSING_HEADER"
    MALFORMED_STRUCTURE = "MALFORMED_STRUCTURE"
    UNKNOWN_CHARSET = "UNKNOWN_CHARSET"
    CHARSET_MISMATCH = "CHARSET_MISMATCH"
    UNDECLARED_CHARSET = "UNDECLARED_CHARSET"
    BAD_TRANSFER_ENCODING = "BAD_TRANSFER_ENCODING"
    UNKNOWN_TRANSFER_ENCODING = "UNKNOWN_TRANSFER_ENCODING"
    UNSAFE_FILENAME = "UNSAFE_FILENAME"
    UNSUPPORTED_ATTACHMENT = "UNSUPPORTED_ATTACHMENT"
    TOO_MANY_ATTACHMENTS = "TOO_MANY_ATTACHMENTS"
    ATTACHMENTS_TOO_LARGE = "ATTACHMENTS_TOO_LARGE"
    TOO_DEEPLY_NESTED = "TOO_DEEPLY_NESTED"
    TOO_MANY_PARTS = "TOO_MANY_PARTS"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    UNREADABLE_HTML = "UNREADABLE_HTML"


@dataclass(frozen=True, slots=True)
class MailProblem:
    """A located problem in an email: which part (IMAP part path, "" for the top-level header)
    and what, in words a supplier's IT person understands."""

    severity: Severity
    code: MailProblemCode
    detail: str
    part: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, str]:
        return {"part": self.part, "code": self.code.value, "severity": self.severity.value,
                "detail": self.detail}


def warning(code: MailProblemCode, detail: str, part: str) -> MailProblem:
    return MailProblem(Severity.WARNING, code, detail, part)


def error(code: MailProblemCode, detail: str, part: str) -> MailProblem:
    return MailProblem(Severity.ERROR, code, detail, part)


class MimeError(ParseError):
    """An email that cannot be read at all. Not retryable: the same bytes fail the same way."""

    mail_code: ClassVar[MailProblemCode] = MailProblemCode.MALFORMED_STRUCTURE
    # The nearest code of the parsers' shared list, for callers that report any ParseError.
    generic_code: ClassVar[ProblemCode] = ProblemCode.UNDECODABLE_BYTES

    def __init__(self, detail: str) -> None:
        super().__init__(self.generic_code, detail)

    def as_mail_problem(self, part: str = "") -> MailProblem:
        return error(self.mail_code, self.detail, part)


class EmptyMessageError(MimeError):
    """The input holds no header and no body."""

    generic_code = ProblemCode.MISSING_VALUE


class MessageTooLargeError(MimeError):
    """The raw message is larger than the configured maximum; it is refused unread."""

    generic_code = ProblemCode.UNSUPPORTED_SYNTAX


class HtmlError(MimeError):
    """An HTML body that lxml cannot parse even in recovering mode."""

    mail_code = MailProblemCode.UNREADABLE_HTML
