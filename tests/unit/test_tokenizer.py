"""The streaming tokenizer: same segments as pydifact, and every repair reported."""

from __future__ import annotations

import io
import warnings

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
