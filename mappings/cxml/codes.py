"""cXML code values the mapping acts on (cXML User's Guide 1.2.0xx, "Order Confirmation and
Ship Notice").

ConfirmationHeader type: accept (the whole order as ordered), reject (the whole order),
detail (the items say what changes), except (only the items listed change), allDetail (every
item listed). ConfirmationStatus type: accept, reject, backordered, detail (changed), unknown.
"""

from __future__ import annotations

from gateway.domain.documents import DocumentStatus, LineStatus

HEADER_STATUS: dict[str, DocumentStatus | None] = {
    "accept": DocumentStatus.ACCEPTED,
    "reject": DocumentStatus.REJECTED,
    "detail": None,
    "except": DocumentStatus.CHANGED,
    "allDetail": None,
    "replace": DocumentStatus.REPLACED,
}

# A backorder ships later or less: a change of the promise, like X12's IB.
LINE_STATUS: dict[str, LineStatus | None] = {
    "accept": LineStatus.ACCEPTED,
    "reject": LineStatus.REJECTED,
    "backordered": LineStatus.CHANGED,
    "detail": LineStatus.CHANGED,
    "unknown": None,
}

REQUESTS = ("OrderRequest", "ConfirmationRequest", "ShipNoticeRequest")
