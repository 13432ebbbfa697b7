"""UBL and PEPPOL BIS 3 code lists the mapping acts on.

Order response codes (cbc:OrderResponseCode, UNCL 4343 subset in PEPPOL BIS 3): AB the order
is received and will be answered, AP accepted, RE rejected, CA conditionally accepted (the
lines say what changes). Line status codes (cbc:LineStatusCode, UNCL 1229 subset): 1 added,
3 changed, 5 accepted without amendment, 7 not accepted; the other 1229 codes read as in
EDIFACT (mappings/edifact/codes.py).
"""

from __future__ import annotations

from gateway.domain.documents import DocumentKind, DocumentStatus, LineStatus
from mappings.edifact.codes import ACTION_STATUS

RESPONSE_STATUS: dict[str, DocumentStatus | None] = {
    "AB": None,
    "AP": DocumentStatus.ACCEPTED,
    "RE": DocumentStatus.REJECTED,
    "CA": DocumentStatus.CHANGED,
    # UBL 2.x examples before PEPPOL BIS 3 used these UNCL 1225 codes too.
    "27": DocumentStatus.REJECTED,
    "29": DocumentStatus.ACCEPTED,
    "30": DocumentStatus.CHANGED,
}

LINE_STATUS: dict[str, LineStatus] = dict(ACTION_STATUS)

KINDS: dict[str, DocumentKind] = {
    "Order": DocumentKind.PURCHASE_ORDER,
    "OrderResponse": DocumentKind.ORDER_RESPONSE,
    "OrderResponseSimple": DocumentKind.ORDER_RESPONSE,
    "DespatchAdvice": DocumentKind.DESPATCH_ADVICE,
}

# The parties of each document onto the canonical roles (EDIFACT 3035 codes).
PARTY_ROLES: dict[str, str] = {
    "BuyerCustomerParty": "BY",
    "SellerSupplierParty": "SU",
    "DespatchSupplierParty": "SU",
    "DeliveryCustomerParty": "DP",
    "OriginatorCustomerParty": "OB",
    "AccountingCustomerParty": "IV",
    "AccountingSupplierParty": "SU",
    "BuyerParty": "BY",
    "SellerParty": "SU",
}

# ISO 6523 ICD 0160 is GS1's GTIN; 0088 is GS1's GLN (party ids).
GTIN_SCHEMES = frozenset({"0160", "GTIN"})
