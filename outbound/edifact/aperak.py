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

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from outbound.edifact.envelope import Element, MessageIdentifier, Segment, segment, wrap_message


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
    name: Element = ["12E", "", "9"] if identifier.association else ""
    body = [segment("BGM", name, message.number, message.function),
            segment("DTM", ["137", message.prepared.strftime("%Y%m%d%H%M"), "203"]),
            segment("RFF", ["ACW", message.answered.reference])]
    qualifier = DOCUMENT_QUALIFIERS.get(message.answered.type)
    if message.document_number and qualifier:
        body.append(segment("RFF", [qualifier, message.document_number]))
        if message.document_date is not None:
            body.append(segment("DTM", ["171", message.document_date.strftime("%Y%m%d"),
                                        "102"]))
    for error in message.errors:
        body += _error_group(error)
    return wrap_message(identifier, body)


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
