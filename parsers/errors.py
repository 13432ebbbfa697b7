"""Errors the parsers raise, and the located problems they report without raising.

Exception tree::

    ParseError                  the root: nothing else escapes a parser
    └── EdifactError            the input cannot be read as EDIFACT at all
        ├── NotEdifactError     no UNA, UNB or UNH where an interchange must start
        ├── ServiceStringError  a UNA service string advice that cannot be used
        └── SegmentTooLongError no segment terminator within the longest segment accepted
    ├── X12Error                the input cannot be read as ANSI X12 at all (an unusable ISA)
    │   ├── NotX12Error         no ISA where an interchange must start
    │   └── X12SegmentTooLongError  no segment terminator within the longest segment accepted
    └── XmlError                an XML document (UBL, cXML) that cannot be read
        ├── MalformedXmlError   not well-formed: the error carries its line and column
        ├── ForbiddenXmlError   a DOCTYPE with entities, an external entity: never expanded
        └── XmlLimitError       over the size or depth accepted

A problem inside an otherwise readable file is not raised: it is a `Problem` record, located by
message and segment, so that the rest of a batch goes on (docs/architecture.md, "Transient and
permanent errors"). Each problem code carries the syntax error code of ISO 9735 code list 0085 that
a CONTRL message reports for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The most problems listed for one message (transaction set, document) and for one file
# outside its messages; the rest are counted in one OVER_LIMIT warning. One broken segment or
# value is one problem, so without a cap a file's problems grow with what it repeats (a
# million broken segments, a LIN of thousands of ids that are no GTINs), whatever the caps
# on segments and bytes.
MAX_PROBLEMS = 1_000


class Severity(StrEnum):
    """How bad a problem is: an error refuses the message, a warning only annotates it."""

    ERROR = "error"
    WARNING = "warning"


class ProblemCode(StrEnum):
    """What went wrong, in words that stay stable for scripts and tests."""

    NOT_EDIFACT = "NOT_EDIFACT"
    BAD_SERVICE_STRING = "BAD_SERVICE_STRING"
    CHARSET_MISMATCH = "CHARSET_MISMATCH"
    UNDECODABLE_BYTES = "UNDECODABLE_BYTES"
    UNSUPPORTED_SYNTAX = "UNSUPPORTED_SYNTAX"
    INVALID_SEGMENT_TAG = "INVALID_SEGMENT_TAG"
    TEXT_OUTSIDE_SEGMENT = "TEXT_OUTSIDE_SEGMENT"
    TYPOGRAPHIC_TERMINATOR = "TYPOGRAPHIC_TERMINATOR"
    WRAPPED_SEGMENT = "WRAPPED_SEGMENT"
    RELEASED_TERMINATOR = "RELEASED_TERMINATOR"
    MISSING_ENVELOPE = "MISSING_ENVELOPE"
    UNTERMINATED_SEGMENT = "UNTERMINATED_SEGMENT"
    SEGMENT_OUTSIDE_MESSAGE = "SEGMENT_OUTSIDE_MESSAGE"
    MESSAGE_NOT_TERMINATED = "MESSAGE_NOT_TERMINATED"
    INTERCHANGE_NOT_TERMINATED = "INTERCHANGE_NOT_TERMINATED"
    GROUP_NOT_TERMINATED = "GROUP_NOT_TERMINATED"
    COUNT_MISMATCH = "COUNT_MISMATCH"
    REFERENCE_MISMATCH = "REFERENCE_MISMATCH"
    MISSING_SEGMENT = "MISSING_SEGMENT"
    MISSING_VALUE = "MISSING_VALUE"
    UNSUPPORTED_MESSAGE = "UNSUPPORTED_MESSAGE"
    UNKNOWN_SEGMENT = "UNKNOWN_SEGMENT"
    UNKNOWN_QUALIFIER = "UNKNOWN_QUALIFIER"
    INVALID_DATE = "INVALID_DATE"
    INVALID_NUMBER = "INVALID_NUMBER"
    INVALID_CODE = "INVALID_CODE"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    # A character no database stores (NUL, a lone surrogate) in a value that is kept.
    INVALID_CHARACTER = "INVALID_CHARACTER"
    ASSUMED_VALUE = "ASSUMED_VALUE"
    AMBIGUOUS_VALUE = "AMBIGUOUS_VALUE"
    CONFLICTING_VALUES = "CONFLICTING_VALUES"
    UNREADABLE_TEXT = "UNREADABLE_TEXT"
    NOTHING_READABLE = "NOTHING_READABLE"
    SKIPPED_ROW = "SKIPPED_ROW"
    UNSUPPORTED_ATTACHMENT = "UNSUPPORTED_ATTACHMENT"
    # ANSI X12 and XML (UBL, cXML).
    NOT_X12 = "NOT_X12"
    MALFORMED_XML = "MALFORMED_XML"
    FORBIDDEN_XML = "FORBIDDEN_XML"
    OVER_LIMIT = "OVER_LIMIT"

    @property
    def contrl_code(self) -> str:
        """The ISO 9735 syntax error code (data element 0085) a CONTRL reports for this."""
        return _CONTRL_CODES.get(self, "18")


# ISO 9735 code list 0085 (syntax error, coded): 2 syntax version or level not supported,
# 12 invalid value, 13 missing, 15 not supported in this position, 18 unspecified error,
# 21 invalid character(s), 22 invalid service character(s), 28 references do not match,
# 29 control count does not match number of instances received, 33 invalid occurrence outside
# message, functional group and interchange, 37 invalid type of character(s).
_CONTRL_CODES: dict[ProblemCode, str] = {
    ProblemCode.NOT_EDIFACT: "18",
    ProblemCode.BAD_SERVICE_STRING: "22",
    ProblemCode.CHARSET_MISMATCH: "21",
    ProblemCode.UNDECODABLE_BYTES: "21",
    ProblemCode.UNSUPPORTED_SYNTAX: "2",
    ProblemCode.INVALID_SEGMENT_TAG: "12",
    ProblemCode.TEXT_OUTSIDE_SEGMENT: "33",
    ProblemCode.TYPOGRAPHIC_TERMINATOR: "22",
    ProblemCode.WRAPPED_SEGMENT: "22",
    ProblemCode.RELEASED_TERMINATOR: "22",
    ProblemCode.MISSING_ENVELOPE: "13",
    ProblemCode.UNTERMINATED_SEGMENT: "13",
    ProblemCode.SEGMENT_OUTSIDE_MESSAGE: "33",
    ProblemCode.MESSAGE_NOT_TERMINATED: "13",
    ProblemCode.INTERCHANGE_NOT_TERMINATED: "13",
    ProblemCode.GROUP_NOT_TERMINATED: "13",
    ProblemCode.COUNT_MISMATCH: "29",
    ProblemCode.REFERENCE_MISMATCH: "28",
    ProblemCode.MISSING_SEGMENT: "13",
    ProblemCode.MISSING_VALUE: "13",
    ProblemCode.UNSUPPORTED_MESSAGE: "15",
    ProblemCode.UNKNOWN_SEGMENT: "15",
    ProblemCode.UNKNOWN_QUALIFIER: "12",
    ProblemCode.INVALID_DATE: "12",
    ProblemCode.INVALID_NUMBER: "37",
    ProblemCode.INVALID_CODE: "12",
    ProblemCode.INVALID_IDENTIFIER: "12",
    ProblemCode.INVALID_CHARACTER: "21",
    # Email text and spreadsheets: a value with two readings or two values for one thing is an
    # invalid value (12); text that says nothing readable, or a row left out, is unspecified (18).
    ProblemCode.AMBIGUOUS_VALUE: "12",
    ProblemCode.CONFLICTING_VALUES: "12",
    ProblemCode.UNREADABLE_TEXT: "18",
    ProblemCode.NOTHING_READABLE: "18",
    ProblemCode.SKIPPED_ROW: "18",
    # An email attachment in a format not read (pdf, image, Outlook TNEF): not supported (15).
    ProblemCode.UNSUPPORTED_ATTACHMENT: "15",
    # Not X12 or XML the gateway can read: unspecified (18); a forbidden DTD construct: not
    # supported (15); over a size or depth limit: unspecified (18).
    ProblemCode.NOT_X12: "18",
    ProblemCode.MALFORMED_XML: "18",
    ProblemCode.FORBIDDEN_XML: "15",
    ProblemCode.OVER_LIMIT: "18",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A located problem: where (message, segment, tag) and what, in plain words.

    `message_index` counts messages in the file from 1. `segment` is the segment's position in
    its message (UNH is 1, as CONTRL counts) when `message_index` is set, else its position in the
    file.
    """

    severity: Severity
    code: ProblemCode
    detail: str
    message_index: int | None = None
    segment: int | None = None
    tag: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, str | int | None]:
        """Where and what, as plain values (the README's JSON contract, less the file)."""
        return {"message_index": self.message_index, "segment": self.segment, "tag": self.tag,
                "code": self.code.value, "severity": self.severity.value,
                "contrl_code": self.code.contrl_code, "detail": self.detail}


class ParseError(Exception):
    """Root of every error a parser raises. Not retryable: the same bytes fail the same way."""

    retryable = False

    def __init__(self, code: ProblemCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def as_problem(self) -> Problem:
        return Problem(Severity.ERROR, self.code, self.detail)


class EdifactError(ParseError):
    """The input cannot be read as EDIFACT at all."""


class NotEdifactError(EdifactError):
    """No UNA, UNB or UNH where an EDIFACT interchange must start."""


class ServiceStringError(EdifactError):
    """A UNA service string advice whose separators cannot be used."""


class SegmentTooLongError(EdifactError):
    """No segment terminator within the longest segment accepted: refused, not buffered."""


class X12Error(ParseError):
    """The input cannot be read as ANSI X12 at all."""


class NotX12Error(X12Error):
    """No ISA where an X12 interchange must start."""


class X12SegmentTooLongError(X12Error):
    """No segment terminator within the longest segment accepted: refused, not buffered."""


class XmlError(ParseError):
    """An XML document that cannot be read; `line` and `column` locate it when known."""

    def __init__(self, code: ProblemCode, detail: str, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(code, detail)
        self.line = line
        self.column = column


class MalformedXmlError(XmlError):
    """Not well-formed XML."""


class ForbiddenXmlError(XmlError):
    """A construct that is never processed: an entity declaration, an external entity."""


class XmlLimitError(XmlError):
    """Over the size or nesting depth accepted."""
