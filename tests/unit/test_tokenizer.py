"""The streaming tokenizer: same segments as pydifact, and every repair reported."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal

import pytest
from pydifact.segmentcollection import Interchange

from parsers.edifact import Delimiters, Segment, iter_segments, tokenize_text
from parsers.edifact.tokenizer import Tokenizer
from parsers.errors import (
    NotEdifactError,
    Problem,
    ProblemCode,
    SegmentTooLongError,
    ServiceStringError,
)
from tests.unit.test_mapping import (
    GTIN_1,
    GTIN_2,
    UNA,
    UNB,
    UNZ,
    desadv,
    document_of,
    documents,
    errors,
    ordrsp,
    read,
    read_bytes,
)

SAMPLE = (
    "UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000001:14+261120:1015+REF1'"
    "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-991+4'DTM+137:20261120:102'"
    "RFF+ON:4500012345'LIN+1+3+4000862141404:EN'IMD+F++:::Bolt M8?+nut?'s ?:set'"
    "QTY+113:80:PCE'UNS+S'UNT+8+1'UNZ+1+REF1'"
)


def tokens(data: bytes, chunk_size: int = 1 << 20) -> list[Segment | Problem]:
    return list(iter_segments(io.BytesIO(data), chunk_size=chunk_size))


def segments(data: bytes, chunk_size: int = 1 << 20) -> list[Segment]:
    return [t for t in tokens(data, chunk_size) if isinstance(t, Segment)]


def problems(data: bytes) -> list[Problem]:
    return [t for t in tokens(data) if isinstance(t, Problem)]


def pydifact_segments(text: str) -> list[tuple[str, list[object]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = Interchange.from_str(text)
        found = [(interchange.get_header_segment().tag, interchange.get_header_segment().elements)]
        found += [(s.tag, list(s.elements)) for s in interchange.segments]
        found.append((interchange.get_footer_segment().tag,
                      interchange.get_footer_segment().elements))
    return found


def test_same_segments_as_pydifact() -> None:
    ours = [(s.tag, s.elements) for s in segments(SAMPLE.encode("latin-1"))]
    assert ours == pydifact_segments(SAMPLE)


def test_release_character_protects_separators() -> None:
    imd = next(s for s in segments(SAMPLE.encode()) if s.tag == "IMD")
    assert imd.elements == ["F", "", ["", "", "", "Bolt M8+nut's :set"]]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64])
def test_chunk_boundaries_do_not_change_segments(chunk_size: int) -> None:
    data = SAMPLE.encode()
    assert segments(data, chunk_size) == segments(data)


def test_segments_are_numbered_from_one_without_una() -> None:
    numbers = [s.number for s in segments(SAMPLE.encode())]
    assert numbers == list(range(1, len(numbers) + 1))


def test_custom_service_string_advice() -> None:
    data = b"UNA|^,# !UNB^UNOC|3^A^B^261120|1015^R!UNH^1^ORDRSP|D|96A|UN!QTY^113|12,5#!x!"
    qty = next(s for s in segments(data) if s.tag == "QTY")
    assert qty.elements == [["113", "12,5!x"]]


def test_bad_service_string_is_refused() -> None:
    with pytest.raises(ServiceStringError):
        tokens(b"UNA+++? 'UNB+UNOC:3'")


def test_not_edifact_is_refused_with_our_error() -> None:
    with pytest.raises(NotEdifactError, match="expected UNA, UNB or UNH"):
        tokens(b"%PDF-1.7 not an interchange")


def test_byte_order_mark_and_line_breaks_are_tolerated() -> None:
    data = ("\ufeff" + SAMPLE.replace("'", "'\r\n")).encode("utf-8")
    assert [s.tag for s in segments(data)] == [s.tag for s in segments(SAMPLE.encode())]


def test_hard_wrapped_file_rejoins_cut_segment_tags() -> None:
    flat = SAMPLE.encode()
    wrapped = b"\r\n".join(flat[i : i + 37] for i in range(0, len(flat), 37))
    assert segments(wrapped) == segments(flat)


def test_text_after_terminator_is_dropped_with_a_warning() -> None:
    data = b"UNH+1+DESADV:D:96A:UN'BGM+351+X'  No de BL\r\nDTM+11:20260101:102'UNT+4+1'"
    found = tokens(data)
    tags = [t.tag for t in found if isinstance(t, Segment)]
    assert tags == ["UNH", "BGM", "DTM", "UNT"]
    junk = [t for t in found if isinstance(t, Problem)]
    assert [p.code for p in junk] == [ProblemCode.TEXT_OUTSIDE_SEGMENT]
    assert "No de BL" in junk[0].detail


def test_typographic_quote_before_a_tag_is_a_terminator() -> None:
    data = "UNH+1+ORDRSP:D:96A:UN'IMD+F++:::O\u2019Brien\u2019QTY+21:3\u2019UNT+4+1'".encode()
    found = tokens(data)
    seg = [t for t in found if isinstance(t, Segment)]
    assert [s.tag for s in seg] == ["UNH", "IMD", "QTY", "UNT"]
    assert seg[1].elements[2] == ["", "", "", "O\u2019Brien"]
    assert [p.code for p in found if isinstance(p, Problem)] == [
        ProblemCode.TYPOGRAPHIC_TERMINATOR]


def test_unterminated_last_segment_is_kept_with_a_warning() -> None:
    found = tokens(b"UNH+1+DESADV:D:96A:UN'UNT+2+1'UNZ+1+X")
    assert [t.tag for t in found if isinstance(t, Segment)][-1] == "UNZ"
    assert ProblemCode.UNTERMINATED_SEGMENT in [p.code for p in found if isinstance(p, Problem)]


def test_invalid_segment_tag_is_an_error_not_a_merge() -> None:
    found = tokens(b"UNH+1+DESADV:D:96A:UN'q!x+1'UNT+3+1'")
    bad = [p for p in found if isinstance(p, Problem)]
    assert [p.code for p in bad] == [ProblemCode.INVALID_SEGMENT_TAG]
    assert bad[0].is_error
    assert bad[0].segment == 2


def test_syntax_version_4_brings_the_repetition_separator() -> None:
    data = b"UNB+UNOC:4+A+B+20261120:1015+R'UNH+1+ORDRSP:D:01B:UN'COM+1:TE*2:FX'"
    com = next(s for s in segments(data) if s.tag == "COM")
    assert com.elements == [(["1", "TE"], ["2", "FX"])]
    assert com.element(0) == ["1", "TE"]
    assert com.repetitions(0) == (["1", "TE"], ["2", "FX"])


def test_syntax_version_3_has_no_repetition_separator() -> None:
    data = b"UNB+UNOC:3+A+B+261120:1015+R'UNH+1+ORDRSP:D:96A:UN'FTX+AAI+++5*3'"
    ftx = next(s for s in segments(data) if s.tag == "FTX")
    assert ftx.elements[-1] == "5*3"


def test_second_interchange_may_bring_its_own_separators() -> None:
    data = (b"UNB+UNOC:3+A+B+261120:1015+R1'UNZ+0+R1'\n"
            b"UNA:+.? !UNB+UNOC:3+A+B+261120:1015+R2!UNH+1+DESADV:D:96A:UN!UNT+2+1!UNZ+1+R2!")
    tags = [s.tag for s in segments(data)]
    assert tags == ["UNB", "UNZ", "UNB", "UNH", "UNT", "UNZ"]


@pytest.mark.parametrize(
    ("declared", "payload", "expected", "note"),
    [
        ("UNOC", "Müller".encode("latin-1"), "Müller", None),
        ("UNOC", "Müller".encode(), "Müller", ProblemCode.CHARSET_MISMATCH),
        ("UNOW", "采购订单".encode(), "采购订单", None),
        ("UNOY", "Straße".encode(), "Straße", None),
        ("UNOA", "N°".encode("latin-1"), "N°", ProblemCode.CHARSET_MISMATCH),
        ("UNOD", "Łódź".encode("iso8859-2"), "Łódź", None),
    ],
)
def test_character_repertoires_decode(declared: str, payload: bytes, expected: str,
                                      note: ProblemCode | None) -> None:
    data = (f"UNB+{declared}:3+A+B+261120:1015+R'UNH+1+ORDRSP:D:96A:UN'IMD+F++:::".encode()
            + payload + b"'UNT+3+1'UNZ+1+R'")
    imd = next(s for s in segments(data) if s.tag == "IMD")
    assert imd.component(2, 3) == expected
    assert [p.code for p in problems(data)] == ([note] if note else [])


def test_invalid_utf8_bytes_are_kept_and_reported() -> None:
    data = b"UNB+UNOW:4+A+B+20261120:1015+R'UNH+1+ORDRSP:D:01B:UN'IMD+F++:::ab\xff'UNT+3+1'"
    imd = next(s for s in segments(data) if s.tag == "IMD")
    assert imd.component(2, 3) == "ab\xff"
    assert ProblemCode.UNDECODABLE_BYTES in [p.code for p in problems(data)]


def test_tokenize_text_and_service_string_round_trip() -> None:
    advice = Delimiters(component="|", data="^", decimal=",", release="#", terminator="!")
    assert Delimiters.from_service_string(advice.service_string()[3:]) == advice
    assert [s.tag for s in tokenize_text(SAMPLE)][:2] == ["UNB", "UNH"]


def test_tokenizer_keeps_state_between_feeds() -> None:
    tokenizer = Tokenizer()
    first = list(tokenizer.feed("UNH+1+ORDRSP:D:96A:UN'BG", final=False))
    second = list(tokenizer.feed("M+231+X'", final=True))
    assert [t.tag for t in first + second if isinstance(t, Segment)] == ["UNH", "BGM"]


def test_iso_2022_escape_sequences_are_decoded() -> None:
    payload = "発注".encode("iso2022_jp_2")
    data = (b"UNB+UNOX:3+A+B+261120:1015+R'UNH+1+ORDRSP:D:96A:UN'IMD+F++:::" + payload
            + b"'UNT+3+1'UNZ+1+R'")
    imd = next(s for s in segments(data) if s.tag == "IMD")
    assert imd.component(2, 3) == "発注"


def test_late_utf8_after_a_long_ascii_start_is_still_detected() -> None:
    filler = b"FTX+AAI+++" + b"x" * 70 + b"'"
    data = (b"UNB+UNOC:3+A+B+261120:1015+R'UNH+1+ORDRSP:D:96A:UN'" + filler * 3000
            + "IMD+F++:::Grüße'".encode() + b"UNT+3+1'UNZ+1+R'")
    imd = next(s for s in segments(data, chunk_size=4096) if s.tag == "IMD")
    assert imd.component(2, 3) == "Grüße"


def test_second_interchange_without_una_returns_to_default_separators() -> None:
    data = (b"UNA|^.? 'UNB^UNOC|3^A^B^261120|1015^R1'UNZ^0^R1'\n"
            b"UNB+UNOC:3+A+B+261120:1015+R2'UNH+1+DESADV:D:96A:UN'UNT+2+1'UNZ+1+R2'")
    unh = next(s for s in segments(data) if s.tag == "UNH")
    assert unh.elements == ["1", ["DESADV", "D", "96A", "UN"]]


def test_wrap_between_release_character_and_terminator() -> None:
    data = b"UNH+1+ORDRSP:D:96A:UN'IMD+F++:::it?\r\n's 100'UNT+3+1'"
    imd = next(s for s in segments(data) if s.tag == "IMD")
    assert imd.component(2, 3) == "it's 100"


def test_a_file_without_terminators_is_refused_not_buffered() -> None:
    data = b"UNB+UNOC:3+A+B+261120:1015+R'UNH+1+ORDRSP:D:96A:UN'FTX+AAI+++" + b"x" * (3 << 20)
    with pytest.raises(SegmentTooLongError, match="no segment terminator"):
        tokens(data, chunk_size=1 << 16)


def test_superscript_digit_in_the_syntax_version_does_not_crash() -> None:
    data = (UNA + "UNB+UNOC:\u00b2+S:14+R:14+261120:1015+IC1'"
            + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'") + UNZ).encode("latin-1")
    results = read_bytes(data)  # must not raise (tokenizer._adopt_syntax_version)
    assert documents(results) or errors(results)


def test_line_feed_terminator_in_a_file_with_crlf_line_ends() -> None:
    """UNA declares LF as the terminator; the file went through a Windows system and has
    CR LF. The CR before each terminator is not data (UNOA-UNOC have no control characters):
    it must not end up in every last value ('PO1\\r', '5\\r', 'EN\\r')."""
    segments = ["UNB+UNOC:3+S:14+R:14+261120:1015+IC1", "UNH+1+DESADV:D:96A:UN:EAN005",
                "BGM+351+D1+9", "RFF+ON:PO1", f"LIN+1++{GTIN_1}:EN", "QTY+12:5", "UNT+6+1",
                "UNZ+1+IC1"]
    data = ("UNA:+.? \n" + "\r\n".join(segments) + "\r\n").encode()
    doc = document_of(read_bytes(data))
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
    separator follow it (D, U+2019, ART+...): the name stays whole and 'ART' is no segment."""
    body = desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'",
                  header="NAD+SU+++BOULANGERIE D\u2019ART+1 RUE X+PARIS++75001+FR'")
    doc = document_of(read(body, head=UNA + "UNB+UNOW:3+S:14+R:14+261120:1015+IC1'",
                            encoding="utf-8"))
    assert doc.parties[0].name == "BOULANGERIE D\u2019ART"
    assert "UNKNOWN_SEGMENT" not in [n.code for n in doc.warnings]


def test_windows_1252_typographic_quote_is_repaired_like_the_utf8_one() -> None:
    """The U+2019 quote typed as terminator arrives as byte 0x92 from a Windows-1252 editor (read as
    U+0092 under UNOC). It is repaired as for UTF-8, so the two lines stay two."""
    body = desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5\x92LIN+2++{GTIN_2}:EN'QTY+12:7'")
    data = (UNA + UNB).encode() + body.encode("latin-1") + UNZ.encode()
    doc = document_of(read_bytes(data))
    assert [line.quantity for line in doc.lines] == [Decimal(5), Decimal(7)]


def test_missing_terminator_before_a_line_break_does_not_swallow_the_next_line() -> None:
    """One segment lost its terminator in a CRLF file. The next line starts with a segment
    tag of this file and a data separator, and the cut line is far shorter than any wrap
    width: it is a new segment (as UNH/UNT already are), not a wrapped continuation that
    would give line 1 the unit 'PCELIN' and lose line 2 (7 pieces)."""
    segments = [UNA.rstrip("'"), UNB, "UNH+1+DESADV:D:96A:UN:EAN005'", "BGM+351+D1+9'",
                "RFF+ON:PO1'", f"LIN+1++{GTIN_1}:EN'", "QTY+12:5:PCE",
                f"LIN+2++{GTIN_2}:EN'", "QTY+12:7:PCE'", "UNT+8+1'", UNZ]
    data = ("UNA:+.? '\r\n" + "\r\n".join(segments[1:]) + "\r\n").encode()
    doc = document_of(read_bytes(data))
    assert [(line.quantity, line.unit) for line in doc.lines] == [
        (Decimal(5), "PCE"), (Decimal(7), "PCE")]


def test_released_terminator_followed_by_a_segment_is_not_merged_silently() -> None:
    """'sooner?' ends a free text with an unescaped question mark, so the release character
    escapes the terminator and LIN 2 becomes part of the FTX. By ISO 9735 that FTX then has
    seven data elements where FTX has five: the merge is detectable, so either line 2 is
    read or the FTX (segment 6) is reported; line 2 (7 pieces) never vanishes silently."""
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
    """The tokenizer skips leading white space, and so does the format sniff: a file with a
    few blank lines before UNA is read, not refused as "format not recognised"."""
    data = b"\r\n" * 40 + (UNA + UNB + desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'") + UNZ).encode()
    doc = document_of(read_bytes(data))
    assert doc.lines[0].quantity == Decimal(5)


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




@pytest.mark.parametrize(("text", "count", "expected"), [
    ("QTY+12:127:PCE", 3, ["12", "127", "PCE"]),
    ("QTY+12:127", 3, ["12", "127", ""]),
    ("QTY+12", 3, ["12", "", ""]),
    ("QTY+12:127:PCE:X", 3, ["12", "127", "PCE"]),
    ("LIN+1++4000862141404:EN", 2, ["", ""]),
])
def test_padded_components_fill_what_the_sender_left_out(text: str, count: int,
                                                          expected: list[str]) -> None:
    segment = tokenize_text(f"UNH+1+DESADV:D:96A:UN'{text}'")[1]
    assert segment.padded(0 if text.startswith("QTY") else 1, count) == expected


def test_released_terminators_in_some_segments_leave_the_others_on_the_fast_path() -> None:
    # One chunk holds a released terminator (O?'Neil) and a release character before a line
    # break: only those segments are joined; the ones around them split as usual.
    data = (f"{UNA}\n{UNB}\nUNH+1+DESADV:D:96A:UN'\nNAD+BY+1::9++O?'Neil'\nIMD+F++:::Ring 1?:10'"
            f"\nQTY+12:5:PCE'\nUNT+5+1'\n{UNZ}").encode()
    found = segments(data)
    assert [s.tag for s in found] == ["UNB", "UNH", "NAD", "IMD", "QTY", "UNT", "UNZ"]
    assert found[2].component(3, 0) == "O'Neil"
    assert found[3].component(2, 3) == "Ring 1:10"
    assert found[4].padded(0, 3) == ["12", "5", "PCE"]
