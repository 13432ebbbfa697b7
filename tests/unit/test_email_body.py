"""Structured email replies -> order responses: statements, blocks, tables, quotes, ambiguity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Line,
    LineStatus,
    SourceFormat,
)
from gateway.domain.events import (
    LineConfirmed,
    LineUnclear,
    OrderAcknowledged,
    document_events,
)
from mappings.email import DateOrder, EmailHints, NumberStyle, map_email_body
from mappings.email.quotes import split_answer
from mappings.email.values import (
    Unreadable,
    excel_serial_date,
    read_date,
    read_number,
    style_evidence,
)
from parsers.errors import Problem, ProblemCode, Severity
from parsers.sheets.model import Row, Table

PO = "4500012345"
HINTS = EmailHints(subject=f"RE: Purchase order {PO}")


def documents(results: list[Document | Problem]) -> list[Document]:
    return [r for r in results if isinstance(r, Document)]


def problems(results: list[Document | Problem]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem)]


def errors(results: list[Document | Problem]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem) and r.is_error]


def lines(results: list[Document | Problem]) -> dict[str, Line]:
    found = {}
    for document in documents(results):
        for line in document.lines:
            assert line.order_line_no is not None
            found[line.order_line_no] = line
    return found


def only_problem(results: list[Document | Problem]) -> Problem:
    found = problems(results)
    assert len(found) == 1, found
    return found[0]


# -- line statements ---------------------------------------------------------------------------


def test_english_line_statements():
    results = map_email_body(
        "Dear buyer,\n\n"
        f"PO {PO} line 10: 80 pcs, delivery 2026-12-05\n"
        f"Order {PO} / pos. 20 \u2013 100 pcs confirmed, price 12.50 EUR, ship date 05.12.2026\n"
        "\nBest regards\nACME")
    assert not problems(results)
    [document] = documents(results)
    assert document.kind is DocumentKind.ORDER_RESPONSE
    assert document.source_format is SourceFormat.EMAIL_TEXT
    assert document.message_type == "EMAIL"
    assert document.order_numbers == [PO]
    first, second = document.lines
    assert (first.order_number, first.order_line_no, first.line_no) == (PO, "10", "1")
    assert (first.quantity, first.unit, first.delivery_date) == (Decimal(80), "PCE",
                                                                 date(2026, 12, 5))
    assert first.status is None
    assert first.price is None
    assert (second.order_line_no, second.quantity, second.price, second.currency) == (
        "20", Decimal(100), Decimal("12.50"), "EUR")
    assert second.status is LineStatus.ACCEPTED
    assert second.delivery_date == date(2026, 12, 5)


def test_german_line_statements_with_decimal_comma_and_rejection():
    results = map_email_body(
        "Sehr geehrte Damen und Herren,\n"
        f"Bestellung {PO} Pos. 10: 1.000 Stück, Liefertermin 05.12.2026, Preis 1.234,50 EUR\n"
        "Pos. 20: 80 Stk bestätigt, Liefertermin 5. Dezember 2026\n"
        "Pos. 30: abgelehnt\n"
        "Mit freundlichen Grüßen")
    assert not problems(results)
    found = lines(results)
    assert found["10"].quantity == Decimal(1000)
    assert found["10"].price == Decimal("1234.50")
    assert found["20"].status is LineStatus.ACCEPTED
    assert found["20"].delivery_date == date(2026, 12, 5)
    assert found["30"].status is LineStatus.REJECTED
    assert found["30"].quantity is None
    assert documents(results)[0].status is DocumentStatus.CHANGED


def test_chinese_line_statement_with_full_width_forms():
    digits = "\uff14\uff15\uff10\uff10\uff10\uff11\uff12\uff13\uff14\uff15"  # 4500012345
    results = map_email_body(
        "您好,\n"
        f"采购订单 {digits} 行号 10\uff1a数量 80\uff0c交货日期 2026年12月5日\uff0c单价 12.50\n"
        f"订单号 {PO} 行号 20: 数量 50件\n"
        "行号 30: 无法交货\n")
    assert not problems(results)
    found = lines(results)
    assert found["10"].order_number == PO
    assert (found["10"].quantity, found["10"].delivery_date, found["10"].price) == (
        Decimal(80), date(2026, 12, 5), Decimal("12.50"))
    assert (found["20"].quantity, found["20"].unit) == (Decimal(50), "PCE")
    assert found["30"].status is LineStatus.REJECTED


def test_chinese_line_number_followed_by_a_status_word_is_read():
    read = lines(map_email_body("行号10确认。\n", hints=HINTS))
    assert read["10"].status is LineStatus.ACCEPTED


def test_line_number_is_never_read_as_quantity_nor_an_ordinal_as_a_unit():
    results = map_email_body(f"PO {PO} line 10 delivery Dec 1st, 2026, 5 pcs")
    line = lines(results)["10"]
    assert line.quantity == Decimal(5)
    assert line.delivery_date == date(2026, 12, 1)


def test_order_named_above_and_in_the_subject_answers_later_lines():
    results = map_email_body("line 10: 80 pcs\n", hints=EmailHints(subject=f"AW: Bestellung {PO}"))
    assert lines(results)["10"].order_number == PO
    results = map_email_body(f"Regarding your order {PO}:\n\nline 10: 80 pcs\n")
    assert lines(results)["10"].order_number == PO


def test_ordered_quantity_after_instead_of_is_not_the_commitment():
    line = lines(map_email_body(f"PO {PO} line 10: 80 pcs instead of 100 pcs"))["10"]
    assert (line.quantity, line.ordered_quantity) == (Decimal(80), Decimal(100))


def test_several_lines_with_one_status():
    found = lines(map_email_body(f"PO {PO}: lines 10, 20 and 30 confirmed"))
    assert sorted(found) == ["10", "20", "30"]
    assert {line.status for line in found.values()} == {LineStatus.ACCEPTED}


def test_question_is_not_an_answer():
    results = map_email_body(f"Could you confirm line 10 of PO {PO}?")
    assert not documents(results)
    assert only_problem(results).code is ProblemCode.NOTHING_READABLE


# -- key/value blocks --------------------------------------------------------------------------


def test_key_value_blocks_in_english_german_and_chinese():
    results = map_email_body(
        f"PO number: {PO}\nLine: 10\nQuantity: 80 pcs\nDelivery date: 2026-12-05\n"
        "Unit price: 12.50\nCurrency: EUR\n\n"
        "Line: 20\nQuantity: 40\nStatus: confirmed\n\n"
        "Bestellnummer: 4500099999\nPosition: 10\nMenge: 7\nLiefertermin: 05.12.2026\n\n"
        "订单号\uff1a4500077777\n行号\uff1a10\n数量\uff1a30\n交货日期\uff1a2026年12月5日\n")
    assert not problems(results)
    by_order = {d.order_numbers[0]: d for d in documents(results)}
    assert sorted(by_order) == [PO, "4500077777", "4500099999"]
    first, second = by_order[PO].lines
    assert (first.quantity, first.price, first.currency) == (Decimal(80), Decimal("12.50"), "EUR")
    assert (second.order_line_no, second.quantity, second.status) == (
        "20", Decimal(40), LineStatus.ACCEPTED)
    assert by_order["4500099999"].lines[0].delivery_date == date(2026, 12, 5)
    assert by_order["4500077777"].lines[0].quantity == Decimal(30)


def test_repeated_label_starts_a_new_block():
    found = lines(map_email_body(f"PO: {PO}\nLine: 10\nQty: 5\nLine: 20\nQty: 6\n"))
    assert (found["10"].quantity, found["20"].quantity) == (Decimal(5), Decimal(6))


def test_order_block_with_status_answers_the_whole_order():
    results = map_email_body(f"Order number: {PO}\nStatus: confirmed\n")
    [document] = documents(results)
    assert (document.status, document.lines) == (DocumentStatus.ACCEPTED, [])
    rejected = map_email_body(f"Bestellnummer: {PO}\n\nStatus: abgelehnt\n")
    assert [d.status for d in documents(rejected)] == [DocumentStatus.REJECTED]
    unknown = map_email_body(f"Order number: {PO}\nStatus: on hold\n")
    assert not documents(unknown)
    assert problems(unknown)[0].code is ProblemCode.UNREADABLE_TEXT


# -- tables in the body ------------------------------------------------------------------------


def test_pipe_table_with_header_synonyms():
    results = map_email_body(
        "Please find our confirmation:\n\n"
        "| PO No. | Pos | Confirmed qty | Liefertermin |\n"
        "|---|---|---|---|\n"
        f"| {PO} | 10 | 80 | 2026-12-05 |\n"
        f"| {PO} | 20 | 0 | |\n")
    found = lines(results)
    assert found["10"].quantity == Decimal(80)
    assert found["20"].quantity == Decimal(0)


def test_aligned_table_keeps_blank_cells_in_place():
    results = map_email_body(
        "Order No.    Line   Qty    Delivery date\n"
        f"{PO}   10     80     2026-12-05\n"
        f"{PO}   20            2026-12-07\n")
    found = lines(results)
    assert (found["10"].quantity, found["10"].delivery_date) == (Decimal(80), date(2026, 12, 5))
    assert (found["20"].quantity, found["20"].delivery_date) == (None, date(2026, 12, 7))


def test_html_table_is_read_and_a_bad_row_is_located():
    table = Table("table 1", "html", (
        Row(1, ("采购订单号", "行号", "确认数量", "交期")),
        Row(2, (PO, "10", "80", "2026-12-05")),
        Row(3, (PO, "20", "??", "2026-12-05")),
    ))
    results = map_email_body("见下表。", (table,))
    assert lines(results)["10"].quantity == Decimal(80)
    problem = only_problem(results)
    assert problem.code is ProblemCode.INVALID_NUMBER
    assert problem.segment == 3
    assert problem.detail.startswith("table 1 row 3 in the email body: column C")


def test_html_table_also_rendered_as_text_is_read_once():
    table = Table("table 1", "html", (
        Row(1, ("PO", "Line", "Qty", "Remark")), Row(2, (PO, "10", "80", None)),
        Row(3, (PO, "20", "5", "cannot deliver"))))
    text = f"Our answer:\nPO\tLine\tQty\tRemark\n{PO}\t10\t80\t\n{PO}\t20\t5\tcannot deliver\n"
    results = map_email_body(text, (table,))
    [document] = documents(results)
    assert [(line.order_line_no, line.status) for line in document.lines] == [
        ("10", None), ("20", LineStatus.REJECTED)]
    assert not document.warnings
    assert not problems(results)


def test_tab_separated_text_keeps_blank_cells():
    text = f"PO\tLine\tQty\tDelivery date\n{PO}\t10\t\t2026-12-05\n"
    line = lines(map_email_body(text))["10"]
    assert (line.quantity, line.delivery_date) == (None, date(2026, 12, 5))


def test_html_table_of_the_quoted_original_is_not_read():
    answer = Table("table 1", "html", (
        Row(1, ("PO No.", "Line", "Confirmed qty")), Row(2, (PO, "10", "80"))))
    original = Table("table 2", "html", (
        Row(1, ("PO No.", "Line", "Qty")), Row(2, (PO, 10, 100))))
    body = (f"Our confirmation:\n\nPO No.\tLine\tConfirmed qty\n{PO}\t10\t80\n\n"
            f"> PO {PO}\n>\n> PO No.\tLine\tQty\n> {PO}\t10\t100\n")
    results = map_email_body(body, (answer, original))
    assert not problems(results)
    assert lines(results)["10"].quantity == Decimal(80)
    quoted_only = map_email_body("Thanks, noted.\n\n" + body.split("\n\n", 2)[2], (original,))
    assert not documents(quoted_only)
    assert only_problem(quoted_only).code is ProblemCode.NOTHING_READABLE


# -- whole-order words -------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", [
    f"We confirm your order {PO}.",
    f"Wir bestätigen Ihre Bestellung {PO}.",
    f"我们确认订单 {PO}。",
    f"Order {PO} confirmed as ordered.",
])
def test_acceptance_of_the_whole_order(sentence):
    [document] = documents(map_email_body(sentence))
    assert (document.status, document.order_numbers, document.lines) == (
        DocumentStatus.ACCEPTED, [PO], [])
    assert document_events(document) == [OrderAcknowledged(PO)]


@pytest.mark.parametrize("sentence", [
    f"Unfortunately we cannot accept your order {PO}.",
    f"Ihre Bestellung {PO} wird leider abgelehnt.",
    f"我们无法接受该订单 {PO}。",
])
def test_rejection_of_the_whole_order(sentence):
    [document] = documents(map_email_body(sentence))
    assert document.status is DocumentStatus.REJECTED


def test_acceptance_with_an_exception_is_two_documents_in_order():
    results = map_email_body(f"We confirm your order {PO}.\nWe cannot deliver line 30.\n")
    acceptance, exception = documents(results)
    assert (acceptance.status, acceptance.lines) == (DocumentStatus.ACCEPTED, [])
    assert [(line.order_line_no, line.status) for line in exception.lines] == [
        ("30", LineStatus.REJECTED)]
    assert exception.status is DocumentStatus.CHANGED


def test_negated_acceptance_is_refused_not_read_as_a_yes():
    results = map_email_body(f"We cannot confirm your order {PO} yet.")
    assert not documents(results)
    assert ProblemCode.UNREADABLE_TEXT in {p.code for p in problems(results)}


def test_acceptance_without_any_order_number_is_refused():
    results = map_email_body("We confirm your order.")
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.MISSING_VALUE


def test_whole_order_rejected_yet_a_line_confirmed_is_a_conflict():
    results = map_email_body(f"We reject your order {PO}.\nLine 10: 80 pcs\n")
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.CONFLICTING_VALUES


# -- the quoted original -----------------------------------------------------------------------


ORIGINAL = f"PO {PO} line 10: 100 pcs, delivery 2026-12-01\nline 20: 50 pcs\n"


@pytest.mark.parametrize("separator", [
    "-----Original Message-----\nFrom: Buyer\nSent: Friday\n",
    "From: buyer@example.com\nSent: Friday, 20 November 2026 10:00\nTo: sales\n",
    "Von: Einkauf <einkauf@example.de>\nGesendet: Freitag, 20. November 2026 10:00\n",
    "On Fri, 20 Nov 2026 at 10:00, Buyer <buyer@example.com> wrote:\n",
    "On Fri, 20 Nov 2026 at 10:00, Buyer\n<buyer@example.com> wrote:\n",
    "Am 20.11.2026 um 10:00 schrieb Einkauf <einkauf@example.de>:\n",
    "在 2026年11月20日 10:00, 采购部 写道\uff1a\n",
    "-------- 原始邮件 --------\n发件人: 采购部\n",
])
def test_quoted_original_is_not_read(separator):
    results = map_email_body(f"Line 10: 80 pcs\n\n{separator}{ORIGINAL}",
                             hints=EmailHints(subject=f"Re: PO {PO}"))
    found = lines(results)
    assert list(found) == ["10"]
    assert found["10"].quantity == Decimal(80)
    assert found["10"].delivery_date is None


def test_reply_with_only_the_quote_reads_nothing():
    body = "Thanks!\n\n" + "".join(f"> {line}\n" for line in ORIGINAL.splitlines())
    results = map_email_body(body)
    assert not documents(results)
    problem = only_problem(results)
    assert (problem.severity, problem.code) == (Severity.ERROR, ProblemCode.NOTHING_READABLE)


def test_answer_typed_between_quoted_lines_is_flagged_not_read():
    body = f"> PO {PO} line 10: 100 pcs\nline 10: 80 pcs\n> line 20: 50 pcs\n"
    results = map_email_body(body)
    assert not documents(results)
    assert {p.code for p in problems(results)} == {ProblemCode.UNREADABLE_TEXT,
                                                   ProblemCode.NOTHING_READABLE}
    assert any(p.segment == 2 for p in problems(results))


def test_split_answer_numbers_lines_from_one():
    answer = split_answer("a\r\nb\r\n> c\n")
    assert answer.lines == ((1, "a"), (2, "b"))
    assert answer.quote_starts == 3


# -- what cannot be read with confidence -------------------------------------------------------


def test_quantity_without_order_or_line_is_a_located_problem():
    results = map_email_body(f"Hello\n\nPO {PO} line 10: 80 pcs\n500 pcs are in stock\n")
    assert lines(results)["10"].quantity == Decimal(80)
    problem = only_problem(results)
    assert (problem.code, problem.segment) == (ProblemCode.MISSING_VALUE, 4)
    assert "line 4 of the email body" in problem.detail
    assert "500 pcs are in stock" in problem.detail


def test_line_without_any_order_is_refused():
    results = map_email_body("line 10: 80 pcs")
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.MISSING_VALUE


def test_nonexistent_date_refuses_the_line_not_the_others():
    results = map_email_body(f"PO {PO}\nline 10: 80 pcs, delivery 31.02.2026\nline 20: 5 pcs\n")
    assert list(lines(results)) == ["20"]
    problem = only_problem(results)
    assert (problem.code, problem.segment) == (ProblemCode.INVALID_DATE, 2)
    assert "'31.02.2026' does not exist" in problem.detail


def test_ambiguous_slashed_date_is_refused_without_a_hint():
    results = map_email_body(f"PO {PO} line 10: 80 pcs, delivery 05/12/2026")
    assert not documents(results)
    problem = problems(results)[0]
    assert problem.code is ProblemCode.AMBIGUOUS_VALUE
    assert "5 December" in problem.detail
    assert "12 May" in problem.detail


@pytest.mark.parametrize(("order", "expected"), [
    (DateOrder.DAY_FIRST, date(2026, 12, 5)), (DateOrder.MONTH_FIRST, date(2026, 5, 12))])
def test_slashed_date_is_read_by_the_suppliers_date_order(order, expected):
    results = map_email_body(f"PO {PO} line 10: 80 pcs, delivery 05/12/2026",
                             hints=EmailHints(date_order=order))
    assert lines(results)["10"].delivery_date == expected


def test_bare_number_is_not_guessed_as_a_quantity():
    results = map_email_body(f"PO {PO} line 10: 80, delivery 2026-12-05")
    assert not documents(results)
    assert "'80' has no unit or label" in problems(results)[0].detail


def test_two_quantities_in_one_sentence_conflict():
    results = map_email_body(f"PO {PO} line 10: 80 pcs or 90 pcs")
    assert problems(results)[0].code is ProblemCode.CONFLICTING_VALUES


def test_same_line_answered_twice_differently_is_refused():
    results = map_email_body(f"PO {PO}\nline 10: 80 pcs\nline 10: 90 pcs\nline 20: 1 pcs\n")
    assert list(lines(results)) == ["20"]
    assert problems(results)[0].code is ProblemCode.CONFLICTING_VALUES


def test_same_line_answered_twice_alike_counts_once():
    results = map_email_body(f"PO {PO}\nline 10: 80 pcs\nline 10: 80 pcs\n")
    [document] = documents(results)
    assert len(document.lines) == 1
    assert [w.code for w in document.warnings] == [ProblemCode.SKIPPED_ROW.value]


def test_ambiguous_thousands_in_mixed_language_text_is_refused():
    # No language and no unambiguous number says whether 1.000 is a thousand or one.
    results = map_email_body(f"PO {PO} Pos. 10 / line 10: 1.000 pcs, Liefertermin 2026-12-05")
    assert problems(results)[0].code is ProblemCode.AMBIGUOUS_VALUE
    hinted = map_email_body(f"PO {PO} Pos. 10 / line 10: 1.000 pcs, Liefertermin 2026-12-05",
                            hints=EmailHints(number_style=NumberStyle.DECIMAL_COMMA))
    assert lines(hinted)["10"].quantity == Decimal(1000)


def test_events_of_an_email_line_carry_the_supplier_values():
    [document] = documents(map_email_body(
        f"PO {PO} line 10: 80 pcs confirmed, delivery 2026-12-05"))
    [event] = document_events(document)
    assert isinstance(event, LineConfirmed)
    assert (event.ref.order_number, event.ref.order_line_no, event.quantity) == (
        PO, "10", Decimal(80))


def test_an_email_line_with_values_and_no_commitment_is_no_confirmation():
    """"line 10: 80 pcs, delivery 2026-12-05" alone says nothing about confirming it."""
    [document] = documents(map_email_body(f"PO {PO} line 10: 80 pcs, delivery 2026-12-05"))
    assert document.lines[0].status is None
    [event] = document_events(document)
    assert isinstance(event, LineUnclear)
    assert (event.ref.order_line_no, event.quantity) == ("10", Decimal(80))


def test_sender_is_the_supplier_party():
    [document] = documents(map_email_body(f"PO {PO} line 10: 8 pcs",
                                          hints=EmailHints(sender="sales@acme.example"),
                                          file="mail.eml"))
    assert [(p.role, p.name) for p in document.parties] == [("SU", "sales@acme.example")]
    assert document.file == "mail.eml"


@pytest.mark.parametrize("sentence", [
    "Pos. 20: 80 Stück, Liefertermin KW49",
    "line 20: 80 pcs, delivery CW49",
    "line 20: 80 pcs, delivery week 49",
    "line 20: 80 pcs, delivery early January",
    "line 20: 80 pcs, delivery December 5th",
    "行号20\uff1a80套\uff0c12月5日交货",
    "行号20\uff1a80套\uff0c下月交货",
])
def test_a_date_that_cannot_be_read_is_not_dropped_silently(sentence):
    results = map_email_body(f"Hi,\n\n{sentence}\n", hints=HINTS)
    assert "20" not in lines(results)
    assert errors(results)


@pytest.mark.parametrize("sentence", [
    "line 20: 80 pcs, delivery Friday",
    "line 20: 80 pcs, shipped tomorrow",
    "Pos. 20: 80 Stück, Lieferung Dienstag",
    "Pos. 20: 80 Stück, Versand morgen",
    "行号20\uff1a80件\uff0c明天发货",
])
def test_a_day_named_without_its_date_is_not_dropped_silently(sentence):
    results = map_email_body(f"Hi,\n\n{sentence}\n", hints=HINTS)
    assert "20" not in lines(results)
    assert any(p.code is ProblemCode.INVALID_DATE for p in errors(results))


def test_a_weekday_beside_a_full_date_is_read():
    results = map_email_body("Hi,\n\nline 20: 80 pcs, delivery Friday, 2026-12-04\n",
                             hints=HINTS)
    line = lines(results)["20"]
    assert (line.quantity, line.delivery_date) == (Decimal(80), date(2026, 12, 4))


def test_an_unlabelled_number_beside_chinese_text_is_not_ignored():
    results = map_email_body("行号20\uff1a可交80件\uff0c余下20下周\n", hints=HINTS)
    assert "20" not in lines(results)


@pytest.mark.parametrize("body", [
    "Dear Sabine,\n\nline 10: 1.000 pcs, delivery 2026-12-05\n",
    "Hallo,\n\nPos. 10: 1,000 Stück, Preis 2,50 EUR\n",
])
def test_pieces_with_an_ambiguous_thousands_group_are_not_read_as_one(body):
    results = map_email_body(body, hints=HINTS)
    assert "10" not in lines(results)
    assert any(p.code is ProblemCode.AMBIGUOUS_VALUE for p in errors(results))


def test_pieces_with_the_suppliers_number_style_are_read():
    hints = EmailHints(subject=HINTS.subject, number_style=NumberStyle.DECIMAL_COMMA)
    read = lines(map_email_body("line 10: 1.000 pcs, delivery 2026-12-05\n", hints=hints))
    assert read["10"].quantity == Decimal(1000)
    assert read["10"].delivery_date == date(2026, 12, 5)


def test_german_thousands_are_not_read_as_one_because_of_a_time_of_day():
    body = ("Hallo Frau Hoffmann,\n\nAnlieferung ab 7.30 Uhr.\n"
            "Pos. 20: 2.000 Stück, Liefertermin 05.12.2026\n")
    read = lines(map_email_body(body, hints=HINTS))
    assert "20" not in read or read["20"].quantity == Decimal(2000)


# -- the shared readers ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-05", date(2026, 12, 5)),
    ("2026/12/05", date(2026, 12, 5)),
    ("05.12.2026", date(2026, 12, 5)),
    ("5.12.26", date(2026, 12, 5)),
    ("2026年12月5日", date(2026, 12, 5)),
    ("5 Dec 2026", date(2026, 12, 5)),
    ("Dec 5, 2026", date(2026, 12, 5)),
    ("5. Dezember 2026", date(2026, 12, 5)),
    ("Montag, 7. Dezember 2026", date(2026, 12, 7)),
    ("25/12/2026", date(2026, 12, 25)),
    ("12/25/2026", date(2026, 12, 25)),
    ("05/05/2026", date(2026, 5, 5)),
    ("20261205", date(2026, 12, 5)),
])
def test_read_date_forms(text, expected):
    assert read_date(text, None) == expected


@pytest.mark.parametrize(("text", "code"), [
    ("05/12/2026", ProblemCode.AMBIGUOUS_VALUE),
    ("31.02.2026", ProblemCode.INVALID_DATE),
    ("next week", ProblemCode.INVALID_DATE),
    ("32/13/2026", ProblemCode.INVALID_DATE),
])
def test_read_date_refusals(text, code):
    value = read_date(text, None)
    assert isinstance(value, Unreadable)
    assert value.code is code


def test_hinted_order_is_not_overruled_by_an_impossible_reading():
    assert isinstance(read_date("12/25/2026", DateOrder.DAY_FIRST), Unreadable)


@pytest.mark.parametrize(("text", "style", "expected"), [
    ("80", None, Decimal(80)),
    ("12,50", None, Decimal("12.50")),
    ("12.5", None, Decimal("12.5")),
    ("0.500", None, Decimal("0.500")),
    ("1.234,56", None, Decimal("1234.56")),
    ("1,234.56", None, Decimal("1234.56")),
    ("1,000,000", None, Decimal(1000000)),
    ("1\u00a0000", None, Decimal(1000)),
    ("1,000", NumberStyle.DECIMAL_POINT, Decimal(1000)),
    ("1,000", NumberStyle.DECIMAL_COMMA, Decimal("1.000")),
    ("1.000", NumberStyle.DECIMAL_COMMA, Decimal(1000)),
    ("\uff18\uff10", None, Decimal(80)),
])
def test_read_number(text, style, expected):
    value = read_number(text, style)
    assert value == expected
    assert str(value) == str(expected)


@pytest.mark.parametrize("text", ["1,000", "1.000", "12.345"])
def test_read_number_refuses_a_thousands_guess(text):
    value = read_number(text, None)
    assert isinstance(value, Unreadable)
    assert value.code is ProblemCode.AMBIGUOUS_VALUE


def test_style_evidence():
    assert style_evidence("price 12,50 EUR, 1.000 Stück") is NumberStyle.DECIMAL_COMMA
    assert style_evidence("1,234.56 and 1.000") is NumberStyle.DECIMAL_POINT
    assert style_evidence("12,50 and 12.50") is None
    assert style_evidence("delivery 05.12.2026") is None


@pytest.mark.parametrize("text", [
    "Anlieferung ab 7.30 Uhr",
    "Anlieferung zwischen 7.30 und 15.30 Uhr",
    "Our warehouse is open until 4.30 pm.",
    "Wareneingang 7.30h bis 15.00h",
])
def test_a_time_of_day_is_no_evidence_of_a_number_style(text):
    assert style_evidence(text) is None


def test_excel_serial_dates_and_the_1900_leap_year_bug():
    assert excel_serial_date(Decimal(46361)) == date(2026, 12, 5)
    assert excel_serial_date(Decimal("46361.75")) == date(2026, 12, 5)
    assert isinstance(excel_serial_date(Decimal(60)), Unreadable)
    assert isinstance(excel_serial_date(Decimal(80)), Unreadable)  # a quantity, not a date


def test_an_html_table_under_a_sentence_that_confirms_it_is_accepted():
    table = Table("HTML table 1", "html", (
        Row(1, ("PO", "Line", "Qty", "Delivery date")),
        Row(2, (PO, "10", "80", "2026-12-05"))))
    for text, status in (("Please see our confirmation below.", LineStatus.ACCEPTED),
                         ("Please see the table below.", None),
                         ("We cannot confirm, see our confirmation table below.", None)):
        [document] = documents(map_email_body(text, (table,)))
        assert document.lines[0].status is status, text


def test_a_line_longer_than_a_statement_is_refused_by_its_length_and_the_others_read():
    from mappings.email.body import MAX_STATEMENT_CHARS

    long_line = "PO 4500012345 line 20: 50 pcs confirmed " + "Lieferung 1.5 2,5 " * 300
    assert len(long_line) > MAX_STATEMENT_CHARS
    found = map_email_body(f"PO 4500012345 line 10: 80 pcs confirmed, delivery 2026-12-05\n"
                           f"{long_line}\n")
    documents = [f for f in found if not isinstance(f, Problem)]
    problems = [f for f in found if isinstance(f, Problem)]
    [document] = documents
    assert [(line.order_line_no, line.quantity) for line in document.lines] == [
        ("10", Decimal("80"))]
    [refused] = [p for p in problems if p.severity is Severity.ERROR]
    assert refused.segment == 2
    assert refused.detail.startswith(f"line 2 of the email body: the line is "
                                     f"{len(long_line):,} characters long")


def test_a_line_of_a_statement_s_length_is_still_read():
    from mappings.email.body import MAX_STATEMENT_CHARS

    line = "PO 4500012345 line 10: 80 pcs confirmed, delivery 2026-12-05"
    padded = line + " " * (MAX_STATEMENT_CHARS - len(line))
    [document] = [f for f in map_email_body(padded + "\n") if not isinstance(f, Problem)]
    assert [line.quantity for line in document.lines] == [Decimal("80")]
