"""UBL and PEPPOL BIS 3 code lists the mapping acts on.

Order response codes (cbc:OrderResponseCode, UNCL 4343 subset in PEPPOL BIS 3): AB the order
is received and will be answered, AP accepted, RE rejected, CA conditionally accepted (the
lines say what changes). Line status codes (cbc:LineStatusCode, UNCL 1229 subset): 1 added,
3 changed, 5 accepted without amendment, 7 not accepted; the other 1229 codes read as in
EDIFACT (mappings/edifact/codes.py).
The older PEPPOL BIS 28A sent UNCL 1225 codes on the lines too (LINE_STATUS_UNCL1225).
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

# PEPPOL BIS 28A (CEN BII2 transaction T76, before BIS 3) coded the line status with the
# UNCL 1225 subset its order response code uses (rule EUGEN-T76-R004: LineStatusCode
# listID UNCL1225): 27 not accepted, 29 accepted without amendment, 30 accepted with
# amendment. None of the three is a UNCL 1229 code the mapping reads.
LINE_STATUS_UNCL1225: dict[str, LineStatus] = {
    "27": LineStatus.REJECTED,
    "29": LineStatus.ACCEPTED,
    "30": LineStatus.CHANGED,
}

# UBL 2.0/2.1's own default code list "Line Status" (listAgencyID UBL), which the OASIS
# examples use instead of UNCL 1229: Added, Cancelled, Disputed, NoStatus, Revised. NoStatus
# and Disputed say nothing the supplier commits to: no status.
LINE_STATUS_UBL: dict[str, LineStatus | None] = {
    "Added": LineStatus.ADDED,
    "Revised": LineStatus.CHANGED,
    "Cancelled": LineStatus.DELETED,
    "NoStatus": None,
    "Disputed": None,
}

KINDS: dict[str, DocumentKind] = {
    "Order": DocumentKind.PURCHASE_ORDER,
    "OrderResponse": DocumentKind.ORDER_RESPONSE,
    "OrderResponseSimple": DocumentKind.ORDER_RESPONSE,
    "DespatchAdvice": DocumentKind.DESPATCH_ADVICE,
}

# The PEPPOL Business Message Envelope (UN/CEFACT Standard Business Document Header 1.3) in
# which access points carry a UBL document: the document is the element after the header.
ENVELOPE = "StandardBusinessDocument"
ENVELOPE_HEADER = "StandardBusinessDocumentHeader"

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
