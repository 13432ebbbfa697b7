"""X12 code lists the mappings act on (ASC X12 004010-008040 element dictionary).

Only the codes whose meaning the gateway acts on are named; the raw code is always kept
(`Line.action_code`, `Document.function_code`), and docs/formats.md has the tables.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.domain.documents import DocumentStatus, LineStatus


class LineItemStatus(StrEnum):
    """668 Line Item Status Code (ACK01 in the 855, SN108 in the 856)."""

    ACCEPTED_AND_SHIPPED = "AC"
    ACCEPTED_AND_RELEASED = "AR"
    ACCEPTED_BALANCE_BACKORDERED = "BP"
    ACCEPTED_DATE_RESCHEDULED = "DR"
    ACCEPTED = "IA"
    BACKORDERED = "IB"
    ACCEPTED_CHANGES_MADE = "IC"
    DELETED = "ID"
    ACCEPTED_PRICE_PENDING = "IE"
    ON_HOLD_INCOMPLETE_DESCRIPTION = "IF"
    ON_HOLD = "IH"
    ACCEPTED_PRICE_CHANGED = "IP"
    ACCEPTED_QUANTITY_CHANGED = "IQ"
    REJECTED = "IR"
    ACCEPTED_SUBSTITUTION = "IS"
    ON_HOLD_WAIVER_REQUIRED = "IW"
    REJECTED_NOT_CONTRACT_ITEM = "R1"
    REJECTED_INVALID_ITEM = "R2"
    REJECTED_MULTIPLE_ERRORS = "R3"
    REJECTED_NOT_ORDERABLE = "R4"
    ACCEPTED_SCHEDULE_DATE_PENDING = "SP"


# ACK01 onto the canonical line statuses. A backorder or a rescheduled date is a change of
# the promise (the quantity or the date differs from the order); a line on hold commits to
# nothing, so it has no status and the line stays unconfirmed.
LINE_STATUS: dict[str, LineStatus] = {
    LineItemStatus.ACCEPTED_AND_SHIPPED: LineStatus.ACCEPTED,
    LineItemStatus.ACCEPTED_AND_RELEASED: LineStatus.ACCEPTED,
    LineItemStatus.ACCEPTED: LineStatus.ACCEPTED,
    LineItemStatus.ACCEPTED_PRICE_PENDING: LineStatus.ACCEPTED,
    LineItemStatus.ACCEPTED_SCHEDULE_DATE_PENDING: LineStatus.ACCEPTED,
    LineItemStatus.ACCEPTED_BALANCE_BACKORDERED: LineStatus.CHANGED,
    LineItemStatus.ACCEPTED_DATE_RESCHEDULED: LineStatus.CHANGED,
    LineItemStatus.BACKORDERED: LineStatus.CHANGED,
    LineItemStatus.ACCEPTED_CHANGES_MADE: LineStatus.CHANGED,
    LineItemStatus.ACCEPTED_PRICE_CHANGED: LineStatus.CHANGED,
    LineItemStatus.ACCEPTED_QUANTITY_CHANGED: LineStatus.CHANGED,
    LineItemStatus.ACCEPTED_SUBSTITUTION: LineStatus.CHANGED,
    LineItemStatus.DELETED: LineStatus.DELETED,
    LineItemStatus.REJECTED: LineStatus.REJECTED,
    LineItemStatus.REJECTED_NOT_CONTRACT_ITEM: LineStatus.REJECTED,
    LineItemStatus.REJECTED_INVALID_ITEM: LineStatus.REJECTED,
    LineItemStatus.REJECTED_MULTIPLE_ERRORS: LineStatus.REJECTED,
    LineItemStatus.REJECTED_NOT_ORDERABLE: LineStatus.REJECTED,
}
KNOWN_LINE_STATUSES = frozenset(LineItemStatus)


# 587 Acknowledgment Type (BAK02) onto the document status.
ACKNOWLEDGMENT_STATUS: dict[str, DocumentStatus] = {
    "AC": DocumentStatus.CHANGED,   # acknowledge, with detail and change
    "AD": DocumentStatus.ACCEPTED,  # acknowledge, with detail, no change
    "AE": DocumentStatus.CHANGED,   # acknowledge, with exception detail only
    "AH": DocumentStatus.ACCEPTED,  # acknowledge, hold status
    "AK": DocumentStatus.ACCEPTED,  # acknowledge, no detail or change
    "AP": DocumentStatus.ACCEPTED,  # acknowledge, product replenishment
    "AT": DocumentStatus.ACCEPTED,  # accepted
    "RD": DocumentStatus.REJECTED,  # reject with detail
    "RF": DocumentStatus.REJECTED,  # reject with exception detail only
    "RJ": DocumentStatus.REJECTED,  # rejected, no detail
    "RO": DocumentStatus.REJECTED,  # rejected with counter offer
    "RV": DocumentStatus.REJECTED,  # rejected, validation errors
}
# 353 Transaction Set Purpose Code (BAK01, BEG01, BSN01): 01 cancels, 05 replaces.
PURPOSE_STATUS: dict[str, DocumentStatus] = {
    "01": DocumentStatus.CANCELLED,
    "03": DocumentStatus.CANCELLED,
    "05": DocumentStatus.REPLACED,
}


class DateQualifier(StrEnum):
    """374 Date/Time Qualifier (DTM01, ACK04)."""

    DELIVERY_REQUESTED = "002"
    SHIP_REQUESTED = "010"
    SHIPPED = "011"
    DELIVERY_ESTIMATED = "017"
    DELIVERY_SCHEDULED = "067"
    SHIP_SCHEDULED = "068"
    DELIVERY_PROMISED = "069"
    DELIVERY_REQUESTED_AFTER = "074"
    REQUIRED_BY = "106"
    PURCHASE_ORDER = "004"
    ACKNOWLEDGED = "009"


D = DateQualifier
# Which date is the supplier's delivery promise, best first (855 and 856), and the buyer's
# request (850): a ship date is never read as a delivery date.
PROMISED_DATES: tuple[str, ...] = (D.DELIVERY_SCHEDULED, D.DELIVERY_PROMISED,
                                   D.DELIVERY_ESTIMATED, D.DELIVERY_REQUESTED,
                                   D.DELIVERY_REQUESTED_AFTER, D.REQUIRED_BY)
REQUESTED_DATES: tuple[str, ...] = (D.DELIVERY_REQUESTED, D.DELIVERY_REQUESTED_AFTER,
                                    D.REQUIRED_BY)


# 235 Product/Service ID Qualifier (PO106..., LIN02..., ACK07...).
# UA (U.P.C./EAN case code, 2-5-5) has no check digit: kept as an id, not read as a GTIN.
GTIN_QUALIFIERS = frozenset({"UP", "UK", "EN", "EO", "UI", "UN"})
BUYER_QUALIFIERS = frozenset({"BP", "IN", "CB", "PI"})
SUPPLIER_QUALIFIERS = frozenset({"VP", "VN", "VA", "SK", "MG", "VC"})

# 98 Entity Identifier Code (N101) onto the party roles of the canonical model, which are
# EDIFACT's 3035 codes (docs/architecture.md, "Documents"): the seller is the supplier.
PARTY_ROLES: dict[str, str] = {
    "BY": "BY", "BT": "IV", "ST": "ST", "SF": "SF", "SU": "SU", "SE": "SU", "VN": "SU",
    "CA": "CA", "OB": "OB", "RI": "SU", "MF": "MF", "DA": "DP", "SO": "BY",
}

# 128 Reference Identification Qualifier: the carrier's tracking references, best first.
TRACKING_REFERENCES: tuple[str, ...] = ("CN", "BM", "2I", "AW")
# 88 Marks and Numbers Qualifier (MAN01): an SSCC-18 (GM, with or without its AI 00).
SSCC_MARKS = frozenset({"GM", "AA", "W"})


class HierarchyLevel(StrEnum):
    """735 Hierarchical Level Code (HL03) of the 856."""

    SHIPMENT = "S"
    ORDER = "O"
    TARE = "T"
    PACK = "P"
    ITEM = "I"
    SUBPACK = "Q"
