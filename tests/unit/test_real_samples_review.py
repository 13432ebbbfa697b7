"""Findings from running the EDIFACT reader over public sample files (not copied here).

Each test is a short synthetic reproduction of a pattern seen in a real file.
"""

from __future__ import annotations

from tests.unit.test_mapping import one_document


def test_orders_lines_keep_the_bgm_order_when_a_party_carries_rff_on() -> None:
    """bots-edi/bots-plugins edifact/order_to_print/botssys/infile/edifax/orders96.edi:
    an EANCOM ORDERS whose supplier NAD group (SG3) carries RFF+ON (the supplier's own
    reference). The order is the BGM number, and every line belongs to it. Today the party's
    RFF+ON is counted as a second order, so every line gets order_number None and an unlocated
    'line N names no order and the message refers to 2 orders' warning."""
    body = ("UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+4500094289+9'DTM+137:20050819:102'"
            "NAD+SU+5412345000013::9'RFF+ON:SU-ON-1234567890'NAD+BY+5400000000001::9'"
            "LIN+1++4000862141404:EN'QTY+21:1'UNS+S'UNT+9+1'")
    doc = one_document(body)
    assert [line.order_number for line in doc.lines] == ["4500094289"]
    assert doc.order_numbers == ["4500094289"]


def test_order_response_without_any_order_reference_is_flagged() -> None:
    """evergreen-library-system/Evergreen .../brodart/HOGJ-037.ack and round_01/evergreen-6.ack:
    real ORDRSPs with no RFF+ON or RFF+CR at all (only RFF+LI per line). The document comes
    out with order_numbers [] and every line's order_number None, with no warning, so nothing
    tells the buyer why the response cannot be matched to an order."""
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+HOGJ-037+4'DTM+137:20091217:102'"
            "NAD+SU+1697684::31B'LIN+1+5'PIA+5+9780753462591:EN'QTY+21:1'QTY+12:1'"
            "RFF+LI:17621/1'UNS+S'UNT+11+1'")
    doc = one_document(body)
    assert doc.order_numbers == []
    assert doc.warnings, "a response naming no order at all passes without a remark"
