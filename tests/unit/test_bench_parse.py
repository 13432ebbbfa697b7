"""The synthetic interchanges of `gateway bench parse`: well-formed, so both sides read them all.

No timing is asserted here; only that the benchmark measures what it claims to measure.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gateway.bench.parse import (
    MESSAGE_TYPES,
    MessageType,
    build_interchange,
    count_segments,
    escape,
    parse_and_map,
    pydifact_messages,
    with_check_digit,
    write_interchange,
)
from gateway.domain.documents import Document
from mappings.registry import read_documents, read_stream
from parsers.edifact import Segment, iter_segments
from parsers.errors import Problem, ProblemCode

MESSAGES = 5


def read_all(data: bytes) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    for result in read_stream(io.BufferedReader(io.BytesIO(data)), "test"):
        (documents if isinstance(result, Document) else problems).append(result)
    return documents, problems


def lin_counts(data: bytes) -> list[int]:
    """LIN segments per message, counted on the raw text (independently of our parser)."""
    text = data.decode("latin-1")
    return [body.count("\nLIN+") for body in text.split("\nUNH+")[1:]]


@pytest.fixture(params=MESSAGE_TYPES)
def message_type(request: pytest.FixtureRequest) -> MessageType:
    value: MessageType = request.param
    return value


def test_deterministic_for_a_seed(message_type: MessageType) -> None:
    assert build_interchange(message_type, 3) == build_interchange(message_type, 3)
    assert build_interchange(message_type, 3, seed=1) != build_interchange(message_type, 3)


def test_parser_reads_every_message_without_problems(message_type: MessageType) -> None:
    data = build_interchange(message_type, MESSAGES)
    documents, problems = read_all(data)
    assert problems == []
    assert len(documents) == MESSAGES
    assert [d.message_type for d in documents] == [message_type] * MESSAGES
    assert [d.warnings for d in documents] == [[]] * MESSAGES


def test_lines_match_the_generated_lin_segments(message_type: MessageType) -> None:
    data = build_interchange(message_type, MESSAGES)
    documents, _ = read_all(data)
    counts = lin_counts(data)
    assert [len(d.lines) for d in documents] == counts
    assert all(5 <= count <= 20 for count in counts)
    for document in documents:
        assert [line.line_no for line in document.lines] == [
            str(n) for n in range(1, len(document.lines) + 1)]
        assert all(line.quantity is not None and line.item.gtin for line in document.lines)
        assert {line.order_number for line in document.lines} == set(document.order_numbers)


def test_unt_and_unz_counts_are_right(message_type: MessageType) -> None:
    data = build_interchange(message_type, MESSAGES)
    segments = [t for t in iter_segments(io.BytesIO(data)) if isinstance(t, Segment)]
    unh = [i for i, s in enumerate(segments) if s.tag == "UNH"]
    unt = [i for i, s in enumerate(segments) if s.tag == "UNT"]
    assert [segments[i].component(0) for i in unt] == [
        str(end - start + 1) for start, end in zip(unh, unt, strict=True)]
    assert segments[-1].tag == "UNZ"
    assert segments[-1].component(0) == str(MESSAGES)
    _, problems = read_all(data)
    assert not [p for p in problems if p.code is ProblemCode.COUNT_MISMATCH]


def test_release_characters_occur_and_are_read(message_type: MessageType) -> None:
    data = build_interchange(message_type, 40)
    assert re.search(rb"\?[+:'?]", data)
    documents, _ = read_all(data)
    descriptions = {line.item.description for d in documents for line in d.lines}
    assert descriptions & {"Bolt M8+nut set", "O'Brien mounting bracket",
                           "Gear motor ratio 1:10", "Pin type ? spare"}


def test_shape_of_messages(message_type: MessageType) -> None:
    data = build_interchange(message_type, 20)
    text = data.decode("latin-1")
    per_message = [int(n) for n in re.findall(r"\nUNT\+(\d+)\+", text)]
    assert len(per_message) == 20
    assert all(40 <= n <= 180 for n in per_message)  # 5 to 20 lines of 6 to 8 segments
    assert count_segments(data) == sum(per_message) + 2  # and UNB, UNZ
    assert text.startswith("UNA:+.? '\nUNB+UNOC:3+")
    expected = {"ORDRSP": ("CUX+2:EUR:9", "QTY+113:", "PRI+AAA:", "UNS+S"),
                "DESADV": ("CPS+1", "GIN+BJ+", "QTY+12:", "DTM+11:")}
    assert all(tag in text for tag in expected[message_type])


def test_pydifact_reads_the_same_number_of_messages(message_type: MessageType) -> None:
    data = build_interchange(message_type, MESSAGES)
    assert pydifact_messages(data.decode("latin-1")) == MESSAGES


def test_parse_and_map_tally(message_type: MessageType) -> None:
    data = build_interchange(message_type, MESSAGES)
    tally = parse_and_map(data)
    assert (tally.documents, tally.errors, tally.warnings) == (MESSAGES, 0, 0)
    assert tally.lines == sum(lin_counts(data))


def test_written_file_is_one_valid_interchange(tmp_path: Path) -> None:
    path = tmp_path / "desadv.edi"
    count = write_interchange(path, "DESADV", 20_000)
    assert path.stat().st_size >= 20_000
    results = list(read_documents(path))
    assert len(results) == count
    assert all(isinstance(r, Document) and not r.warnings for r in results)


def test_escape_and_check_digit() -> None:
    assert escape("a?b+c:d'e") == "a??b?+c?:d?'e"
    assert with_check_digit("400638133393") == "4006381333931"  # GS1's own example GTIN


def test_the_benchmark_names_the_build_it_measures() -> None:
    # The test suite runs the editable (plain) install; the compiled build is checked by
    # tests/integration/test_compiled_build.py.
    import parsers.edifact.tokenizer  # noqa: F401 - loaded, so it is counted
    from gateway.bench.build import current_build

    build = current_build()
    assert "parsers.edifact.tokenizer" in build.plain
    assert build.compiled == ()
    assert build.label == "plain Python"
    assert build.as_json() == {"label": "plain Python", "compiled_modules": []}
