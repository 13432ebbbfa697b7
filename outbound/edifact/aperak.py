"""APERAK, the application error and acknowledgement message (UN/EDIFACT D.96A).

    UNH  APERAK:D:96A:UN (with the EANCOM association code when the message answered was
         EANCOM: APERAK:D:96A:UN:EAN001)
    BGM  our document number for this APERAK; 1225 = 27 (not accepted) when an error is
         reported, 6 (confirmation) when the message was read without one. Under EANCOM the
         document name is 12E::9 (EANCOM's code for APERAK)
    DTM  137: when it was prepared (CCYYMMDDHHMM, format 203)
    RFF  ACW: the reference (0062) of the message answered;
    RFF  the document at fault: POR (order response number), AAK (despatch advice number),
         ON (order number), with DTM 171 its date when known
    ERC  one per problem: the error code (9321) assigned by the buyer (3055 = 92), see
         `ErrorKind`
      FTX  AAO: the error in words (up to 5 x 70 characters)
      RFF  ON: the order and its line number (1154:1156) the problem concerns
    UNT
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from outbound.edifact.envelope import (
    Element,
    MessageIdentifier,
    Segment,
    Written,
    line,
    segment,
    segment_line,
    wrap_message,
)

# What a builder below makes of each segment: a `Segment` (`segment`), or its line of text
# (`line`, the same text `serialize` writes of the segment).
T = TypeVar("T")


class ErrorKind(StrEnum):
    """The application error codes this gateway sends in ERC 9321 (an..8), with 3055 = 92
    (assigned by the buyer): a partner maps them once. docs/formats.md lists them."""

    UNKNOWN_ORDER = "10"
    UNKNOWN_LINE = "11"
    AMBIGUOUS_LINE = "12"
    ITEM_MISMATCH = "20"
    QUANTITY_TOLERANCE = "30"
    DATE_TOLERANCE = "31"
    PRICE_TOLERANCE = "32"
    UNIT_DIFFERS = "33"
    OVER_SHIPPED = "34"
    DUPLICATE_DOCUMENT = "40"
    UNREADABLE_VALUE = "50"


# The responsible agency of the codes above: 92, assigned by the buyer or buyer's agent.
_BUYER_AGENCY = "92"
_FTX_PART = 70
_FTX_PARTS = 5


@dataclass(frozen=True, slots=True)
class AperakError:
    """One problem: its kind, what is wrong in words, and the order line it concerns."""

    kind: ErrorKind
    text: str
    order_number: str | None = None
    line_no: str | None = None


# RFF qualifiers (1153) for the document answered, by the received message type.
DOCUMENT_QUALIFIERS = {"ORDRSP": "POR", "DESADV": "AAK", "ORDERS": "ON"}


@dataclass(frozen=True, slots=True)
class AperakMessage:
    """The application's answer to one received message."""

    number: str
    prepared: datetime
    answered: MessageIdentifier
    document_number: str | None
    document_date: date | None
    errors: tuple[AperakError, ...]

    @property
    def function(self) -> str:
        return "27" if self.errors else "6"


def aperak_identifier(reference: str, answered: MessageIdentifier) -> MessageIdentifier:
    eancom = answered.association.upper().startswith("EAN")
    return MessageIdentifier(reference, "APERAK", "D", "96A", "UN",
                             "EAN001" if eancom else "")


def aperak_segments(message: AperakMessage, reference: str = "1") -> list[Segment]:
    """The APERAK message (UNH ... UNT) answering one received message."""
    identifier = aperak_identifier(reference, message.answered)
    body = _head(message, prepared_stamp(message.prepared), segment)
    for error in message.errors:
        body += _error_group(error)
    return wrap_message(identifier, body)


def aperaks_written(messages: Sequence[AperakMessage]) -> Written:
    """The text `serialize` writes of `aperak_segments(message, str(n))` for each message,
    numbered from 1, written line by line without segment objects for the head of each (all
    of a message without an error); each preparation time is formatted once."""
    lines: list[str] = []
    stamps: dict[datetime, str] = {}
    for number, message in enumerate(messages, 1):
        stamp = stamps.get(message.prepared)
        if stamp is None:
            stamp = stamps[message.prepared] = prepared_stamp(message.prepared)
        body = _head(message, stamp, line)
        for error in message.errors:
            body += [segment_line(s) for s in _error_group(error)]
        reference = str(number)
        lines += [line("UNH", reference, aperak_identifier(reference, message.answered)
                       .composite()), *body, line("UNT", str(len(body) + 2), reference)]
    return Written("".join(lines), len(lines))


def prepared_stamp(prepared: datetime) -> str:
    """DTM 137 in format 203 (CCYYMMDDHHMM)."""
    return prepared.strftime("%Y%m%d%H%M")


def _head(message: AperakMessage, stamp: str, write: Callable[..., T]) -> list[T]:
    """BGM, DTM 137 (`stamp`), RFF ACW, and the document answered (RFF, DTM 171)."""
    eancom = message.answered.association.upper().startswith("EAN")
    name: Element = ["12E", "", "9"] if eancom else ""
    head = [write("BGM", name, message.number, message.function),
            write("DTM", ["137", stamp, "203"]),
            write("RFF", ["ACW", message.answered.reference])]
    qualifier = DOCUMENT_QUALIFIERS.get(message.answered.type)
    if message.document_number and qualifier:
        head.append(write("RFF", [qualifier, message.document_number]))
        if message.document_date is not None:
            head.append(write("DTM", ["171", _ccyymmdd(message.document_date), "102"]))
    return head


def _ccyymmdd(day: date) -> str:
    """`day.strftime("%Y%m%d")`, without strftime's cost for the usual four-digit year;
    strftime itself for a year before 1000, which it writes without leading zeros."""
    if day.year < 1000:
        return day.strftime("%Y%m%d")
    return f"{day.year}{day.month:02d}{day.day:02d}"


def _error_group(error: AperakError) -> list[Segment]:
    group = [segment("ERC", [error.kind.value, "", _BUYER_AGENCY]),
             segment("FTX", "AAO", "", "", text_parts(error.text))]
    if error.order_number:
        reference = [error.order_number, error.line_no] if error.line_no else \
            [error.order_number]
        group.append(segment("RFF", ["ON", *reference]))
    return group


def text_parts(text: str) -> list[str]:
    """Free text as C108: up to five components of 70 characters, cut at spaces where it can
    be; what does not fit ends with '...'."""
    words = " ".join(text.split())
    parts: list[str] = []
    while words and len(parts) < _FTX_PARTS:
        if len(words) <= _FTX_PART:
            parts.append(words)
            words = ""
            break
        cut = words.rfind(" ", 0, _FTX_PART + 1)
        cut = cut if cut > 0 else _FTX_PART
        parts.append(words[:cut].rstrip())
        words = words[cut:].lstrip()
    if words and parts:
        parts[-1] = parts[-1][: _FTX_PART - 3].rstrip() + "..."
    return parts or [""]
