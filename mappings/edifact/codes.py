"""EDIFACT code lists used by the mappings (UN/EDIFACT directories D93A-D10A, EANCOM 2002).

Only the codes whose meaning the gateway acts on are Enums; the other known codes are sets, so
that a code outside them can be reported as unknown instead of silently ignored.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.domain.documents import DocumentStatus, LineStatus
from parsers.edifact.directory import MESSAGE_SEGMENTS


class MessageFunction(StrEnum):
    """1225 Message function code (BGM)."""

    CANCELLATION = "1"
    CHANGE = "4"
    REPLACE = "5"
    DUPLICATE = "7"
    ORIGINAL = "9"
    NOT_ACCEPTED = "27"
    ACCEPTED_HEADING_AMENDED = "28"
    ACCEPTED = "29"
    ACCEPTED_DETAIL_AMENDED = "30"
    COPY = "31"
    CHANGE_IN_HEADING = "33"
    ACCEPTED_WITH_AMENDMENT = "34"
    RETRANSMISSION = "35"
    CHANGE_IN_DETAIL = "36"


FUNCTION_STATUS: dict[str, DocumentStatus] = {
    MessageFunction.ACCEPTED: DocumentStatus.ACCEPTED,
    MessageFunction.CHANGE: DocumentStatus.CHANGED,
    MessageFunction.ACCEPTED_HEADING_AMENDED: DocumentStatus.CHANGED,
    MessageFunction.ACCEPTED_DETAIL_AMENDED: DocumentStatus.CHANGED,
    MessageFunction.CHANGE_IN_HEADING: DocumentStatus.CHANGED,
    MessageFunction.ACCEPTED_WITH_AMENDMENT: DocumentStatus.CHANGED,
    MessageFunction.CHANGE_IN_DETAIL: DocumentStatus.CHANGED,
    MessageFunction.NOT_ACCEPTED: DocumentStatus.REJECTED,
    MessageFunction.REPLACE: DocumentStatus.REPLACED,
    MessageFunction.CANCELLATION: DocumentStatus.CANCELLED,
}

# Every 1225 code of the D96A-D10A directories (1-60 and a few lettered codes); a value outside
# is reported as invalid.
KNOWN_FUNCTIONS = frozenset({str(n) for n in range(1, 61)} | {"AB", "AC", "AD", "AF", "AG", "AH",
                                                               "AI", "AJ", "AK", "AL", "AP"})


class LineAction(StrEnum):
    """1229 Action request/notification description code (LIN)."""

    ADDED = "1"
    DELETED = "2"
    CHANGED = "3"
    NO_ACTION = "4"
    ACCEPTED = "5"
    ACCEPTED_WITH_AMENDMENT = "6"
    NOT_ACCEPTED = "7"
    NOT_FOUND = "10"
    NOT_AMENDED = "11"
    PROPOSED_AMENDMENT = "23"
    ACCEPTED_AMENDED_NO_CONFIRMATION = "24"


ACTION_STATUS: dict[str, LineStatus] = {
    LineAction.ADDED: LineStatus.ADDED,
    LineAction.DELETED: LineStatus.DELETED,
    LineAction.CHANGED: LineStatus.CHANGED,
    LineAction.ACCEPTED: LineStatus.ACCEPTED,
    LineAction.ACCEPTED_WITH_AMENDMENT: LineStatus.CHANGED,
    LineAction.NOT_ACCEPTED: LineStatus.REJECTED,
    LineAction.NOT_FOUND: LineStatus.REJECTED,
    LineAction.NOT_AMENDED: LineStatus.ACCEPTED,
    LineAction.PROPOSED_AMENDMENT: LineStatus.CHANGED,
    LineAction.ACCEPTED_AMENDED_NO_CONFIRMATION: LineStatus.CHANGED,
}

KNOWN_ACTIONS = frozenset(str(n) for n in range(1, 100))


class DateQualifier(StrEnum):
    """2005 Date or time or period function code qualifier (DTM)."""

    DELIVERY_REQUESTED = "2"
    SHIPMENT_REQUESTED = "10"
    DESPATCH = "11"
    DELIVERY_ESTIMATED = "17"
    EXPIRY = "36"
    AVAILABILITY = "44"
    DELIVERY_LATEST = "63"
    DELIVERY_EARLIEST = "64"
    DELIVERY_PROMISED = "69"
    ARRIVAL_ESTIMATED = "132"
    DOCUMENT = "137"
    BEST_BEFORE = "361"


class DateFormat(StrEnum):
    """2379 Date or time or period format code (DTM)."""

    CCYYMMDD = "102"
    CCYYMMDDHHMM = "203"
    CCYYMMDDHHMMSS = "204"
    YYMMDD = "101"
    YYMMDDHHMM = "201"
    YYMMDDHHMMSS = "202"
    CCYYMMDDHHMM_ZONE = "205"
    CCYYMMDD_RANGE = "718"
    CCYYMMDDHHMM_RANGE = "719"


class QuantityQualifier(StrEnum):
    """6063 Quantity type code qualifier (QTY)."""

    DISCRETE = "1"
    DESPATCH = "12"
    CONFIRMED_EDIT30 = "17"
    ORDERED = "21"
    PER_PACK = "52"
    TO_BE_DELIVERED = "113"


class PriceQualifier(StrEnum):
    """5125 Price code qualifier (PRI)."""

    NET = "AAA"
    GROSS = "AAB"


class ItemType(StrEnum):
    """7143 Item type identification code (LIN, PIA)."""

    GTIN = "EN"
    GTIN_EANCOM = "SRV"
    UPC = "UP"
    BUYER = "IN"
    BUYER_PART = "BP"
    SUPPLIER = "SA"
    VENDOR = "VN"
    BATCH = "NB"


GTIN_TYPES = frozenset({ItemType.GTIN, ItemType.GTIN_EANCOM, ItemType.UPC})
BUYER_TYPES = frozenset({ItemType.BUYER, ItemType.BUYER_PART})
SUPPLIER_TYPES = frozenset({ItemType.SUPPLIER, ItemType.VENDOR})


class ReferenceQualifier(StrEnum):
    """1153 Reference code qualifier (RFF)."""

    ORDER = "ON"
    CUSTOMER_REFERENCE = "CR"
    LINE_ITEM = "LI"
    CARRIER_REFERENCE = "CN"
    BILL_OF_LADING = "BM"
    TRANSPORT_DOCUMENT = "AAS"
    WAYBILL = "AAM"
    SHIPMENT_REFERENCE = "SRN"


TRACKING_REFERENCES: tuple[str, ...] = (
    ReferenceQualifier.CARRIER_REFERENCE,
    ReferenceQualifier.BILL_OF_LADING,
    ReferenceQualifier.WAYBILL,
    ReferenceQualifier.TRANSPORT_DOCUMENT,
    ReferenceQualifier.SHIPMENT_REFERENCE,
)


class IdentityQualifier(StrEnum):
    """7405 Object identification code qualifier (GIN)."""

    SSCC = "BJ"
    SSCC_EDIT30 = "SS"
    BATCH = "BX"


SSCC_QUALIFIERS = frozenset({IdentityQualifier.SSCC, IdentityQualifier.SSCC_EDIT30})

# 3035 Party function code qualifier: the roles that occur in order responses, despatch
# advices and orders.
KNOWN_PARTY_ROLES = frozenset({
    "BY", "SU", "DP", "ST", "IV", "SE", "CN", "CZ", "SF", "CA", "SH", "UC", "DEQ", "MF", "OB",
    "PE", "PR", "II", "UD", "FW", "LC", "LP", "MA", "OP", "PW", "RE", "WH", "CO", "BCO", "DL",
    "GY", "UP", "PD", "AB", "PF", "RB", "ZZZ", "SN", "BT", "DS", "FH", "LN", "MI", "OY", "PK",
    "SDT", "SR", "TR", "WPA", "HI", "ES", "CS", "DO", "TS", "AM", "NI", "PG",
})

# Segment tags of the ORDERS, ORDRSP and DESADV message structures: the parsers' directory.
KNOWN_SEGMENTS = MESSAGE_SEGMENTS
