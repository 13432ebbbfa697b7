"""UBL variants seen in published PEPPOL examples: the BIS 28A line status codes of UNCL 1225
and GTINs whose check digit is wrong are read the way EDIFACT and X12 read them."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import Document, LineStatus
from mappings.registry import read_stream
from parsers.errors import MAX_PROBLEMS, Problem, ProblemCode

RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<OrderResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>R-7</cbc:ID>
 <cbc:IssueDate>2026-12-01</cbc:IssueDate>
 <cbc:OrderResponseCode listID="UNCL1225">30</cbc:OrderResponseCode>
 <cac:OrderReference><cbc:ID>4500000777</cbc:ID></cac:OrderReference>
 {lines}
</OrderResponse>"""

LINE = """<cac:OrderLine><cac:LineItem><cbc:ID>{no}</cbc:ID>
 <cbc:LineStatusCode listID="UNCL1225">{code}</cbc:LineStatusCode>
 <cbc:Quantity unitCode="C62">4</cbc:Quantity>
 <cac:Item><cac:StandardItemIdentification><cbc:ID schemeID="{scheme}">{gtin}</cbc:ID>
 </cac:StandardItemIdentification></cac:Item></cac:LineItem></cac:OrderLine>"""


def _read(xml: str) -> Document:
    [document] = list(read_stream(io.BufferedReader(io.BytesIO(xml.encode())), "rsp.xml"))
    assert isinstance(document, Document)
    return document


def _line(no: int, code: str, gtin: str = "4006381333931", scheme: str = "0160") -> str:
    return LINE.format(no=no, code=code, gtin=gtin, scheme=scheme)


def test_bis_28a_line_status_codes_of_uncl_1225_are_read() -> None:
    # PEPPOL BIS 28A (CEN BII2 T76), rule EUGEN-T76-R004: the LineStatusCode is from UNCL
    # 1225 (listID UNCL1225): 27 not accepted, 29 accepted, 30 accepted with amendment.
    document = _read(RESPONSE.format(lines=_line(1, "29") + _line(2, "30") + _line(3, "27")))
    assert [line.status for line in document.lines] == [
        LineStatus.ACCEPTED, LineStatus.CHANGED, LineStatus.REJECTED]
    assert [line.action_code for line in document.lines] == ["29", "30", "27"]
    assert not [w for w in document.warnings if w.code == ProblemCode.INVALID_CODE.value]


def test_a_line_status_code_of_neither_list_is_still_a_warning() -> None:
    document = _read(RESPONSE.format(lines=_line(1, "99")))
    assert document.lines[0].status is None
    assert [w.code for w in document.warnings] == [ProblemCode.INVALID_CODE.value]


def test_a_gtin_with_a_wrong_check_digit_is_kept_and_warned() -> None:
    # GS1 General Specifications 7.9: the last digit is the mod-10 check digit; ICD 0160
    # names the identifier a GTIN, as EDIFACT's EN and X12's UP do.
    document = _read(RESPONSE.format(lines=_line(1, "29", gtin="4006381333932")))
    assert document.lines[0].item.gtin == "4006381333932"
    [warning] = document.warnings
    assert warning.code == ProblemCode.INVALID_IDENTIFIER.value
    assert "4006381333932" in warning.detail
    assert warning.tag == "ID"


def test_a_gtin_scheme_on_letters_is_no_gtin() -> None:
    document = _read(RESPONSE.format(lines=_line(1, "29", gtin="ABC-1", scheme="GTIN")))
    assert document.lines[0].item.gtin is None
    assert [(i.id, i.type) for i in document.lines[0].item.ids] == [("ABC-1", "GTIN")]


def test_an_unnamed_number_is_a_gtin_only_with_a_right_check_digit() -> None:
    right = _read(RESPONSE.format(lines=_line(1, "29", scheme="")))
    wrong = _read(RESPONSE.format(lines=_line(1, "29", gtin="4006381333932", scheme="")))
    assert right.lines[0].item.gtin == "4006381333931"
    assert wrong.lines[0].item.gtin is None


# PEPPOL Business Message Envelope 2.0: access points carry the UBL document in a UN/CEFACT
# StandardBusinessDocument, after its StandardBusinessDocumentHeader.
ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<StandardBusinessDocument
 xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">
 <StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion>
 </StandardBusinessDocumentHeader>
 <!-- the payload -->
 {payload}
</StandardBusinessDocument>"""


def test_a_document_in_a_peppol_envelope_is_read() -> None:
    payload = RESPONSE.format(lines=_line(1, "29")).split("\n", 1)[1]
    document = _read(ENVELOPE.format(payload=payload))
    assert (document.message_type, document.document_number) == ("OrderResponse", "R-7")
    assert document.order_numbers == ["4500000777"]
    assert document.lines[0].status is LineStatus.ACCEPTED
    assert document.warnings == []


def test_an_empty_envelope_is_a_located_error() -> None:
    data = ENVELOPE.format(payload="").encode()
    [problem] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "empty.xml"))
    assert isinstance(problem, Problem)
    assert problem.code == ProblemCode.MISSING_SEGMENT
    assert "StandardBusinessDocumentHeader" in problem.detail


def test_xml_no_reader_takes_is_named_by_its_root_element() -> None:
    data = b'<?xml version="1.0"?>\n<Invoice xmlns="urn:x"/>'
    [problem] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "invoice.xml"))
    assert isinstance(problem, Problem)
    assert "root element is 'Invoice'" in problem.detail


DESPATCH = """<?xml version="1.0" encoding="UTF-8"?>
<DespatchAdvice xmlns="urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>D-9</cbc:ID><cbc:IssueDate>2026-12-02</cbc:IssueDate>
 <cac:OrderReference><cbc:ID>4500000777</cbc:ID></cac:OrderReference>
 <cac:DespatchLine><cbc:ID>1</cbc:ID>
  <cbc:DeliveredQuantity unitCode="KGM">2.5</cbc:DeliveredQuantity>
  <cac:Item><cac:SellersItemIdentification><cbc:ID>S-1</cbc:ID></cac:SellersItemIdentification>
   <cac:ItemInstance><cbc:BestBeforeDate>2027-03-31</cbc:BestBeforeDate>
    <cac:LotIdentification><cbc:LotNumberID>L-41</cbc:LotNumberID></cac:LotIdentification>
   </cac:ItemInstance>
   <cac:ItemInstance><cac:LotIdentification><cbc:LotNumberID>L-42</cbc:LotNumberID>
   </cac:LotIdentification></cac:ItemInstance>
  </cac:Item></cac:DespatchLine>
</DespatchAdvice>"""


def test_the_batch_and_best_before_date_of_a_despatch_line_are_read() -> None:
    # UBL 2.1 cac:ItemInstance: LotIdentification/LotNumberID is the batch (EDIFACT's GIN+BX)
    # and BestBeforeDate the best-before date (DTM 361); the first of several instances.
    [line] = _read(DESPATCH).lines
    assert (line.batch, line.best_before_date) == ("L-41", date(2027, 3, 31))


def test_a_best_before_date_that_is_no_date_is_a_warning() -> None:
    document = _read(DESPATCH.replace("2027-03-31", "31.03.2027"))
    assert document.lines[0].best_before_date is None
    assert [w.code for w in document.warnings] == [ProblemCode.INVALID_DATE.value]


def test_the_ubl_line_status_code_list_is_read() -> None:
    # UBL 2.0/2.1 default code list "Line Status" (listAgencyID UBL): Added, Cancelled,
    # Disputed, NoStatus, Revised, as the OASIS examples send them.
    lines = "".join(_line(n, code) for n, code in enumerate(
        ("Added", "Revised", "Cancelled", "NoStatus", "Disputed"), 1))
    document = _read(RESPONSE.format(lines=lines))
    assert [line.status for line in document.lines] == [
        LineStatus.ADDED, LineStatus.CHANGED, LineStatus.DELETED, None, None]
    assert [w.code for w in document.warnings] == [ProblemCode.ASSUMED_VALUE.value]
    assert "Disputed" in document.warnings[0].detail


@pytest.mark.parametrize("quantity", ["1_000", "\u0661\u0662", "1" + "0" * 40, "1E3", "NaN"])
def test_a_quantity_that_is_no_xsd_decimal_is_a_warning_and_not_read(quantity: str) -> None:
    # XML Schema 1.1 Part 2, 3.3.3 decimal: an optional sign, ASCII digits, one point.
    document = _read(RESPONSE.format(lines=_line(1, "29").replace(">4<", f">{quantity}<")))
    assert document.lines[0].quantity is None
    [warning] = [w for w in document.warnings if w.code == ProblemCode.INVALID_NUMBER.value]
    assert (warning.tag, warning.segment) == ("Quantity", 11)


def test_an_xsd_decimal_with_a_sign_and_white_space_is_read() -> None:
    document = _read(RESPONSE.format(lines=_line(1, "29").replace(">4<", "> +4.50 <")))
    assert document.lines[0].quantity == Decimal("4.50")


def test_warnings_past_the_cap_are_counted_not_listed() -> None:
    lines = "".join(_line(n, "29", gtin="4006381333932") for n in range(MAX_PROBLEMS + 30))
    document = _read(RESPONSE.format(lines=lines))
    assert len(document.lines) == MAX_PROBLEMS + 30
    codes = [w.code for w in document.warnings]
    assert codes == [ProblemCode.INVALID_IDENTIFIER.value] * MAX_PROBLEMS + [
        ProblemCode.OVER_LIMIT.value]
    assert "30 more warnings" in document.warnings[-1].detail
