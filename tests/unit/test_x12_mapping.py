"""X12 transaction sets to canonical documents: the 856's HL tree in its common layouts, the
855's ACK statuses and split promises, the 850 as an order to import."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import Document, DocumentKind, DocumentStatus, LineStatus
from mappings.x12.reading import read_x12
from parsers.errors import MAX_PROBLEMS, Problem, ProblemCode


def interchange(kind: str, body: list[str]) -> bytes:
    functional = {"855": "PR", "856": "SH", "850": "PO"}[kind]
    segments = [f"ST*{kind}*0001", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*BUYER          *261204*0915*"
           "U*00401*000000009*0*P*>")
    text = "~\n".join([isa, f"GS*{functional}*SUPPLIER*BUYER*20261204*0915*9*X*004010",
                       *segments, "GE*1*9", "IEA*1*000000009"]) + "~\n"
    return text.encode()


def document(kind: str, body: list[str]) -> Document:
    results = list(read_x12(io.BufferedReader(io.BytesIO(interchange(kind, body))), "t.x12"))
    documents = [r for r in results if isinstance(r, Document)]
    assert [r for r in results if isinstance(r, Problem)] == []
    assert len(documents) == 1
    return documents[0]


SSCC_A, SSCC_B = "340123450000000017", "340123450000000024"


def test_856_items_under_packs_take_the_pack_sscc_and_the_order_above() -> None:
    asn = document("856", [
        "BSN*00*SH-1*20261204*0915", "HL*1**S", "TD5*O*2*ABCD*M*FAST FREIGHT",
        "REF*BM*BOL-77", "DTM*011*20261204", "DTM*017*20261208",
        "HL*2*1*O", "PRF*4500000001", "HL*3*2*P", f"MAN*GM*00{SSCC_A}",
        "HL*4*3*I", "LIN*10*BP*BR-1", "SN1**40*EA",
        "HL*5*2*P", f"MAN*GM*{SSCC_B}", "HL*6*5*I", "LIN*20*BP*BR-2", "SN1**12*EA"])
    assert asn.kind is DocumentKind.DESPATCH_ADVICE
    assert (asn.document_number, asn.despatch_date, asn.expected_delivery_date) == (
        "SH-1", date(2026, 12, 4), date(2026, 12, 8))
    assert (asn.shipment.carrier, asn.shipment.tracking_number, asn.shipment.packages) == (
        "FAST FREIGHT", "BOL-77", 2)
    assert [(line.order_number, line.quantity, [p.sscc for p in line.packages])
            for line in asn.lines] == [("4500000001", Decimal(40), [SSCC_A]),
                                       ("4500000001", Decimal(12), [SSCC_B])]


def test_856_packs_under_an_item_belong_to_that_item() -> None:
    asn = document("856", [
        "BSN*00*SH-2*20261204", "HL*1**S", "HL*2*1*O", "PRF*4500000002",
        "HL*3*2*I", "LIN*1*UP*036000291452", "SN1**30*EA",
        "HL*4*3*P", f"MAN*GM*{SSCC_A}", "HL*5*3*P", f"MAN*GM*{SSCC_B}"])
    [line] = asn.lines
    assert line.item.gtin == "036000291452"
    assert [p.sscc for p in line.packages] == [SSCC_A, SSCC_B]


def test_856_a_gtin_with_a_wrong_check_digit_is_kept_and_warned() -> None:
    # GS1 General Specifications 7.9: the last digit of a UPC/GTIN is its mod-10 check digit;
    # a wrong one is kept and warned, as EDIFACT's and UBL's are.
    asn = document("856", [
        "BSN*00*SH-4*20261204", "HL*1**S", "HL*2*1*O", "PRF*4500000005",
        "HL*3*2*I", "LIN**UP*036000291453*VN*V-1", "SN1**3*EA"])
    [line] = asn.lines
    assert (line.item.gtin, line.item.supplier_part) == ("036000291453", "V-1")
    assert [w.code for w in asn.warnings] == [ProblemCode.INVALID_IDENTIFIER.value]


def test_856_prf_at_item_level_overrides_the_order_loop() -> None:
    asn = document("856", [
        "BSN*00*SH-3*20261204", "HL*1**S", "HL*2*1*O", "PRF*4500000003",
        "HL*3*2*I", "LIN*1*BP*BR-1", "SN1**5*EA",
        "HL*4*2*I", "PRF*4500000004", "LIN*2*BP*BR-2", "SN1**6*EA"])
    assert [line.order_number for line in asn.lines] == ["4500000003", "4500000004"]
    assert asn.order_numbers == ["4500000003", "4500000004"]


@pytest.mark.parametrize(("acks", "status", "quantity", "when"), [
    (["ACK*IA*100*EA*067*20261218"], LineStatus.ACCEPTED, Decimal(100), date(2026, 12, 18)),
    (["ACK*IQ*80*EA*067*20261218"], LineStatus.CHANGED, Decimal(80), date(2026, 12, 18)),
    (["ACK*IA*60*EA*067*20261218", "ACK*IB*40*EA*067*20270110"], LineStatus.CHANGED,
     Decimal(100), date(2027, 1, 10)),
    (["ACK*IR*0*EA"], LineStatus.REJECTED, None, None),
    (["ACK*IH*100*EA"], None, Decimal(100), date(2026, 12, 20)),
])
def test_855_ack_statuses_quantities_and_dates(acks: list[str], status: LineStatus | None,
                                               quantity: Decimal | None,
                                               when: date | None) -> None:
    response = document("855", ["BAK*00*AC*4500000005*20261201", "DTM*067*20261220",
                                "PO1*10*100*EA*2.50**BP*BR-1", *acks])
    [line] = response.lines
    assert (line.status, line.quantity, line.delivery_date) == (status, quantity, when)
    assert (line.order_number, line.order_line_no, line.ordered_quantity) == (
        "4500000005", "10", Decimal(100))
    assert response.status is DocumentStatus.CHANGED


def test_855_rejected_order_and_an_unknown_status_is_reported() -> None:
    response = document("855", ["BAK*00*RJ*4500000006*20261201", "PO1*1*5*EA***BP*X",
                                "ACK*ZZ*5*EA"])
    assert response.status is DocumentStatus.REJECTED
    assert [w.code for w in response.warnings] == ["INVALID_CODE"]
    assert response.warnings[0].tag == "ACK"


def test_850_is_an_order_with_its_supplier_and_requested_dates() -> None:
    order = document("850", ["BEG*00*SA*4500000007**20261201", "DTM*002*20261215",
                             "N1*SE*Kessler*92*SUP-K", "N1*BY*Brenner*92*BR",
                             "PO1*10*24*EA*3.75**BP*BR-1*VP*K-1", "PID*F****Bolt",
                             "PO1*20*6*CA*20**BP*BR-2"])
    assert order.kind is DocumentKind.PURCHASE_ORDER
    assert order.document_number == "4500000007"
    assert [(p.role, p.id) for p in order.parties] == [("SU", "SUP-K"), ("BY", "BR")]
    assert [(line.line_no, line.quantity, line.unit, line.price, line.delivery_date)
            for line in order.lines] == [
        ("10", Decimal(24), "EA", Decimal("3.75"), date(2026, 12, 15)),
        ("20", Decimal(6), "CA", Decimal(20), date(2026, 12, 15))]
    assert order.lines[0].item.description == "Bolt"


@pytest.mark.parametrize(("loops", "position"), [
    (["HL*1**S", "HL*2*7*O"], 4),       # a parent that does not exist
    (["HL*1**S", "HL*2*2*O"], 4),       # a loop that is its own parent
    (["HL*1*2*S", "HL*2*1*O"], 3),      # two loops that are each other's parent
])
def test_856_an_hl_parent_that_names_no_earlier_loop_is_located_and_dropped(
        loops: list[str], position: int) -> None:
    # ASC X12 HL: HL02 is the HL01 of the parent loop, which comes before its children.
    asn = document("856", ["BSN*00*SH-5*20261204", *loops, "PRF*4500000008",
                           "HL*3*2*I", "LIN*1*BP*BR-1", "SN1**5*EA"])
    [warning] = [w for w in asn.warnings if w.tag == "HL"]
    assert (warning.code, warning.segment) == (ProblemCode.INVALID_IDENTIFIER.value, position)
    assert "HL02" in warning.detail
    assert [line.order_number for line in asn.lines] == ["4500000008"]


def test_856_lines_under_a_pack_of_many_ssccs_carry_no_more_packages_than_segments() -> None:
    # Every item under a pack takes all of the pack's SSCCs: 40 SSCCs over 40 items would be
    # 1,600 packages from 163 segments. The packages stop at the segment count, with a warning.
    ssccs = [f"MAN*GM*{index:018d}" for index in range(40)]
    items = [segment for index in range(40)
             for segment in (f"HL*{index + 4}*3*I", f"LIN*{index}*BP*BR-{index}", "SN1**1*EA")]
    asn = document("856", ["BSN*00*SH-6*20261204", "HL*1**S", "HL*2*1*O", "PRF*4500000009",
                           "HL*3*2*P", *ssccs, *items])
    segments = 2 + 5 + len(ssccs) + len(items)
    assert sum(len(line.packages) for line in asn.lines) <= segments
    assert [len(line.packages) for line in asn.lines[:3]] == [40, 40, 40]
    assert asn.lines[-1].packages == []
    [warning] = [w for w in asn.warnings if w.code == ProblemCode.OVER_LIMIT.value]
    assert "40 SSCC" in warning.detail


@pytest.mark.parametrize("price", [
    "1_000",                    # Python's Decimal reads the underscore as a digit separator
    "\u0661\u0662",             # Arabic-Indic digits, which Decimal reads as 12
    "1" + "0" * 40,             # more digits than decimal arithmetic keeps exactly
    "1E99999", "NaN", "-Infinity", "0x10", "1.2.3",
])
def test_855_a_number_that_is_no_x12_numeric_is_a_warning_and_not_read(price: str) -> None:
    # ASC X12.6 data types R and Nn: ASCII digits, an optional minus sign and decimal point.
    response = document("855", ["BAK*00*AC*4500000010*20261201",
                                f"PO1*10*4*EA*{price}**BP*BR-1", "ACK*IA*4*EA"])
    [line] = response.lines
    assert (line.price, line.quantity) == (None, Decimal(4))
    [warning] = response.warnings
    assert (warning.code, warning.segment, warning.tag) == (
        ProblemCode.INVALID_NUMBER.value, 3, "PO1")


@pytest.mark.parametrize(("price", "read"), [
    ("-0", Decimal("-0")), ("12.50", Decimal("12.50")), (".5", Decimal("0.5")),
    ("7.", Decimal(7)), ("-1.25", Decimal("-1.25")), ("9" * 28, Decimal("9" * 28)),
])
def test_855_x12_numerics_are_read(price: str, read: Decimal) -> None:
    response = document("855", ["BAK*00*AC*4500000011*20261201",
                                f"PO1*10*4*EA*{price}**BP*BR-1", "ACK*IA*4*EA"])
    assert response.lines[0].price == read
    assert response.warnings == []


def test_856_warnings_past_the_cap_are_counted_not_listed() -> None:
    # A LIN of 1,200 GTINs that are no GTINs: one warning each would let a 64 KiB segment
    # make thousands of warnings, a transaction set millions.
    asn = document("856", ["BSN*00*SH-7*20261204", "HL*1**S", "PRF*4500000012", "HL*2*1*I",
                           "LIN*1" + "*UP*1" * (MAX_PROBLEMS + 200), "SN1**1*EA"])
    codes = [w.code for w in asn.warnings]
    assert codes == [ProblemCode.INVALID_IDENTIFIER.value] * MAX_PROBLEMS + [
        ProblemCode.OVER_LIMIT.value]
    assert "200 more warnings" in asn.warnings[-1].detail
