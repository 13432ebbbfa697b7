"""Review of the EDIFACT reader: inputs it gets wrong (each test fails because of a bug).

Every input is a short synthetic reproduction built inline; none is copied from public files.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import Document
from mappings.registry import read_stream
from parsers.errors import Problem

UNA = "UNA:+.? '"
UNB = "UNB+UNOC:3+S:14+R:14+261120:1015+IC1'"
UNZ = "UNZ+1+IC1'"
GTIN_1 = "4000862141404"
GTIN_2 = "4000862141411"

Result = Document | Problem


def read_bytes(data: bytes) -> list[Result]:
    return list(read_stream(io.BufferedReader(io.BytesIO(data)), "review.edi"))


def read(body: str, head: str = UNA + UNB, encoding: str = "latin-1") -> list[Result]:
    return read_bytes((head + body + UNZ).encode(encoding))


def documents(results: list[Result]) -> list[Document]:
    return [r for r in results if isinstance(r, Document)]


def one_document(results: list[Result]) -> Document:
    found = documents(results)
    assert len(found) == 1, results
    return found[0]


def errors(results: list[Result]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem) and r.is_error]


def ordrsp(lines: str, header: str = "") -> str:
    return (f"UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+R1+29'{header}RFF+ON:PO1'{lines}"
            "UNS+S'UNT+99+1'")


def desadv(lines: str, header: str = "") -> str:
    return f"UNH+1+DESADV:D:96A:UN:EAN005'BGM+351+D1+9'{header}RFF+ON:PO1'{lines}UNT+99+1'"


# -- dates -------------------------------------------------------------------------------------


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
    doc = one_document(read(ordrsp(f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'DTM+69:{text}:{form}'")))
    assert doc.lines[0].delivery_date == expected
    assert "INVALID_DATE" not in [n.code for n in doc.warnings]


def test_line_requested_date_does_not_override_the_header_promised_date() -> None:
    """The header promises delivery on 10 December (DTM 69); the line only repeats the
    buyer's requested date (DTM 2). The line's delivery date is the promise, not the
    request: 69 ranks before 2 for ORDRSP, and a line date of a lower rank must not hide a
    header date of a higher one."""
    doc = one_document(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'DTM+2:20261201:102'",
        header="DTM+137:20261120:102'DTM+69:20261210:102'")))
    line = doc.lines[0]
    assert line.requested_delivery_date == date(2026, 12, 1)
    assert line.delivery_date == date(2026, 12, 10)


# -- crashes -----------------------------------------------------------------------------------


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


def test_superscript_digit_in_the_syntax_version_does_not_crash() -> None:
    data = (UNA + "UNB+UNOC:\u00b2+S:14+R:14+261120:1015+IC1'"
            + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'") + UNZ).encode("latin-1")
    results = read_bytes(data)  # must not raise (tokenizer._adopt_syntax_version)
    assert documents(results) or errors(results)


# -- tokenizer ---------------------------------------------------------------------------------


def test_line_feed_terminator_in_a_file_with_crlf_line_ends() -> None:
    """UNA declares LF as the terminator; the file went through a Windows system and has
    CR LF. The CR before each terminator is not data (UNOA-UNOC have no control characters):
    it must not end up in every last value ('PO1\\r', '5\\r', 'EN\\r')."""
    segments = ["UNB+UNOC:3+S:14+R:14+261120:1015+IC1", "UNH+1+DESADV:D:96A:UN:EAN005",
                "BGM+351+D1+9", "RFF+ON:PO1", f"LIN+1++{GTIN_1}:EN", "QTY+12:5", "UNT+6+1",
                "UNZ+1+IC1"]
    data = ("UNA:+.? \n" + "\r\n".join(segments) + "\r\n").encode()
    doc = one_document(read_bytes(data))
    assert doc.order_numbers == ["PO1"]
    assert doc.function_code == "9"
    assert doc.lines[0].item.gtin == GTIN_1
    assert doc.lines[0].quantity == Decimal(5)
    assert doc.warnings == []


def test_una_of_a_second_interchange_after_a_missing_unz() -> None:
    """The first interchange lacks its UNZ; the second starts with its own UNA. A UNA can
    only open an interchange (ISO 9735-1, 7.1): its service characters must be adopted,
    not the UNA reported as an invalid segment tag and the second interchange lost."""
    first = UNA + UNB + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'")
    second = ("UNA>|.? ~UNB|UNOC>3|S>14|R>14|261120>1015|IC2~UNH|2|DESADV>D>96A>UN>EAN005~"
              f"BGM|351|D2|9~RFF|ON>PO2~LIN|1||{GTIN_2}>EN~QTY|12>7~UNT|6|2~UNZ|1|IC2~")
    results = read_bytes((first + "\r\n" + second).encode())
    found = documents(results)
    assert [d.document_number for d in found] == ["D1", "D2"]
    assert found[1].lines[0].quantity == Decimal(7)


def test_typographic_apostrophe_inside_a_name_is_not_a_terminator() -> None:
    """A UTF-8 file with proper ' terminators and a French name with U+2019 in it. The repair
    of U+2019 as a terminator must not split the NAD where three capitals and a data
    separator follow it (D, U+2019, ART+...): the name is cut and 'ART' becomes a segment."""
    body = desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'",
                  header="NAD+SU+++BOULANGERIE D\u2019ART+1 RUE X+PARIS++75001+FR'")
    doc = one_document(read(body, head=UNA + "UNB+UNOW:3+S:14+R:14+261120:1015+IC1'",
                            encoding="utf-8"))
    assert doc.parties[0].name == "BOULANGERIE D\u2019ART"
    assert "UNKNOWN_SEGMENT" not in [n.code for n in doc.warnings]


def test_windows_1252_typographic_quote_is_repaired_like_the_utf8_one() -> None:
    """The U+2019 quote typed as terminator arrives as byte 0x92 from a Windows-1252 editor (read as
    U+0092 under UNOC). It is repaired for UTF-8 but here merges two lines into one QTY."""
    body = desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5\x92LIN+2++{GTIN_2}:EN'QTY+12:7'")
    data = (UNA + UNB).encode() + body.encode("latin-1") + UNZ.encode()
    doc = one_document(read_bytes(data))
    assert [line.quantity for line in doc.lines] == [Decimal(5), Decimal(7)]


def test_missing_terminator_before_a_line_break_does_not_swallow_the_next_line() -> None:
    """One segment lost its terminator in a CRLF file. The next line starts with a segment
    tag of this file and a data separator, and the cut line is far shorter than any wrap
    width: it is a new segment (as UNH/UNT already are), not a wrapped continuation. Merged,
    line 1 gets the unit 'PCELIN' and line 2 (7 pieces) disappears."""
    segments = [UNA.rstrip("'"), UNB, "UNH+1+DESADV:D:96A:UN:EAN005'", "BGM+351+D1+9'",
                "RFF+ON:PO1'", f"LIN+1++{GTIN_1}:EN'", "QTY+12:5:PCE",
                f"LIN+2++{GTIN_2}:EN'", "QTY+12:7:PCE'", "UNT+8+1'", UNZ]
    data = ("UNA:+.? '\r\n" + "\r\n".join(segments[1:]) + "\r\n").encode()
    doc = one_document(read_bytes(data))
    assert [(line.quantity, line.unit) for line in doc.lines] == [
        (Decimal(5), "PCE"), (Decimal(7), "PCE")]


def test_released_terminator_followed_by_a_segment_is_not_merged_silently() -> None:
    """'sooner?' ends a free text with an unescaped question mark, so the release character
    escapes the terminator and LIN 2 becomes part of the FTX. By ISO 9735 that FTX then has
    seven data elements where FTX has five: the merge is detectable. Today the only trace is
    a UNT count warning; line 2 (7 pieces) vanishes from an accepted document."""
    results = read(ordrsp(f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'FTX+AAI+++Can we deliver sooner?'"
                          f"LIN+2+5+{GTIN_2}:EN'QTY+113:7'"))
    located = [p.segment for p in results if isinstance(p, Problem)]
    doc = documents(results)
    if doc:
        located += [n.segment for n in doc[0].warnings]
        assert len(doc[0].lines) == 2 or 6 in located  # FTX is segment 6 of the message
    else:
        assert 6 in located


def test_leading_blank_lines_before_una_are_tolerated() -> None:
    """The tokenizer skips leading white space, but the format sniff looks at 64 bytes only:
    a file with a few blank lines before UNA is refused as "format not recognised"."""
    data = b"\r\n" * 40 + (UNA + UNB + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'") + UNZ).encode()
    doc = one_document(read_bytes(data))
    assert doc.lines[0].quantity == Decimal(5)


# -- envelope ----------------------------------------------------------------------------------


def test_message_body_without_unh_is_an_error_not_a_warning() -> None:
    """The second message's UNH is garbled ('UHN'). Its BGM, LIN, QTY and UNT are dropped
    with warnings only, so the file reports no error (exit status 0) although a whole
    despatch advice was not read. Data that cannot be placed in a message is refused
    (ISO 9735 syntax error 33, 'invalid occurrence outside message')."""
    body = (desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'").replace("UNT+99+1'", "UNT+6+1'")
            + f"UHN+2+DESADV:D:96A:UN:EAN005'BGM+351+D2+9'RFF+ON:PO2'LIN+1++{GTIN_2}:EN'"
            "QTY+12:7'UNT+6+2'")
    results = read(body)
    assert errors(results), results


# -- line mapping ------------------------------------------------------------------------------


def test_quantities_split_over_delivery_locations_are_not_cut_to_the_first() -> None:
    """ORDRSP LIN group, LOC-QTY-DTM: the quantity for each delivery location. The supplier
    confirms 30 to one place and 20 to another; the line is read as 30 committed, without
    a remark, so reconciliation sees a shortage of 20 that does not exist."""
    doc = one_document(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+21:50'"
        "LOC+7+5400000000011::9'QTY+113:30'DTM+69:20261201:102'"
        "LOC+7+5400000000028::9'QTY+113:20'DTM+69:20261208:102'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, QTY 5, LOC 6, QTY 7, DTM 8, LOC 9, QTY 10, DTM 11
    assert doc.lines[0].quantity == Decimal(50) or any(
        n.segment in (9, 10) for n in doc.warnings)


def test_scheduled_quantities_are_not_replaced_by_the_ordered_quantity() -> None:
    """ORDRSP LIN group, SCC-FTX-RFF-SG(QTY-DTM): the supplier's delivery schedule. It
    commits 30 of the 50 ordered; the reader ignores the schedule and reports the ordered
    50 as the commitment, with no remark (segments: SCC 6, its QTY 7)."""
    doc = one_document(read(ordrsp(
        f"LIN+1+5+{GTIN_1}:EN'QTY+21:50'SCC+1'QTY+113:30'DTM+69:20261201:102'")))
    line = doc.lines[0]
    assert line.quantity == Decimal(30) or any(n.segment in (6, 7) for n in doc.warnings)


def test_second_order_reference_of_a_line_is_not_dropped_silently() -> None:
    """One despatched line fulfils two order lines (SG16 RFF repeats). The second RFF+ON is
    dropped without a word and all 5 pieces are booked to PO2/10."""
    doc = one_document(read(desadv(
        f"LIN+1++{GTIN_1}:EN'QTY+12:5'RFF+ON:PO2:10'RFF+ON:PO3:20'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, QTY 5, RFF 6, RFF 7
    assert "PO3" in doc.order_numbers or any(n.segment == 7 for n in doc.warnings)


def test_order_reference_without_a_value_is_reported() -> None:
    """RFF+ON+B-88 puts the order number in the wrong element: C506 1154 is empty. The
    reference is skipped silently; the document has no order number and no remark."""
    body = "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+R1+29'RFF+ON+B-88'" \
           f"LIN+1+5+{GTIN_1}:EN'QTY+113:5'UNS+S'UNT+7+1'"
    doc = one_document(read(body))
    assert doc.order_numbers == []
    assert any(n.segment == 3 and n.tag == "RFF" for n in doc.warnings), doc.warnings


def test_sscc_range_is_not_reduced_to_its_first_number() -> None:
    """GIN C208 is a range: identity number from, identity number to. Three pallets
    (PAC+3) sent as one range are counted as one package, and the whole line is said to
    sit on the first pallet, which the message does not say."""
    doc = one_document(read(desadv(
        f"CPS+1'PAC+3++PX'GIN+BJ+340123450000000017:340123450000000031'"
        f"LIN+1++{GTIN_1}:EN'QTY+12:30'")))
    assert doc.shipment.packages == 3
    line = doc.lines[0]
    assert not (len(line.packages) == 1 and line.packages[0].quantity == Decimal(30))


def test_party_name_format_code_is_not_part_of_the_name() -> None:
    """C080 is five 3036 party names and 3045 party name format code; the code '1' is
    appended to the name."""
    doc = one_document(read(desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'",
                                   header="NAD+SU+++ACME GMBH:::::1'")))
    assert doc.parties[0].name == "ACME GMBH"


def test_space_placeholder_is_not_a_tracking_number() -> None:
    """Generators that pad empty elements with a space send 'TDT+20+ +30+31'. The blank
    8028 becomes the shipment's tracking number ' ' instead of null."""
    doc = one_document(read(desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'", header="TDT+20+ +30+31'")))
    assert doc.shipment.tracking_number is None


def test_item_id_typed_as_gtin_but_not_digits_stays_in_ids() -> None:
    """'ids: every identifier with its 7143 type' (README). An article number sent with the
    type EN is warned about as not a GTIN (right) but also removed from ids, so the line
    identifies no item at all."""
    doc = one_document(read(desadv("LIN+1++ABC-1:EN'QTY+12:5'")))
    assert [(i.id, i.type) for i in doc.lines[0].item.ids] == [("ABC-1", "EN")]


def test_quantity_after_the_line_reference_is_not_dropped_without_a_remark() -> None:
    """Many senders put RFF+ON right after LIN. The RFF group (SG16 RFF-DTM) has no QTY, so
    the QTY after it can only be the line's, out of sequence. It is dropped, and the only
    remark is 'line 1 has no quantity' on the LIN, which is not what the message says."""
    doc = one_document(read(desadv(f"LIN+1++{GTIN_1}:EN'RFF+ON:PO1:10'QTY+12:5:PCE'")))
    # UNH 1, BGM 2, RFF 3, LIN 4, RFF 5, QTY 6
    assert doc.lines[0].quantity == Decimal(5) or any(
        n.segment == 6 and n.tag == "QTY" for n in doc.warnings)


def test_an_interchange_declaring_another_repertoire_is_reported() -> None:
    """Two interchanges in one file: UNOC (ISO 8859-1) with a non-ASCII name, then UNOW
    (UTF-8). The stream is decoded with the first interchange's repertoire, so the second's
    name is misread; that must not be silent (per-interchange decoding is not done yet)."""
    first = (UNA + UNB + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'", header="NAD+SU+++Müller'")
             + UNZ).encode("latin-1")
    second = (UNA + "UNB+UNOW:3+S:14+R:14+261120:1015+IC2'"
              + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'", header="NAD+SU+++Müller'")
              + "UNZ+1+IC2'").encode("utf-8")
    results = read_bytes(first + b"\r\n" + second)
    assert documents(results)[0].parties[0].name == "Müller"
    flagged = [r for r in results if isinstance(r, Problem) and r.code.value == "CHARSET_MISMATCH"]
    assert [(p.tag, "UNOW" in p.detail) for p in flagged] == [("UNB", True)]
