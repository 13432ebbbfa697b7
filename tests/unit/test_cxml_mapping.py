"""cXML ConfirmationRequest variants seen in published samples."""

from __future__ import annotations

import io

from gateway.domain.documents import Document
from mappings.registry import read_stream
from parsers.errors import ProblemCode

CONFIRMATION = """<?xml version="1.0"?>
<cXML payloadID="c-1@supplier.example" timestamp="2026-12-01T08:00:00+01:00">
 <Header><From><Credential domain="NetworkID"><Identity>AN-S</Identity></Credential></From>
  <To><Credential domain="NetworkID"><Identity>AN-B</Identity></Credential></To></Header>
 <Request><ConfirmationRequest>
  <ConfirmationHeader type="detail" noticeDate="2026-12-01" confirmID="C-1"/>
  <OrderReference orderID="4500000888"/>
  <ConfirmationItem quantity="4" lineNumber="{line}"><UnitOfMeasure>EA</UnitOfMeasure>
   <ConfirmationStatus type="accept" quantity="4"><UnitOfMeasure>EA</UnitOfMeasure>
   </ConfirmationStatus></ConfirmationItem>
 </ConfirmationRequest></Request>
</cXML>"""


def _read(xml: str) -> Document:
    [document] = list(read_stream(io.BufferedReader(io.BytesIO(xml.encode())), "c.xml"))
    assert isinstance(document, Document)
    return document


def test_a_confirmation_item_without_line_number_is_read_with_a_warning() -> None:
    # The Fulfill DTD makes ConfirmationItem/@lineNumber #REQUIRED; senders leave it empty.
    document = _read(CONFIRMATION.replace("{line}", ""))
    [line] = document.lines
    assert (line.line_no, line.quantity) == (None, 4)
    [warning] = document.warnings
    assert warning.code == ProblemCode.MISSING_VALUE.value
    assert warning.tag == "ConfirmationItem"


def test_a_confirmation_item_with_its_line_number_has_no_warning() -> None:
    document = _read(CONFIRMATION.replace("{line}", "10"))
    assert document.lines[0].line_no == "10"
    assert document.warnings == []


def test_an_item_repeated_in_each_confirmation_status_keeps_each_id_once() -> None:
    # A split confirmation repeats the item in each ConfirmationStatus/ItemIn.
    status = ('<ConfirmationStatus type="accept" quantity="2" deliveryDate="2026-12-{day}">'
              '<ItemIn quantity="2"><ItemID><SupplierPartID>S-1</SupplierPartID>'
              '<SupplierPartAuxiliaryID>A-1</SupplierPartAuxiliaryID>'
              '<BuyerPartID>B-1</BuyerPartID></ItemID><ItemDetail><UnitPrice>'
              '<Money currency="EUR">3.50</Money></UnitPrice><UnitOfMeasure>EA</UnitOfMeasure>'
              '<ManufacturerPartID>M-1</ManufacturerPartID></ItemDetail></ItemIn>'
              '</ConfirmationStatus>')
    item = ('<ConfirmationItem quantity="4" lineNumber="10"><UnitOfMeasure>EA</UnitOfMeasure>'
            + status.format(day="05") + status.format(day="09") + '</ConfirmationItem>')
    start = CONFIRMATION.index("<ConfirmationItem")
    end = CONFIRMATION.index("</ConfirmationItem>") + len("</ConfirmationItem>")
    document = _read(CONFIRMATION[:start] + item + CONFIRMATION[end:])
    [line] = document.lines
    assert line.quantity == 4
    assert [(i.id, i.type) for i in line.item.ids] == [
        ("S-1", "SA"), ("A-1", "SupplierPartAuxiliaryID"), ("B-1", "IN"), ("M-1", "MF")]
