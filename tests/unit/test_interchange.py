"""Envelopes: control counts, references, truncation, groups and lone messages."""

from __future__ import annotations

import io

from parsers.edifact import EdifactMessage, parse_edifact
from parsers.errors import Problem, ProblemCode, Severity
from tests.unit.test_mapping import GTIN_1, GTIN_2, desadv, errors, read


def parse(text: str) -> tuple[list[EdifactMessage], list[Problem]]:
    items = list(parse_edifact(io.BytesIO(text.encode())))
    return ([i for i in items if isinstance(i, EdifactMessage)],
            [i for i in items if isinstance(i, Problem)])


MESSAGE = "UNH+{ref}+ORDRSP:D:96A:UN:EAN005'BGM+231+R{ref}+29'UNT+3+{ref}'"


def test_messages_of_an_interchange_with_a_group() -> None:
    text = ("UNB+UNOC:3+SENDER:14+RECEIVER:14+261120:1015+IC1'UNG+ORDRSP+S+R+261120:1015+G1+UN+"
            "D:96A'" + MESSAGE.format(ref="1") + MESSAGE.format(ref="2") + "UNE+2+G1'UNZ+1+IC1'")
    messages, problems = parse(text)
    assert problems == []
    assert [m.reference for m in messages] == ["1", "2"]
    assert [m.index for m in messages] == [1, 2]
    assert messages[0].group_reference == "G1"
    header = messages[0].interchange
    assert header is not None
    assert (header.sender, header.receiver, header.reference) == ("SENDER", "RECEIVER", "IC1")
    assert messages[1].type == "ORDRSP"
    assert messages[1].association == "EAN005"
    assert [s.tag for s in messages[0].segments] == ["BGM"]


def test_wrong_counts_and_references_are_warnings() -> None:
    text = ("UNB+UNOC:3+S+R+261120:1015+IC1'UNH+1+ORDRSP:D:96A:UN'BGM+231+X+29'UNT+9+2'"
            "UNZ+4+IC9'")
    messages, problems = parse(text)
    assert [(p.code, p.segment) for p in messages[0].problems] == [
        (ProblemCode.COUNT_MISMATCH, 3), (ProblemCode.REFERENCE_MISMATCH, 3)]
    assert not messages[0].refused
    assert [p.code for p in problems] == [ProblemCode.COUNT_MISMATCH,
                                          ProblemCode.REFERENCE_MISMATCH]
    assert all(p.severity is Severity.WARNING for p in problems)


def test_truncated_message_is_refused_and_the_next_one_parses() -> None:
    text = ("UNB+UNOC:3+S+R+261120:1015+IC1'UNH+1+ORDRSP:D:96A:UN'BGM+231+X+29'"
            + MESSAGE.format(ref="2") + "UNZ+2+IC1'")
    messages, _ = parse(text)
    assert messages[0].refused
    error = messages[0].problems[0]
    assert (error.code, error.message_index, error.segment, error.tag) == (
        ProblemCode.MESSAGE_NOT_TERMINATED, 1, 3, "UNH")
    assert not messages[1].refused


def test_file_ending_inside_a_message() -> None:
    messages, problems = parse("UNB+UNOC:3+S+R+261120:1015+IC1'UNH+1+DESADV:D:96A:UN'BGM+351+X'")
    assert messages[0].refused
    assert [p.code for p in problems] == [ProblemCode.INTERCHANGE_NOT_TERMINATED]


def test_lone_message_without_envelope() -> None:
    messages, problems = parse(MESSAGE.format(ref="7"))
    assert [(p.code, p.tag) for p in problems] == [(ProblemCode.MISSING_ENVELOPE, "UNH")]
    assert messages[0].interchange is None
    assert messages[0].reference == "7"


def test_segment_outside_a_message_is_reported() -> None:
    _, problems = parse("UNB+UNOC:3+S+R+261120:1015+IC1'FTX+AAI'UNZ+0+IC1'")
    assert [(p.code, p.tag) for p in problems] == [(ProblemCode.SEGMENT_OUTSIDE_MESSAGE, "FTX")]


def test_unknown_syntax_identifier_is_reported() -> None:
    _, problems = parse("UNB+UNOZ:3+S+R+261120:1015+IC1'UNZ+0+IC1'")
    assert [p.code for p in problems] == [ProblemCode.UNSUPPORTED_SYNTAX]


def test_unclosed_interchange_before_the_next() -> None:
    _, problems = parse("UNB+UNOC:3+S+R+261120:1015+A'UNB+UNOC:3+S+R+261120:1015+B'UNZ+0+B'")
    assert [p.code for p in problems] == [ProblemCode.INTERCHANGE_NOT_TERMINATED]


def test_problems_inside_a_message_are_renumbered_relative_to_it() -> None:
    text = "UNB+UNOC:3+S+R+261120:1015+A'UNH+1+ORDRSP:D:96A:UN'BGM+231+X'q!+1'UNT+4+1'UNZ+1+A'"
    messages, _ = parse(text)
    (problem,) = messages[0].problems
    assert (problem.code, problem.message_index, problem.segment) == (
        ProblemCode.INVALID_SEGMENT_TAG, 1, 3)
    assert messages[0].refused


def test_message_body_without_unh_is_an_error_not_a_warning() -> None:
    """The second message's UNH is garbled ('UHN'): a whole despatch advice cannot be read,
    so the file reports an error, not warnings only with exit status 0. Data that cannot be
    placed in a message is refused (ISO 9735 syntax error 33, 'invalid occurrence outside
    message')."""
    body = (desadv(f"LIN+1++{GTIN_1}:EN'QTY+12:5'").replace("UNT+99+1'", "UNT+6+1'")
            + f"UHN+2+DESADV:D:96A:UN:EAN005'BGM+351+D2+9'RFF+ON:PO2'LIN+1++{GTIN_2}:EN'"
            "QTY+12:7'UNT+6+2'")
    results = read(body)
    assert errors(results), results
