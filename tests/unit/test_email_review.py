"""Adversarial review: replies as suppliers really write them, which must not be read as a
firm answer when they are not one (a silent guess), nor left unread when they are clear."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import Document, Line, LineStatus
from mappings.email import EmailHints, NumberStyle, map_email_body
from mappings.email.values import style_evidence
from parsers.errors import Problem, ProblemCode

PO = "4500012345"
HINTS = EmailHints(subject=f"RE: Purchase order {PO}")


def lines(results: list[Document | Problem]) -> dict[str, Line]:
    return {line.order_line_no or "": line for r in results if isinstance(r, Document)
            for line in r.lines}


def errors(results: list[Document | Problem]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem) and r.is_error]


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
def test_conditional_answer_is_not_a_firm_confirmation(sentence):
    results = map_email_body(f"Hello,\n\n{sentence}\n", hints=HINTS)
    assert "10" not in lines(results)
    assert errors(results)


def test_conditional_acceptance_of_the_whole_order_is_not_read():
    results = map_email_body(f"We confirm your order {PO} if you accept the new prices.\n")
    assert not [r for r in results if isinstance(r, Document)]


@pytest.mark.parametrize("sentence", [
    "line 30: not available until 2027-01-15",
    "line 30 not available until January",
    "line 30: out of stock, earliest delivery 2027-01-20",
    "line 30: only 50 pcs, rest not available",
    "Pos. 30: nicht lieferbar bis KW 3",
])
def test_a_delay_or_a_partial_quantity_is_not_read_as_a_rejection(sentence):
    results = map_email_body(f"Hi,\n\n{sentence}\n", hints=HINTS)
    assert "30" not in lines(results)
    assert errors(results)


def test_rejection_with_zero_quantity_is_still_a_rejection():
    read = lines(map_email_body("line 30: 0 pcs, not available\n", hints=HINTS))
    assert read["30"].status is LineStatus.REJECTED


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


def test_an_unlabelled_number_beside_chinese_text_is_not_ignored():
    results = map_email_body("行号20\uff1a可交80件\uff0c余下20下周\n", hints=HINTS)
    assert "20" not in lines(results)


@pytest.mark.parametrize("text", [
    "Anlieferung ab 7.30 Uhr",
    "Anlieferung zwischen 7.30 und 15.30 Uhr",
    "Our warehouse is open until 4.30 pm.",
    "Wareneingang 7.30h bis 15.00h",
])
def test_a_time_of_day_is_no_evidence_of_a_number_style(text):
    assert style_evidence(text) is None


def test_german_thousands_are_not_read_as_one_because_of_a_time_of_day():
    body = ("Hallo Frau Hoffmann,\n\nAnlieferung ab 7.30 Uhr.\n"
            "Pos. 20: 2.000 Stück, Liefertermin 05.12.2026\n")
    read = lines(map_email_body(body, hints=HINTS))
    assert "20" not in read or read["20"].quantity == Decimal(2000)


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


def test_chinese_line_number_followed_by_a_status_word_is_read():
    read = lines(map_email_body("行号10确认。\n", hints=HINTS))
    assert read["10"].status is LineStatus.ACCEPTED


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
