"""The X12 tokenizer and envelopes: separators from the ISA, newline terminators, a BOM and
trailing text, control counts and numbers, and the bounds."""

from __future__ import annotations

import io

import pytest

from mappings.registry import read_stream
from parsers.errors import (
    MAX_PROBLEMS,
    NotX12Error,
    Problem,
    ProblemCode,
    X12SegmentTooLongError,
)
from parsers.x12 import Separators, Transaction, envelope, parse_x12
from parsers.x12 import tokenizer as x12_tokenizer
from parsers.x12.tokenizer import is_x12


def isa(element: str = "*", repetition: str = "^", version: str = "00501",
        component: str = ":", terminator: str = "~", control: str = "000000001") -> str:
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
              "RECEIVER".ljust(15), "261204", "0915", repetition, version, control, "0", "P"]
    return element.join(fields) + element + component + terminator


def interchange(body: list[str], element: str = "*", terminator: str = "~",
                se_count: str | None = None, ge_count: str = "1", iea_count: str = "1",
                **isa_args: str) -> str:
    segments = ["ST*855*0001", *body]
    count = se_count or str(len(segments) + 1)
    segments += [f"SE*{count}*0001", "GE*" + ge_count + "*7", "IEA*" + iea_count + "*000000001"]
    text = isa(element=element, terminator=terminator, **isa_args)
    text += terminator.join(["GS*PR*S*R*20261204*0915*7*X*005010", *segments]) + terminator
    return text.replace("*", element) if element != "*" else text


def read(text: str | bytes, chunk_size: int = 1 << 16) -> list[Transaction | Problem]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_x12(io.BufferedReader(io.BytesIO(data), chunk_size)))


def transactions(items: list[Transaction | Problem]) -> list[Transaction]:
    return [i for i in items if isinstance(i, Transaction)]


def test_separators_are_read_from_the_isa() -> None:
    separators, length = Separators.from_isa(isa(element="|", component=">", terminator="'",
                                                  repetition="^"))
    assert separators == Separators("|", ">", "^", "'")
    assert length == 106


def test_repetition_separator_only_from_version_00402() -> None:
    separators, _ = Separators.from_isa(isa(repetition="U", version="00401"))
    assert separators.repetition == ""
    separators, _ = Separators.from_isa(isa(repetition="^", version="00401"))
    assert separators.repetition == ""
    separators, _ = Separators.from_isa(isa(repetition="^", version="00403"))
    assert separators.repetition == "^"


def test_other_element_separator_splits_the_segments() -> None:
    items = read(interchange(["BAK*00*AD*4500012345*20261201"], element="|"))
    [transaction] = transactions(items)
    assert transaction.segments[0].element(3) == "4500012345"
    assert [i for i in items if isinstance(i, Problem)] == []


def test_newline_terminator_reads_crlf_and_lf_alike() -> None:
    text = interchange(["BAK*00*AD*4500012345*20261201", "PO1*1*5*EA"], terminator="\n")
    items = read(text.replace("\n", "\r\n", 3))
    [transaction] = transactions(items)
    assert [s.tag for s in transaction.segments] == ["BAK", "PO1"]
    assert transaction.segments[1].element(2) == "5"
    assert transaction.problems == []


def test_line_breaks_after_terminators_are_read_as_nothing() -> None:
    text = interchange(["BAK*00*AD*4500012345*20261201"]).replace("~", "~\r\n")
    [transaction] = transactions(read(text))
    assert transaction.segments[0].tag == "BAK"
    assert transaction.problems == []


def test_bom_and_trailing_text_are_warnings() -> None:
    data = b"\xef\xbb\xbf" + interchange(["BAK*00*AD*1*20261201"]).encode() + b"\r\n-- end --\n"
    items = read(data)
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(transactions(items)) == 1
    assert [p.code for p in problems] == [ProblemCode.TEXT_OUTSIDE_SEGMENT] * 2
    assert "-- end --" in problems[1].detail
    assert all(not p.is_error for p in problems)


def test_two_interchanges_with_different_separators() -> None:
    first = interchange(["BAK*00*AD*1*20261201"])
    second = interchange(["BAK*00*AD*2*20261201"], element="|", terminator="\n")
    found = transactions(read(first + "\n" + second, chunk_size=64))
    assert [t.segments[0].element(3) for t in found] == ["1", "2"]


def test_control_count_and_number_mismatches_are_located_warnings() -> None:
    text = interchange(["BAK*00*AD*1*20261201"], se_count="9", ge_count="2", iea_count="3")
    text = text.replace("SE*9*0001", "SE*9*0002")
    items = read(text)
    [transaction] = transactions(items)
    codes = [(p.code, p.tag) for p in transaction.problems]
    assert codes == [(ProblemCode.COUNT_MISMATCH, "SE"), (ProblemCode.REFERENCE_MISMATCH, "SE")]
    assert transaction.problems[0].segment == 3
    file_level = [(p.code, p.tag) for p in items if isinstance(p, Problem)]
    assert file_level == [(ProblemCode.COUNT_MISMATCH, "GE"), (ProblemCode.COUNT_MISMATCH, "IEA")]
    assert all(not p.is_error for p in transaction.problems)


def test_transaction_without_se_is_refused_and_the_next_read() -> None:
    text = interchange(["BAK*00*AD*1*20261201"]).replace("SE*3*0001~", "")
    text = text.replace("GE*1*7~", "ST*855*0002~BAK*00*AD*2*20261201~SE*3*0002~GE*2*7~")
    found = transactions(read(text))
    assert found[0].refused
    assert found[0].problems[0].code is ProblemCode.MESSAGE_NOT_TERMINATED
    assert not found[1].refused


def test_not_x12_is_refused() -> None:
    with pytest.raises(NotX12Error):
        read("UNB+UNOC:3+X+Y+261204:0915+1'")


def test_segment_without_terminator_is_refused_before_it_grows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(x12_tokenizer, "MAX_SEGMENT", 1000)
    text = interchange(["BAK*00*AD*1*20261201"]).replace("~", "") + "X" * 5000
    text = isa() + text[len(isa()) - 1:]
    with pytest.raises(X12SegmentTooLongError):
        read(text, chunk_size=256)


def test_problems_listed_per_transaction_set_stop_at_a_cap_with_a_count() -> None:
    # Broken segments are problems, not segments: without a cap a file of a million of them
    # holds a million problems, past the transaction set's segment cap.
    cap = MAX_PROBLEMS
    [transaction] = transactions(read(interchange(["1*"] * (cap + 50))))
    assert len(transaction.problems) == cap + 1
    assert [p.code for p in transaction.problems[:cap]] == [ProblemCode.INVALID_SEGMENT_TAG] * cap
    last = transaction.problems[-1]
    assert (last.code, last.tag) == (ProblemCode.OVER_LIMIT, "SE")
    assert "50 more problems" in last.detail


def test_file_problems_outside_transaction_sets_stop_at_a_cap_with_a_count() -> None:
    cap = MAX_PROBLEMS
    text = interchange([]).replace("GE*1*7~", "GE*1*7~" + "REF*ZZ*1~" * (cap + 7))
    problems = [i for i in read(text) if isinstance(i, Problem)]
    outside = [p for p in problems if p.code is ProblemCode.SEGMENT_OUTSIDE_MESSAGE]
    assert len(outside) == cap
    [summary] = [p for p in problems if p.code is ProblemCode.OVER_LIMIT]
    assert "7 more problems" in summary.detail


@pytest.mark.parametrize("separator", ["A", "0", " "])
def test_an_isa_whose_element_separator_is_a_letter_digit_or_space_is_refused_saying_so(
        separator: str) -> None:
    # The ISA is fixed-length (X12.5): the separator stands at positions 4, 7, 18 ... so the
    # header is recognised whatever it is, and refused for what it is.
    text = interchange([], element=separator)
    [problem] = list(read_stream(io.BufferedReader(io.BytesIO(text.encode())), "a.x12"))
    assert isinstance(problem, Problem)
    assert problem.code is ProblemCode.BAD_SERVICE_STRING
    assert f"element separator {separator!r} is a letter, digit or space" in problem.detail


def test_text_that_starts_with_isa_is_not_taken_for_an_interchange() -> None:
    assert not is_x12(b"ISAAC NEWTON, PRINCIPIA MATHEMATICA\n")
    assert is_x12(interchange([]).encode())


def test_a_transaction_set_over_the_character_cap_is_refused_keeping_nothing_past_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 500,000 segments of up to 64 KiB each would be 32 GB: the characters are capped too,
    # and the segments past the cap are not kept.
    monkeypatch.setattr(envelope, "MAX_TRANSACTION_CHARACTERS", 10_000)
    big = ["PID*F****" + "x" * 1_000] * 20
    [refused] = transactions(read(interchange(["BAK*00*AD*1*20261201", *big])))
    [error] = [p for p in refused.problems if p.is_error]
    assert (error.code, error.tag, error.segment) == (ProblemCode.OVER_LIMIT, "PID", 12)
    assert "10000 characters" in error.detail
    assert len(refused.segments) == 11
    [kept] = transactions(read(interchange(["BAK*00*AD*1*20261201", *big[:9]])))
    assert not kept.refused


def test_thousands_of_unusable_isas_are_reported_and_the_interchange_after_them_read() -> None:
    # Each unusable ISA is one problem; they were read by recursion, so a thousand of them
    # ended in a RecursionError that escaped the reader and stopped the batch.
    good = interchange(["BAK*00*AD*1*20261201"])
    items = read(good + "ISA~" * 3_000 + "ISA*" * 2_000 + good, chunk_size=4096)
    assert len(transactions(items)) == 2
    problems = [i for i in items if isinstance(i, Problem)]
    unusable = [p for p in problems if p.code is ProblemCode.BAD_SERVICE_STRING]
    assert len(unusable) == MAX_PROBLEMS
    assert unusable[0].tag == "ISA"
    [counted] = [p for p in problems if p.code is ProblemCode.OVER_LIMIT]
    assert int(counted.detail.split()[0]) >= 5_000 - MAX_PROBLEMS
