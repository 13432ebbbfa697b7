"""Whether a reply's sentence commits to the line it names (mappings/email/commitment.py), and
what the email reader makes of one that does not: never an accepted line."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.documents import Document, LineStatus
from gateway.domain.events import LineConfirmed, OrderAcknowledged, document_events
from mappings.email import map_email_body
from mappings.email.commitment import Doubt, is_heading, judge
from mappings.email.statements import read_statement
from parsers.errors import Problem
from tests.unit.test_email_body import HINTS, errors, lines

PO = "4500012345"


def answered(text: str) -> list[tuple[str | None, str | None, LineStatus | None]]:
    return [(line.order_number, line.order_line_no, line.status)
            for r in map_email_body(text) if isinstance(r, Document) for line in r.lines]


def confirmations(text: str) -> list[object]:
    return [e for r in map_email_body(text) if isinstance(r, Document)
            for e in document_events(r) if isinstance(e, LineConfirmed | OrderAcknowledged)]


# -- the judgement ---------------------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "doubt"), [
    ("we cannot confirm", Doubt.NEGATION), ("leider nicht möglich", Doubt.NEGATION),
    ("目前无法确认", Doubt.NEGATION), ("暂时不", Doubt.NEGATION),
    ("we can't not deliver", Doubt.DOUBLE_NEGATION), ("nicht unmöglich", Doubt.DOUBLE_NEGATION),
    ("can you accept", Doubt.QUESTION), ("是否可以", Doubt.QUESTION),
    ("if the price is agreed", Doubt.CONDITION), ("vorbehaltlich", Doubt.CONDITION),
    ("probably", Doubt.HEDGE), ("争取", Doubt.HEDGE),
    ("will confirm next week", Doubt.LATER), ("Rest folgt", Doubt.LATER), ("稍后", Doubt.LATER),
    ("except line 30", Doubt.EXCEPTION), ("除了", Doubt.EXCEPTION),
    ("nous confirmons", Doubt.FOREIGN), ("確認しました", Doubt.FOREIGN),
])
def test_what_undoes_a_commitment(sentence: str, doubt: Doubt) -> None:
    judgement = judge(sentence)
    assert judgement.doubt is doubt
    assert judgement.words
    assert judgement.words.strip("'\"").split("'")[0] in sentence.casefold()


@pytest.mark.parametrize("sentence", [
    "confirmed", "not available", "nicht bestätigt", "无法交货", "no later than",
    "keine Änderungen", "确认无误", "不含税单价", "不锈钢", "as ordered, no changes"])
def test_phrases_whose_negation_is_their_meaning_are_no_doubt(sentence: str) -> None:
    assert judge(sentence).commits


@pytest.mark.parametrize(("sentence", "ranged"), [
    ("line 10: 400-500 pcs", True), ("ca. 500 Stück", True), ("约500件", True),
    ("300件左右", True), ("between 400 and 500 pcs", True), ("500 pcs", False)])
def test_a_quantity_that_is_not_one_number(sentence: str, ranged: bool) -> None:
    assert (judge("", sentence).doubt is Doubt.RANGE) is ranged


def test_a_heading_commits_only_when_nothing_undoes_it() -> None:
    assert is_heading("zu Ihrer Bestellung 4500020002 bestätigen wir:")
    assert is_heading("zu Ihrer Bestellung 4500020002 bestaetigen wir:")
    assert is_heading("关于采购订单 4500020003,我司确认如下:")
    assert not is_heading("Unfortunately we cannot confirm the following lines:")
    assert not is_heading("We confirm as follows")  # no colon: nothing listed below
    assert not is_heading("please find our answer to your order:")


@pytest.mark.parametrize("unit", ["1", "1.", "1,1 - ", "nicht ", "werden bestätigen ",
                                  "无法确认", "ca. 1 ", "PO 4500012345 line 10: 1-2 pcs "])
def test_the_judgement_does_not_backtrack_on_long_input(unit: str) -> None:
    """A guard against a pattern that retries a run of digits from each of its digits (that
    took 12 s on 20,000 digits): 20,000 characters of one cue are judged in one scan."""
    text = (unit * (20_000 // len(unit) + 1))[:20_000]
    started = time.perf_counter()
    judge.__wrapped__(text, text)
    assert time.perf_counter() - started < 3


# -- sentences of a reply ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Unfortunately we cannot confirm PO 4500012348 line 40 (600 pcs, 2026-12-10) at this time.",
    "订单4500012348 第40行\uff08600件\uff0c2026年12月10日\uff09目前无法确认。",
    "Leider können wir Bestellung 4500012346 Pos. 10 (250 Stück, 15.12.2026) derzeit nicht "
    "bestätigen.",
])
def test_a_refusal_to_confirm_is_refused_with_its_place(text: str) -> None:
    results = map_email_body(text)
    assert answered(text) == []
    [problem] = [r for r in results if isinstance(r, Problem) and r.segment == 1]
    assert "line 1 of the email body" in problem.detail
    assert "negated" in problem.detail


def test_a_negated_rejection_still_rejects() -> None:
    assert answered(f"PO {PO} line 30: unfortunately we can no longer supply it, "
                    "discontinued.") == [(PO, "30", LineStatus.REJECTED)]


def test_the_suppliers_own_order_is_never_the_buyers() -> None:
    statement = read_statement("our sales order SO-88812 line 1, 60 pcs", None, None)
    assert (statement.orders, statement.lines) == ([], [])
    assert statement.supplier_references == ["our sales order SO-88812 line 1"]
    for text in ("Unsere Auftragsnummer 20261187 Pos. 1: 60 Stück bestätigt",
                 "我方订单号SO-88812 第1行 60件已确认", "Lieferschein 80012 Pos. 2: 40 Stück",
                 "Invoice 90017 line 1: 60 pcs confirmed"):
        assert not read_statement(text, None, None).orders, text
        assert not read_statement(text, None, None).lines, text
    signature = read_statement("Tel. +49 561 123450, Fax +49 561 123459", None, None)
    assert signature.unreadable == []
    assert not signature.says_something


def test_the_buyers_order_next_to_the_suppliers_is_read() -> None:
    statement = read_statement("Your PO 4500012349 is our order 77120; line 10: 40 pcs "
                               "confirmed", None, None)
    assert (statement.orders, statement.lines) == (["4500012349"], ["10"])


def test_transliterated_german_reads_like_the_umlaut_spelling() -> None:
    for text in ("Bestellung 4500012345 Pos. 20: 80 Stueck bestaetigt, Liefertermin 01.12.2026",
                 "Bestellung 4500012345 Pos. 20: 80 Stück bestätigt, Liefertermin 01.12.2026"):
        [document] = [r for r in map_email_body(text) if isinstance(r, Document)]
        [line] = document.lines
        assert (line.status, line.quantity, line.unit, line.delivery_date) == (
            LineStatus.ACCEPTED, Decimal(80), "PCE", date(2026, 12, 1))


def test_a_line_under_a_heading_that_commits_is_accepted() -> None:
    text = "Wir bestätigen wie folgt:\n\nPos. 10: 100 Stück, Liefertermin 01.12.2026\n"
    assert answered(f"Bestellung {PO}\n{text}") == [(PO, "10", LineStatus.ACCEPTED)]
    assert answered(f"Bestellung {PO}\nGuten Tag.\nPos. 10: 100 Stück, Liefertermin "
                    "01.12.2026\n") == [(PO, "10", None)]


def test_an_order_accepted_except_a_line_is_not_accepted() -> None:
    assert confirmations(f"We confirm your order {PO} except line 30.") == []
    assert confirmations(f"确认贵司订单{PO}\uff0c除了第30行。") == []


@pytest.mark.parametrize("sentence", [
    "line 10: we can deliver 80 pcs by 2026-12-05 if you confirm the price.",
    "line 10: 80 pcs, delivery 2026-12-05, provided we receive your approval by Friday",
    "line 10: 80 pcs, delivery 2026-12-05 subject to material availability",
    "Pos. 10: 80 Stück zum 05.12.2026, vorausgesetzt Sie bestätigen den neuen Preis.",
    "Pos. 10: 80 Stück, Liefertermin 05.12.2026, sofern Freigabe bis Freitag.",
    "Pos. 10: 80 Stück, Liefertermin 05.12.2026 unter Vorbehalt der Materialverfügbarkeit.",
    "Pos. 10: 80 Stück, Liefertermin 05.12.2026, falls Sie den Mehrpreis akzeptieren.",
    "行号10\uff1a如果价格确认\uff0c可以交80件\uff0c2026年12月5日",
])
def test_conditional_answer_is_not_a_firm_confirmation(sentence: str) -> None:
    results = map_email_body(f"Hello,\n\n{sentence}\n", hints=HINTS)
    assert "10" not in lines(results)
    assert errors(results)


def test_conditional_acceptance_of_the_whole_order_is_not_read() -> None:
    results = map_email_body(f"We confirm your order {PO} if you accept the new prices.\n")
    assert not [r for r in results if isinstance(r, Document)]


@pytest.mark.parametrize("sentence", [
    "line 30: not available until 2027-01-15",
    "line 30 not available until January",
    "line 30: out of stock, earliest delivery 2027-01-20",
    "line 30: only 50 pcs, rest not available",
    "Pos. 30: nicht lieferbar bis KW 3",
])
def test_a_delay_or_a_partial_quantity_is_not_read_as_a_rejection(sentence: str) -> None:
    results = map_email_body(f"Hi,\n\n{sentence}\n", hints=HINTS)
    assert "30" not in lines(results)
    assert errors(results)


def test_rejection_with_zero_quantity_is_still_a_rejection() -> None:
    read = lines(map_email_body("line 30: 0 pcs, not available\n", hints=HINTS))
    assert read["30"].status is LineStatus.REJECTED


# -- negations inserted into confirmations (property) -------------------------------------------

def _english(po: str, line: int, qty: int, day: date, negation: str, where: int) -> str:
    parts = [f"PO {po} line {line}:", f"{qty} pcs", "confirmed,", f"delivery {day.isoformat()}"]
    return " ".join([*parts[:where], negation, *parts[where:]])


def _german(po: str, line: int, qty: int, day: date, negation: str, where: int) -> str:
    parts = [f"Bestellung {po} Pos. {line}:", f"{qty} Stück", "bestätigt,",
             f"Liefertermin {day:%d.%m.%Y}"]
    return " ".join([*parts[:where], negation, *parts[where:]])


def _chinese(po: str, line: int, qty: int, day: date, negation: str, where: int) -> str:
    parts = [f"订单{po} 第{line}行", f"{qty}件", "确认",
             f"交货日期{day.year}年{day.month}月{day.day}日"]
    return "\uff0c".join([*parts[:where], negation + parts[where] if where < 4 else negation,
                     *parts[where + 1:]])


NEGATIONS = {
    _english: ["not", "cannot be", "can't be", "unable to be", "no longer", "never",
               "unfortunately not", "not possible to be", "we can't", "we are not able to have"],
    _german: ["nicht", "leider nicht", "kein", "nicht möglich", "können wir nicht",
              "leider keine", "noch nicht", "nie"],
    _chinese: ["无法", "不能", "不可以", "暂不", "暂时不", "未能", "不", "没法", "目前无法"],
}
TEMPLATES = st.sampled_from(list(NEGATIONS))


@settings(max_examples=400, deadline=None)
@given(template=TEMPLATES, data=st.data(), po=st.integers(4_500_000_000, 4_599_999_999),
       line=st.integers(1, 999), qty=st.integers(1, 99_999),
       day=st.dates(date(2026, 1, 1), date(2030, 12, 31)), where=st.integers(0, 4))
def test_a_negated_confirmation_is_never_an_accepted_line(
        template: object, data: st.DataObject, po: int, line: int, qty: int, day: date,
        where: int) -> None:
    negation = data.draw(st.sampled_from(NEGATIONS[template]))  # type: ignore[index]
    text = template(str(po), line, qty, day, negation, where)  # type: ignore[operator]
    assert confirmations(text) == [], text
    assert all(status not in (LineStatus.ACCEPTED, LineStatus.CHANGED)
               for _, _, status in answered(text)), text


@settings(max_examples=100, deadline=None)
@given(template=TEMPLATES, po=st.integers(4_500_000_000, 4_599_999_999),
       line=st.integers(1, 999), qty=st.integers(1, 99_999),
       day=st.dates(date(2026, 1, 1), date(2030, 12, 31)))
def test_the_same_confirmation_without_the_negation_is_read(
        template: object, po: int, line: int, qty: int, day: date) -> None:
    """The templates are confirmations: the property above is not won by refusing them all."""
    text = template(str(po), line, qty, day, "", 4)  # type: ignore[operator]
    [event] = confirmations(text)
    assert isinstance(event, LineConfirmed)
    assert (event.ref.order_line_no, event.quantity, event.delivery_date) == (
        str(line), Decimal(qty), day)
