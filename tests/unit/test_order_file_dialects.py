"""`gateway orders import` reads X12 850, UBL Order and cXML OrderRequest files through the
same reader table as every other channel: lines, supplier and requested dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from gateway.services.orders import read_order_file

X12_850 = (
    "ISA*00*          *00*          *ZZ*BUYER          *ZZ*SUPPLIER       *261201*0800*U*"
    "00401*000000031*0*P*>\nGS*PO*BUYER*SUPPLIER*20261201*0800*31*X*004010\nST*850*0001\n"
    "BEG*00*SA*4500000031**20261201\nDTM*002*20261215\nN1*SE*Kessler*92*SUP-K\n"
    "PO1*10*24*EA*3.75**BP*BR-1*VP*K-1\nPO1*20*6*EA*20**BP*BR-2\nCTT*2\nSE*8*0001\n"
    "GE*1*31\nIEA*1*000000031\n")
CXML_ORDER = """<?xml version="1.0"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.045/cXML.dtd">
<cXML payloadID="po-31@buyer.example" timestamp="2026-12-01T08:00:00+01:00">
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN-BUYER</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>AN-SUPPLIER</Identity></Credential></To>
  </Header>
  <Request>
    <OrderRequest>
      <OrderRequestHeader orderID="4500000032" orderDate="2026-12-01T08:00:00+01:00" type="new">
        <Total><Money currency="EUR">75.00</Money></Total>
      </OrderRequestHeader>
      <ItemOut quantity="5" lineNumber="1" requestedDeliveryDate="2026-12-18">
        <ItemID><SupplierPartID>VX-1</SupplierPartID></ItemID>
        <ItemDetail><UnitPrice><Money currency="EUR">15.00</Money></UnitPrice>
          <Description xml:lang="en">Valve</Description><UnitOfMeasure>EA</UnitOfMeasure>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>
"""


def test_x12_850_file_gives_order_lines_with_the_seller_as_supplier(tmp_path: Path) -> None:
    path = tmp_path / "orders.x12"
    path.write_text(X12_850)
    lines, errors = read_order_file(path)
    assert errors == []
    assert [(line.order_number, line.line_no, line.quantity, line.price, line.supplier_id,
             line.requested_date, line.buyer_part) for line in lines] == [
        ("4500000031", "10", Decimal(24), Decimal("3.75"), "SUP-K", date(2026, 12, 15),
         "BR-1"),
        ("4500000031", "20", Decimal(6), Decimal(20), "SUP-K", date(2026, 12, 15), "BR-2")]


def test_cxml_order_request_gives_order_lines_with_the_receiver_as_supplier(
        tmp_path: Path) -> None:
    path = tmp_path / "order.xml"
    path.write_text(CXML_ORDER)
    lines, errors = read_order_file(path)
    assert errors == []
    [line] = lines
    assert (line.order_number, line.line_no, line.quantity, line.unit, line.price,
            line.currency, line.supplier_id, line.supplier_part, line.requested_date) == (
        "4500000032", "1", Decimal(5), "EA", Decimal("15.00"), "EUR", "AN-SUPPLIER", "VX-1",
        date(2026, 12, 18))


def test_a_response_is_not_imported_as_an_order(tmp_path: Path) -> None:
    path = tmp_path / "response.x12"
    path.write_text(X12_850.replace("ST*850", "ST*855").replace("BEG*00*SA*4500000031**",
                                                                  "BAK*00*AD*4500000031*"))
    lines, errors = read_order_file(path)
    assert lines == []
    assert [e.detail for e in errors] == ["855 is not an order"]


# UN/EDIFACT ORDERS may name the supplier NAD+SE ("seller", UNCL 3035) instead of EANCOM's
# NAD+SU; the order's supplier is then the seller.
ORDERS_NAD_SE = ("UNB+UNOC:3+BUYER:ZZZ+SELLER:ZZZ+261201:0800+7'UNH+1+ORDERS:D:96A:UN'"
                 "BGM+220+4500000033+9'DTM+137:20261201:102'NAD+BY+BUYER::92'"
                 "NAD+SE+SUP-SE::92'LIN+1++P-1:VP'QTY+21:3'UNS+S'UNT+9+1'UNZ+1+7'")


def test_edifact_orders_naming_the_seller_nad_se_take_it_as_supplier(tmp_path: Path) -> None:
    path = tmp_path / "orders.edi"
    path.write_text(ORDERS_NAD_SE)
    lines, errors = read_order_file(path)
    assert errors == []
    assert [(line.supplier_id, line.supplier_source) for line in lines] == [
        ("SUP-SE", "NAD+SE of ORDERS 4500000033 (code list agency 92)")]


def test_nad_su_is_preferred_to_nad_se(tmp_path: Path) -> None:
    path = tmp_path / "orders.edi"
    path.write_text(ORDERS_NAD_SE.replace("NAD+BY+BUYER::92'", "NAD+SU+SUP-SU::92'"))
    lines, _ = read_order_file(path)
    assert [line.supplier_id for line in lines] == ["SUP-SU"]
