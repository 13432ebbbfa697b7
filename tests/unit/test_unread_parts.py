"""The parts of an email a reply says were not read: place, the supplier's words and why,
taken from the email reader's located problems (gateway/services/unread_parts.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.services.unread_parts import quoted_at, unread_part
from outbound.email.content import UnreadWhy
from parsers.errors import Problem, ProblemCode, Severity


def _problem(code: ProblemCode, detail: str) -> Problem:
    return Problem(Severity.ERROR, code, detail)


def test_a_body_line_gives_its_number_and_the_suppliers_words() -> None:
    part = unread_part(_problem(
        ProblemCode.UNREADABLE_TEXT,
        "line 6 of the email body: 'Pos. 50: eventuell 5.000 Stück, falls das Material "
        "rechtzeitig kommt' makes its answer depend on a condition ('falls'); it is an offer"))
    assert part.why is UnreadWhy.NOT_COMMITTED
    assert part.line == 6
    assert part.quote == "Pos. 50: eventuell 5.000 Stück, falls das Material rechtzeitig kommt"
    assert part.attachment is None


def test_an_ambiguous_date_is_its_own_kind() -> None:
    part = unread_part(_problem(
        ProblemCode.AMBIGUOUS_VALUE,
        "line 3 of the email body: 'PO 4500020015 line 10: 300 pcs confirmed, delivery "
        "05/12/2026': '05/12/2026' is day/month (5 December) or month/day (12 May)"))
    assert (part.why, part.line) == (UnreadWhy.AMBIGUOUS, 3)
    assert part.quote == "PO 4500020015 line 10: 300 pcs confirmed, delivery 05/12/2026"


def test_a_range_of_lines_and_a_forwarded_message_are_placed_at_the_first_line() -> None:
    part = unread_part(_problem(
        ProblemCode.UNREADABLE_TEXT,
        "forwarded message (part 2): lines 4-6 of the email body: \"it's late\" is not read"))
    assert (part.line, part.quote) == (4, "it's late")


def test_an_attachment_gives_its_file_name() -> None:
    part = unread_part(_problem(
        ProblemCode.UNSUPPORTED_SYNTAX,
        "attachment 'AB_4500020001.xlsx' (part 2): unpacks to more than 100 MB; not read"))
    assert (part.why, part.attachment, part.line) == (UnreadWhy.ATTACHMENT,
                                                      "AB_4500020001.xlsx", None)


def test_the_whole_message_has_no_place() -> None:
    part = unread_part(_problem(
        ProblemCode.NOTHING_READABLE,
        "the reply answers no order line and neither accepts nor rejects an order"))
    assert (part.why, part.line, part.attachment, part.quote) == (
        UnreadWhy.NOTHING_ANSWERED, None, None, None)
    assert str(part) == "the reply answers no order line and neither accepts nor rejects an order"


def test_a_broken_quote_gives_no_words_rather_than_wrong_ones() -> None:
    part = unread_part(_problem(ProblemCode.UNREADABLE_TEXT,
                                "line 2 of the email body: 'never closed"))
    assert (part.line, part.quote) == (2, None)
    assert quoted_at("no quote here", 0) is None


@given(st.text(max_size=200))
def test_any_text_written_as_repr_is_read_back(text: str) -> None:
    detail = f"line 9 of the email body: {text!r} is not read"
    assert unread_part(_problem(ProblemCode.UNREADABLE_TEXT, detail)).quote == text
