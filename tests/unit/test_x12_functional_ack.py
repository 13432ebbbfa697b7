"""The 997/999 answering a received X12 functional group: one AK2 and verdict per
transaction set, AK9 with the counts, the interchange addressed back to the sender; and the
answer reads back as X12."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from gateway.services.x12_acks import functional_groups
from outbound.x12 import AckCode, GroupResult, TransactionResult, functional_ack
from parsers.errors import Problem, ProblemCode, Severity
from parsers.x12 import Transaction, parse_x12

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
ISA = ("ISA*00*          *00*          *ZZ*SUPPLIERX12    *01*123456789      *261204*0915*U*"
       "00401*000000417*0*P*>~")


def received(*transactions: str, ge_count: str | None = None) -> list[Transaction | Problem]:
    count = ge_count or str(sum(t.count("ST*") for t in transactions))
    text = (ISA + "GS*PR*SUPPLIERX12*123456789*20261204*0915*417*X*004010~"
            + "".join(transactions) + f"GE*{count}*417~IEA*1*000000417~")
    return list(parse_x12(io.BufferedReader(io.BytesIO(text.encode()))))


GOOD = "ST*855*0001~BAK*00*AD*4500000001*20261201~SE*3*0001~"
BAD_COUNT = "ST*855*0002~BAK*00*AD*4500000002*20261201~SE*9*0002~"
CUT_SHORT = "ST*855*0003~BAK*00*AD*4500000003*20261201~"


def segments_of(text: str) -> list[list[str]]:
    [answer] = [i for i in parse_x12(io.BufferedReader(io.BytesIO(text.encode())))
                if isinstance(i, Transaction)]
    assert answer.problems == []
    return [[s.tag, *s.elements] for s in answer.segments]


def test_a_clean_group_is_accepted_and_addressed_back() -> None:
    [(group, parties)] = functional_groups(received(GOOD))
    text = functional_ack(group, parties, 12, NOW)
    assert text.startswith("ISA*00*          *00*          *01*123456789      *ZZ*SUPPLIERX12")
    assert segments_of(text) == [["AK1", "PR", "417"], ["AK2", "855", "0001"], ["AK5", "A"],
                                 ["AK9", "A", "1", "1", "1"]]
    assert "GS*FA*123456789*SUPPLIERX12*20261204*0930*12*X*004010~" in text


def test_errors_noted_and_a_rejected_set_make_the_group_partly_accepted() -> None:
    items = received(GOOD, BAD_COUNT, CUT_SHORT, ge_count="2")
    [(group, parties)] = functional_groups(items)
    assert [t.code for t in group.transactions] == [
        AckCode.ACCEPTED, AckCode.ACCEPTED_WITH_ERRORS, AckCode.REJECTED]
    assert segments_of(functional_ack(group, parties, 13, NOW)) == [
        ["AK1", "PR", "417"],
        ["AK2", "855", "0001"], ["AK5", "A"],
        ["AK2", "855", "0002"], ["AK5", "E", "4"],
        ["AK2", "855", "0003"], ["AK5", "R", "2"],
        ["AK9", "P", "3", "3", "2", "5"]]


def test_a_set_the_mapping_refused_is_rejected() -> None:
    items = received(GOOD)
    [transaction] = [i for i in items if isinstance(i, Transaction)]
    refusal = {transaction.index: [Problem(Severity.ERROR, ProblemCode.MISSING_SEGMENT, "no BAK")]}
    [(group, _parties)] = functional_groups(items, refusal)
    assert group.code is AckCode.REJECTED
    assert group.transactions[0].errors == ("5",)


def test_999_names_the_version_and_uses_ik5() -> None:
    group = GroupResult("SH", "9", "005010", (TransactionResult("856", "0001", False),))
    parties = functional_groups(received(GOOD))[0][1]
    [ak1, _ak2, ik5, _ak9] = segments_of(functional_ack(group, parties, 14, NOW, kind="999"))
    assert ik5 == ["IK5", "A"]
    assert ak1 == ["AK1", "SH", "9", "005010"]


def test_only_997_and_999_are_written() -> None:
    group = GroupResult("SH", "9", "004010", ())
    with pytest.raises(ValueError, match="997 or a 999"):
        functional_ack(group, functional_groups(received(GOOD))[0][1], 1, NOW, kind="824")
