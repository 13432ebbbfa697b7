"""Mapping EDIFACT messages to canonical documents: values, fallbacks and notices."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import Document, DocumentStatus, LineStatus
from mappings.edifact.readers import gs1_check_digit, gtin_problem
from mappings.registry import read_stream
from parsers.errors import MAX_PROBLEMS, Problem, ProblemCode

UNA = "UNA:+.? '"
UNB = "UNB+UNOC:3+5412345000013:14+5400000000001:14+261120:1015+IC1'"
UNZ = "UNZ+1+IC1'"
GTIN_1 = "4000862141404"
GTIN_2 = "4000862141411"

Result = Document | Problem


def read_bytes(data: bytes) -> list[Result]:
    return list(read_stream(io.BufferedReader(io.BytesIO(data)), "test.edi"))


def read(body: str, head: str = UNA + UNB, encoding: str = "latin-1") -> list[Result]:
    return read_bytes((head + body + UNZ).encode(encoding))


def documents(results: list[Result]) -> list[Document]:
    return [r for r in results if isinstance(r, Document)]


def document_of(results: list[Result]) -> Document:
    found = documents(results)
    assert len(found) == 1, results
    return found[0]


def one_document(body: str) -> Document:
    return document_of(read(body))


def errors(results: list[Result]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem) and r.is_error]


def ordrsp(lines: str, header: str = "") -> str:
    return (f"UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+R1+29'{header}RFF+ON:PO1'{lines}"
            "UNS+S'UNT+99+1'")


def desadv(lines: str, header: str = "") -> str:
    return f"UNH+1+DESADV:D:96A:UN:EAN005'BGM+351+D1+9'{header}RFF+ON:PO1'{lines}UNT+99+1'"


def codes(document: Document) -> list[str]:
    return [n.code for n in document.warnings]


ORDRSP = (
    "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+4'DTM+137:20261120:102'"
    "DTM+69:20261205:102'RFF+ON:4500012345'DTM+171:20261101:102'NAD+BY+5400000000001::9'"
    "NAD+SU+5412345000013::9'CUX+2:EUR:9'"
    "LIN+1+5+4000862141404:EN'QTY+21:100:PCE'QTY+113:100:PCE'PRI+AAA:12.50'"
    "RFF+ON:4500012345:10'"
    "LIN+2+3+4000862141411:EN'PIA+1+ABC-9:SA+X77:IN'QTY+21:100'QTY+113:80:PCE'"
    "DTM+69:20261212:102'PRI+AAB:13'PRI+AAA:12.75'MOA+203:1020'RFF+ON:4500012345:20'"
    "DTM+171:20261101:102'"
    "LIN+3+7+4000862141428:EN'QTY+21:5'"
    "UNS+S'CNT+2:3'UNT+{count}+1'"
)


def test_order_response_lines() -> None:
    doc = one_document(ORDRSP.format(count=29))
    assert doc.warnings == []
    assert (doc.document_number, doc.status, doc.function_code) == (
        "RSP-1", DocumentStatus.CHANGED, "4")
    assert doc.order_numbers == ["4500012345"]
    assert doc.document_date == date(2026, 11, 20)
    first, second, third = doc.lines
    assert (first.status, first.quantity, first.ordered_quantity, first.order_line_no) == (
        LineStatus.ACCEPTED, Decimal(100), Decimal(100), "10")
    assert first.delivery_date == date(2026, 12, 5)
    assert second.status is LineStatus.CHANGED
    assert (second.quantity, second.unit, second.ordered_quantity) == (
        Decimal(80), "PCE", Decimal(100))
    assert second.delivery_date == date(2026, 12, 12)
    assert (second.price, second.price_qualifier) == (Decimal("12.75"), "AAA")
    assert second.line_amount == Decimal(1020)
    assert (second.item.gtin, second.item.supplier_part, second.item.buyer_part) == (
        "4000862141411", "ABC-9", "X77")
    assert (third.status, third.quantity, third.order_number) == (
        LineStatus.REJECTED, Decimal(5), "4500012345")
    assert {line.currency for line in doc.lines} == {"EUR"}


def test_reference_dates_are_not_delivery_dates() -> None:
    doc = one_document(ORDRSP.format(count=29))
    assert date(2026, 11, 1) not in {line.delivery_date for line in doc.lines}


@pytest.mark.parametrize(
    ("dtm", "expected", "code"),
    [
        ("DTM+69:20260230:102'", None, ProblemCode.INVALID_DATE),
        ("DTM+69:20261305:102'", None, ProblemCode.INVALID_DATE),
        ("DTM+69:261205:101'", date(2026, 12, 5), None),
        ("DTM+69:9912050000:201'", date(1999, 12, 5), None),
        ("DTM+69:202612051330:203'", date(2026, 12, 5), None),
        ("DTM+69:202612052561:203'", None, ProblemCode.INVALID_DATE),
        ("DTM+69:20261205:203'", date(2026, 12, 5), ProblemCode.ASSUMED_VALUE),
        ("DTM+69:20261205-20261210:718'", date(2026, 12, 5), ProblemCode.ASSUMED_VALUE),
        ("DTM+69:20261205'", date(2026, 12, 5), ProblemCode.ASSUMED_VALUE),
        ("DTM+69:202649:616'", None, ProblemCode.INVALID_DATE),
        ("DTM+69:2026-12-05:102'", None, ProblemCode.INVALID_DATE),
    ],
)
def test_dates(dtm: str, expected: date | None, code: ProblemCode | None) -> None:
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+R+29'RFF+ON:PO1'LIN+1++4000862141404:EN'"
            f"QTY+113:1'{dtm}UNT+7+1'")
    doc = one_document(body)
    assert doc.lines[0].delivery_date == expected
    assert codes(doc) == ([code.value] if code else [])
    if code:
        assert doc.warnings[0].segment == 6
        assert doc.warnings[0].tag == "DTM"


@pytest.mark.parametrize(
    ("qty", "expected", "code"),
    [
        ("12", Decimal(12), None),
        ("12,5", Decimal("12.5"), None),
        ("-3", Decimal(-3), None),
        (".5", Decimal("0.5"), None),
        ("zwoelf", None, ProblemCode.INVALID_NUMBER),
        ("1e3", None, ProblemCode.INVALID_NUMBER),
        ("NaN", None, ProblemCode.INVALID_NUMBER),
        ("1 000", None, ProblemCode.INVALID_NUMBER),
    ],
)
def test_quantities_are_decimals_or_null(qty: str, expected: Decimal | None,
                                         code: ProblemCode | None) -> None:
    body = (f"UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'RFF+ON:PO1'LIN+1++4000862141404:EN'"
            f"QTY+12:{qty}:PCE'UNT+6+1'")
    doc = one_document(body)
    assert doc.lines[0].quantity == expected
    assert codes(doc) == ([code.value] if code else [])


def test_warnings_past_the_cap_are_counted_in_one_not_listed() -> None:
    """A message repeating a bad value is one warning per value up to `MAX_PROBLEMS`; the
    rest are counted in one OVER_LIMIT warning, as X12's, UBL's and cXML's are."""
    lines = "".join(f"LIN+{n}++4000862141404:EN'QTY+12:zwoelf:PCE'" for n in range(1, 1201))
    doc = one_document(f"UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'RFF+ON:PO1'{lines}"
                       f"UNT+{2 * 1200 + 4}+1'")
    assert len(doc.lines) == 1200
    assert len(doc.warnings) == MAX_PROBLEMS + 1
    assert {w.code for w in doc.warnings[:MAX_PROBLEMS]} == {ProblemCode.INVALID_NUMBER.value}
    assert doc.warnings[0].segment == 5
    last = doc.warnings[-1]
    assert last.code == ProblemCode.OVER_LIMIT.value
    assert last.detail.startswith("200 more warnings")


def test_order_number_from_customer_reference_is_flagged() -> None:
    doc = one_document("UNH+1+ORDRSP:D:93A:UN:EDIT30'BGM+231+R+27'RFF+CR:777'UNT+4+1'")
    assert doc.order_numbers == ["777"]
    assert doc.status is DocumentStatus.REJECTED
    assert codes(doc) == [ProblemCode.ASSUMED_VALUE.value]


def test_line_without_order_in_a_multi_order_message_is_flagged() -> None:
    body = ("UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'LIN+1++4000862141404:EN'QTY+12:1'RFF+ON:A'"
            "LIN+2++4000862141411:EN'QTY+12:1'RFF+ON:B'LIN+3++4000862141428:EN'QTY+12:1'"
            "UNT+11+1'")
    doc = one_document(body)
    assert doc.order_numbers == ["A", "B"]
    assert [line.order_number for line in doc.lines] == ["A", "B", None]
    assert codes(doc) == [ProblemCode.MISSING_VALUE.value]


def test_despatch_advice_packages_and_shipment() -> None:
    body = ("UNH+1+DESADV:D:96A:UN:EAN005'BGM+351+ASN-1+9'DTM+11:20261120:102'"
            "DTM+17:20261123:102'RFF+ON:PO1'RFF+CN:TRACK-9'TDT+20++30++:::Fast Freight'"
            "CPS+1'CPS+2+1'PAC+1++PX'GIN+BJ+354123450000000014'"
            "LIN+1++4000862141404:EN'PIA+1+LOT7:NB'QTY+12:40:PCE'PCI+36E'DTM+361:20270101:102'"
            "CPS+3+1'PAC+1++PX'GIN+BJ+354123450000000021'"
            "LIN+2++4000862141411:EN'QTY+12:10:PCE'UNT+22+1'")
    doc = one_document(body)
    assert doc.warnings == []
    assert (doc.despatch_date, doc.expected_delivery_date) == (date(2026, 11, 20),
                                                                date(2026, 11, 23))
    assert (doc.shipment.carrier, doc.shipment.tracking_number, doc.shipment.packages) == (
        "Fast Freight", "TRACK-9", 2)
    first, second = doc.lines
    assert [(p.sscc, p.quantity) for p in first.packages] == [
        ("354123450000000014", Decimal(40))]
    assert (first.batch, first.best_before_date) == ("LOT7", date(2027, 1, 1))
    assert [p.sscc for p in second.packages] == ["354123450000000021"]
    assert second.delivery_date == date(2026, 11, 23)


def test_invalid_sscc_and_gtin_are_reported() -> None:
    body = ("UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'RFF+ON:PO1'CPS+1'GIN+BJ+354123450000000019'"
            "LIN+1++4000862141405:EN'QTY+12:1'LIN+2++empty:SRV'PIA+5+X1:SA'QTY+12:1'UNT+11+1'")
    doc = one_document(body)
    assert codes(doc) == [ProblemCode.INVALID_IDENTIFIER.value] * 3
    assert doc.lines[0].item.gtin == "4000862141405"
    assert doc.lines[1].item.gtin is None
    assert doc.lines[1].item.supplier_part == "X1"


def test_missing_bgm_refuses_the_message() -> None:
    (problem,) = read("UNH+1+ORDRSP:D:96A:UN'LIN+1++4000862141404:EN'UNT+3+1'")
    assert isinstance(problem, Problem)
    assert (problem.code, problem.message_index, problem.tag) == (
        ProblemCode.MISSING_SEGMENT, 1, "BGM")


def test_unsupported_message_type_is_a_located_error() -> None:
    (problem,) = read("UNH+1+INVOIC:D:96A:UN'BGM+380+I1+9'UNT+3+1'")
    assert isinstance(problem, Problem)
    assert problem.code is ProblemCode.UNSUPPORTED_MESSAGE
    assert problem.code.contrl_code == "15"


def test_unknown_segments_and_qualifiers_are_reported() -> None:
    body = "UNH+1+ORDRSP:D:96A:UN'BGM+999+R+77'NAD+QQ+1::9'XYZ+1'UNT+5+1'"
    doc = one_document(body)
    assert codes(doc) == [ProblemCode.INVALID_CODE.value, ProblemCode.INVALID_CODE.value,
                          ProblemCode.UNKNOWN_QUALIFIER.value, ProblemCode.UNKNOWN_SEGMENT.value,
                          ProblemCode.MISSING_VALUE.value]
    assert doc.status is None


def test_gtin_check_digits() -> None:
    assert gs1_check_digit("400086214140") == 4
    assert gtin_problem("4000862141404") is None
    assert gtin_problem("4000862141405") == "GTIN '4000862141405' has a wrong check digit"
    assert gtin_problem("40008621414") is not None


def test_segment_cut_before_a_line_break_does_not_swallow_the_next_message() -> None:
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+R1+29'RFF+ON:PO1'LIN+1++4000862141404:EN'QTY+113:1\n"
            "UNH+2+ORDRSP:D:96A:UN'BGM+231+R2+29'RFF+ON:PO2'UNT+4+2'")
    results = read(body)
    errors = [r for r in results if isinstance(r, Problem) and r.is_error]
    documents = [r for r in results if isinstance(r, Document)]
    assert [(e.code, e.message_index) for e in errors] == [
        (ProblemCode.MESSAGE_NOT_TERMINATED, 1)]
    assert [(d.document_number, d.order_numbers) for d in documents] == [("R2", ["PO2"])]


def test_header_customer_reference_is_not_hidden_by_a_line_one() -> None:
    body = ("UNH+1+ORDRSP:D:93A:UN'BGM+231+R+4'RFF+CR:HDR-PO'LIN+1++4000862141404:EN'QTY+21:1'"
            "LIN+2++4000862141411:EN'QTY+21:1'RFF+CR:LINE-PO:7'UNT+9+1'")
    doc = one_document(body)
    assert doc.order_numbers == ["HDR-PO", "LINE-PO"]
    assert [(line.order_number, line.order_line_no) for line in doc.lines] == [
        ("HDR-PO", None), ("LINE-PO", "7")]


def test_unreleased_repetition_separator_in_text_is_kept_and_reported() -> None:
    data = ("UNB+UNOC:4+S+R+20261120:1015+IC1'UNH+1+ORDRSP:D:01B:UN'BGM+231+R+29'RFF+ON:P'"
            "LIN+1++4000862141404:EN'IMD+F++:::Steel*zinc plated'QTY+113:1'UNT+7+1'UNZ+1+IC1'")
    (doc,) = [r for r in read_stream(io.BufferedReader(io.BytesIO(data.encode())), "t")
              if isinstance(r, Document)]
    assert doc.lines[0].item.description == "Steel*zinc plated"
    assert codes(doc) == [ProblemCode.INVALID_CODE.value]


def test_rejected_line_keeps_its_quantity_but_not_the_header_date() -> None:
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+R+4'DTM+2:20261205:102'RFF+ON:P'"
            "LIN+1+7+4000862141404:EN'QTY+21:40'UNT+7+1'")
    line = one_document(body).lines[0]
    assert (line.status, line.quantity, line.ordered_quantity) == (
        LineStatus.REJECTED, Decimal(40), Decimal(40))
    assert line.delivery_date is None
    assert line.requested_delivery_date == date(2026, 12, 5)


def test_unreadable_line_date_does_not_inherit_the_header_date() -> None:
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+R+4'DTM+69:20261205:102'RFF+ON:P'"
            "LIN+1+5+4000862141404:EN'QTY+113:4'DTM+69:20260230:102'UNT+8+1'")
    assert one_document(body).lines[0].delivery_date is None


def test_price_per_hundred_units_becomes_a_unit_price() -> None:
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+R+4'RFF+ON:P'LIN+1+5+4000862141404:EN'QTY+113:500'"
            "PRI+AAA:6.10:CA::100:PCE'UNT+7+1'")
    doc = one_document(body)
    assert doc.lines[0].price == Decimal("0.061")
    assert codes(doc) == [ProblemCode.ASSUMED_VALUE.value]


def test_orders_lines_keep_the_bgm_order_when_a_party_carries_rff_on() -> None:
    """bots-edi/bots-plugins edifact/order_to_print/botssys/infile/edifax/orders96.edi:
    an EANCOM ORDERS whose supplier NAD group (SG3) carries RFF+ON (the supplier's own
    reference). The order is the BGM number, and every line belongs to it: the party's RFF+ON
    is not counted as a second order (which would leave every line with order_number None and
    an unlocated 'line N names no order and the message refers to 2 orders' warning)."""
    body = ("UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+4500094289+9'DTM+137:20050819:102'"
            "NAD+SU+5412345000013::9'RFF+ON:SU-ON-1234567890'NAD+BY+5400000000001::9'"
            "LIN+1++4000862141404:EN'QTY+21:1'UNS+S'UNT+9+1'")
    doc = one_document(body)
    assert [line.order_number for line in doc.lines] == ["4500094289"]
    assert doc.order_numbers == ["4500094289"]


def test_order_response_without_any_order_reference_is_flagged() -> None:
    """evergreen-library-system/Evergreen .../brodart/HOGJ-037.ack and round_01/evergreen-6.ack:
    real ORDRSPs with no RFF+ON or RFF+CR at all (only RFF+LI per line). The document comes
    out with order_numbers [] and a warning, so the buyer is told why the response cannot be
    matched to an order."""
    body = ("UNH+1+ORDRSP:D:96A:UN'BGM+231+HOGJ-037+4'DTM+137:20091217:102'"
            "NAD+SU+1697684::31B'LIN+1+5'PIA+5+9780753462591:EN'QTY+21:1'QTY+12:1'"
            "RFF+LI:17621/1'UNS+S'UNT+11+1'")
    doc = one_document(body)
    assert doc.order_numbers == []
    assert doc.warnings, "a response naming no order at all passes without a remark"


@pytest.mark.parametrize(("text", "form", "expected"), [
    # 2379 code 205 is CCYYMMDDHHMMZHHMM: the offset has a sign (released `+` under the
    # default UNA), not the 15 digits the reader expects.
    ("202612011030?+0100", "205", date(2026, 12, 1)),
    ("202612011030-0500", "205", date(2026, 12, 1)),
    # 202 YYMMDDHHMMSS and 719 CCYYMMDDHHMM-CCYYMMDDHHMM are calendar dates too (2379,
    # D93A-D10A); 718, the day-only range, is read, 719 is refused as "not a date format".
    ("261201103000", "202", date(2026, 12, 1)),
    ("202612011000-202612051200", "719", date(2026, 12, 1)),
])
def test_calendar_date_formats_with_time_zone_seconds_or_time_range_are_read(
        text: str, form: str, expected: date) -> None:
    doc = document_of(read(ordrsp(f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'DTM+69:{text}:{form}'")))
    assert doc.lines[0].delivery_date == expected
    assert "INVALID_DATE" not in [n.code for n in doc.warnings]


def test_line_requested_date_does_not_override_the_header_promised_date() -> None:
    """The header promises delivery on 10 December (DTM 69); the line only repeats the
    buyer's requested date (DTM 2). The line's delivery date is the promise, not the
    request: 69 ranks before 2 for ORDRSP, and a line date of a lower rank must not hide a
    header date of a higher one."""
    doc = document_of(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'DTM+2:20261201:102'",
        header="DTM+137:20261120:102'DTM+69:20261210:102'")))
    line = doc.lines[0]
    assert line.requested_delivery_date == date(2026, 12, 1)
    assert line.delivery_date == date(2026, 12, 10)


@pytest.mark.parametrize("body", [
    desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:\u00b2'"),                     # QTY 6060
    desadv("LIN+1++400086214140\u00b2:EN'QTY+12:5'"),                  # LIN 7140 typed EN
    desadv(f"CPS+1'GIN+BJ+34012345000000001\u00b2'LIN+1++{GTIN_1}:EN'QTY+12:5'"),  # SSCC
    desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'DTM+17:\u00b261201:101'"),     # DTM 101
    desadv(f"CPS+1'PAC+\u00b2++PK'LIN+1++{GTIN_1}:EN'QTY+12:5'"),       # PAC 7224
])
def test_superscript_digit_in_a_numeric_field_does_not_crash(body: str) -> None:
    """'²' (ISO 8859-1 0xB2, AltGr+2 on a German keyboard) is valid UNOC text, and
    str.isdigit() is true for it; int()/Decimal() then raise. A typo must become a null
    value and a warning, never a traceback that stops the whole batch."""
    results = read(body)  # must not raise
    assert documents(results) or errors(results)


def test_quantities_split_over_delivery_locations_are_not_cut_to_the_first() -> None:
    """ORDRSP LIN group, LOC-QTY-DTM: the quantity for each delivery location. The supplier
    confirms 30 to one place and 20 to another: the line commits 50, or a remark locates
    the split, so reconciliation never sees a shortage of 20 that does not exist."""
    doc = document_of(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+21:50'"
        "LOC+7+5400000000011::9'QTY+113:30'DTM+69:20261201:102'"
        "LOC+7+5400000000028::9'QTY+113:20'DTM+69:20261208:102'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, QTY 5, LOC 6, QTY 7, DTM 8, LOC 9, QTY 10, DTM 11
    assert doc.lines[0].quantity == Decimal(50) or any(
        n.segment in (9, 10) for n in doc.warnings)


def test_scheduled_quantities_are_not_replaced_by_the_ordered_quantity() -> None:
    """ORDRSP LIN group, SCC-FTX-RFF-SG(QTY-DTM): the supplier's delivery schedule. It
    commits 30 of the 50 ordered: the line commits 30, or a remark locates the schedule
    (segments: SCC 6, its QTY 7); the ordered 50 is never silently the commitment."""
    doc = document_of(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+21:50'SCC+1'QTY+113:30'DTM+69:20261201:102'")))
    line = doc.lines[0]
    assert line.quantity == Decimal(30) or any(n.segment in (6, 7) for n in doc.warnings)


def test_second_order_reference_of_a_line_is_not_dropped_silently() -> None:
    """One despatched line fulfils two order lines (SG16 RFF repeats). The second RFF+ON is
    kept as an order of the document or reported at its segment, never dropped without a
    word with all 5 pieces booked to PO2/10."""
    doc = document_of(read(desadv(
        f"LIN+1++{GTIN_1}:EN'QTY+12:5'RFF+ON:PO2:10'RFF+ON:PO3:20'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, QTY 5, RFF 6, RFF 7
    assert "PO3" in doc.order_numbers or any(n.segment == 7 for n in doc.warnings)


def test_order_reference_without_a_value_is_reported() -> None:
    """RFF+ON+B-88 puts the order number in the wrong element: C506 1154 is empty. The
    document has no order number, and a remark at the RFF (segment 3) says why."""
    body = "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+R1+29'RFF+ON+B-88'" \
           f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'UNS+S'UNT+7+1'"
    doc = document_of(read(body))
    assert doc.order_numbers == []
    assert any(n.segment == 3 and n.tag == "RFF" for n in doc.warnings), doc.warnings


def test_sscc_range_is_not_reduced_to_its_first_number() -> None:
    """GIN C208 is a range: identity number from, identity number to. Three pallets
    (PAC+3) sent as one range are three packages, and the line is not said to sit whole
    on the first pallet, which the message does not say."""
    doc = document_of(read(desadv(
        f"CPS+1'PAC+3++PX'GIN+BJ+340123450000000017:340123450000000031'"
        f"LIN+1++{GTIN_1}:EN'QTY+12:30'")))
    assert doc.shipment.packages == 3
    line = doc.lines[0]
    assert not (len(line.packages) == 1 and line.packages[0].quantity == Decimal(30))


def test_party_name_format_code_is_not_part_of_the_name() -> None:
    """C080 is five 3036 party names and 3045 party name format code; the code '1' is not
    part of the name."""
    doc = document_of(read(desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'",
                                   header="NAD+SU+++ACME GMBH:::::1'")))
    assert doc.parties[0].name == "ACME GMBH"


def test_space_placeholder_is_not_a_tracking_number() -> None:
    """Generators that pad empty elements with a space send 'TDT+20+ +30+31'. The blank
    8028 leaves the shipment's tracking number null, not ' '."""
    doc = document_of(read(desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'", header="TDT+20+ +30+31'")))
    assert doc.shipment.tracking_number is None


def test_item_id_typed_as_gtin_but_not_digits_stays_in_ids() -> None:
    """'ids: every identifier with its 7143 type' (README). An article number sent with the
    type EN is warned about as not a GTIN but stays in ids, so the line still identifies
    its item."""
    doc = document_of(read(desadv("LIN+1++ABC-1:EN'QTY+12:5'")))
    assert [(i.id, i.type) for i in doc.lines[0].item.ids] == [("ABC-1", "EN")]


def test_quantity_after_the_line_reference_is_not_dropped_without_a_remark() -> None:
    """Many senders put RFF+ON right after LIN. The RFF group (SG16 RFF-DTM) has no QTY, so
    the QTY after it can only be the line's, out of sequence: it is read as the line's
    quantity, or reported at its own segment (6), never dropped for a misleading 'line 1
    has no quantity' on the LIN."""
    doc = document_of(read(desadv(f"LIN+1++{GTIN_1}:EN'RFF+ON:PO1:10'QTY+12:5:PCE'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, RFF 5, QTY 6
    assert doc.lines[0].quantity == Decimal(5) or any(
        n.segment == 6 and n.tag == "QTY" for n in doc.warnings)


def sscc(serial: int) -> str:
    body = f"3541234{serial:010d}"
    return f"{body}{gs1_check_digit(body)}"


def test_ssccs_repeated_over_the_gins_of_a_level_are_kept_once_in_order() -> None:
    doc = document_of(read(desadv(
        f"CPS+1'GIN+BJ+{sscc(1)}+{sscc(2)}'GIN+BJ+{sscc(2)}+{sscc(3)}'GIN+BJ+{sscc(1)}'"
        f"LIN+1++{GTIN_1}:EN'QTY+12:30'")))
    assert [p.sscc for p in doc.lines[0].packages] == [sscc(1), sscc(2), sscc(3)]
    assert doc.shipment.packages == 3


def test_a_line_takes_the_ssccs_of_the_nearest_level_above_that_has_any() -> None:
    # ISO 9735 hierarchy: CPS 7166 names the parent level; levels 2 and 3 send no GIN.
    doc = document_of(read(desadv(
        f"CPS+1'GIN+BJ+{sscc(1)}'CPS+2+1'CPS+3+2'LIN+1++{GTIN_1}:EN'QTY+12:30'"
        f"CPS+4+3'GIN+BJ+{sscc(4)}+{sscc(5)}'LIN+2++{GTIN_2}:EN'QTY+12:5'"
        f"CPS+5'LIN+3++{GTIN_2}:EN'QTY+12:5'")))
    first, second, third = doc.lines
    assert [(p.sscc, p.quantity) for p in first.packages] == [(sscc(1), Decimal(30))]
    assert [(p.sscc, p.quantity) for p in second.packages] == [(sscc(4), None),
                                                                (sscc(5), None)]
    assert third.packages == []


def test_desadv_lines_under_a_level_of_many_ssccs_stop_at_the_segments_and_ssccs_read() -> None:
    # Every line under a CPS level takes all of its SSCCs: 40 SSCCs over 40 lines would be
    # 1,600 packages from 126 segments. The packages stop at the segments and SSCCs read
    # (126 + 40), with a warning at the LIN of the first line that gets none.
    gins = [f"GIN+BJ+{sscc(serial)}'" for serial in range(40)]
    lines = [f"LIN+{index + 1}++{GTIN_1}:EN'QTY+12:1'" for index in range(40)]
    doc = document_of(read(desadv(f"CPS+1'PAC+40++PX'{''.join(gins)}{''.join(lines)}")))
    assert [len(line.packages) for line in doc.lines[:5]] == [40, 40, 40, 40, 0]
    assert all(line.packages == [] for line in doc.lines[4:])
    [warning] = [w for w in doc.warnings if w.code == ProblemCode.OVER_LIMIT.value]
    # UNH 1, BGM 2, RFF 3, CPS 4, PAC 5, GIN 6-45, LIN+1 46 ... LIN+5 54
    assert (warning.segment, warning.tag) == (54, "LIN")
    assert "line 5" in warning.detail
    assert "40 SSCCs" in warning.detail
    assert doc.shipment.packages == 40


def test_a_line_under_a_large_sscc_range_takes_all_of_its_packages() -> None:
    # One GIN range (C208 from:to) names 300 pallets in one segment: the line takes them all.
    doc = document_of(read(desadv(
        f"CPS+1'PAC+300++PX'GIN+BJ+{sscc(0)}:{sscc(299)}'LIN+1++{GTIN_1}:EN'QTY+12:300'")))
    assert [p.sscc for p in doc.lines[0].packages] == [sscc(serial) for serial in range(300)]
    assert ProblemCode.OVER_LIMIT.value not in codes(doc)
    assert doc.shipment.packages == 300


def test_order_numbers_are_listed_once_each_header_ones_first() -> None:
    body = ("UNH+1+DESADV:D:96A:UN'BGM+351+D1+9'RFF+ON:A'RFF+ON:B'RFF+ON:A'"
            f"LIN+1++{GTIN_1}:EN'QTY+12:1'RFF+ON:B'LIN+2++{GTIN_1}:EN'QTY+12:1'RFF+ON:C'"
            f"LIN+3++{GTIN_1}:EN'QTY+12:1'RFF+ON:C'LIN+4++{GTIN_1}:EN'QTY+12:1'RFF+ON:D'"
            "UNT+17+1'")
    doc = one_document(body)
    assert doc.order_numbers == ["A", "B", "C", "D"]
    assert [line.order_number for line in doc.lines] == ["B", "C", "C", "D"]


def test_sscc_ranges_stop_at_the_message_limit_and_keep_their_ends() -> None:
    # Each GIN range names 10,000 pallets in one segment: eleven of them would be 110,000.
    firsts = range(0, 110_000, 10_000)
    gins = [f"GIN+BJ+{sscc(first)}:{sscc(first + 9_999)}'" for first in firsts]
    doc = document_of(read(desadv(f"CPS+1'{''.join(gins)}")))
    [warning] = [w for w in doc.warnings if w.code == ProblemCode.OVER_LIMIT.value]
    # UNH 1, BGM 2, RFF 3, CPS 4, GIN 5-15: the eleventh GIN is segment 15
    assert (warning.segment, warning.tag) == (15, "GIN")
    assert f"{sscc(100_000)}:{sscc(109_999)}" in warning.detail
    assert doc.shipment.packages == 100_002
