"""The raw excerpt of an exception's message: EDIFACT one segment per line with the line group
highlighted (release characters and UNA respected), text with the lines naming the order."""

from __future__ import annotations

from gateway.web.excerpt import edifact_excerpt, edifact_segments, text_excerpt

INTERCHANGE = (b"UNA:+.? 'UNB+UNOC:3+1:14+2:14+261126:0900+R'"
               b"UNH+1+ORDRSP:D:96A:UN'BGM+231+A+4'FTX+AAI+++it?'s <b>ok</b>'"
               b"LIN+1'QTY+21:5:PCE'LIN+2'QTY+21:6:PCE'UNS+S'UNT+8+1'"
               b"UNH+2+ORDRSP:D:96A:UN'BGM+231+B+4'LIN+1'QTY+21:7:PCE'UNT+4+2'UNZ+2+R'")


def test_segments_keep_released_terminators() -> None:
    segments = edifact_segments(INTERCHANGE)
    assert "FTX+AAI+++it?'s <b>ok</b>" in segments
    assert segments[0].startswith("UNA")
    assert segments[-1] == "UNZ+2+R"


def test_segments_follow_the_una_service_characters() -> None:
    segments = edifact_segments(b"UNA:+.! #UNB+UNOC:3#FTX+AAI+++a!#b#UNZ+1#")
    assert segments[1:] == ["UNB+UNOC:3", "FTX+AAI+++a!#b", "UNZ+1"]


def test_the_line_group_of_the_position_in_the_message_is_highlighted() -> None:
    excerpt = edifact_excerpt(INTERCHANGE, 1, 2)
    assert [line.text for line in excerpt.lines if line.highlighted] == ["LIN+2",
                                                                        "QTY+21:6:PCE"]
    second = edifact_excerpt(INTERCHANGE, 2, 1)
    assert [line.text for line in second.lines if line.highlighted] == ["LIN+1",
                                                                       "QTY+21:7:PCE"]


def test_no_position_highlights_nothing() -> None:
    assert not any(line.highlighted for line in edifact_excerpt(INTERCHANGE, 1, None).lines)


def test_text_lines_naming_the_order_are_highlighted_and_numbered() -> None:
    excerpt = text_excerpt("Hello\nOrder 4711 line 1 ok\nBye", ["4711"])
    assert [(line.number, line.highlighted) for line in excerpt.lines] == [
        (1, False), (2, True), (3, False)]


def test_long_lines_and_long_messages_are_cut() -> None:
    excerpt = text_excerpt("x" * 2000 + "\n" + "\n".join(["y"] * 500), [])
    assert len(excerpt.lines[0].text) == 501
    assert excerpt.truncated
    assert len(excerpt.lines) == 200
