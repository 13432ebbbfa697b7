"""Email replies and reminders on the wire (outbound/email): threading, languages, multipart,
supplier text kept inert in plain text and HTML, operator templates (sandboxed)."""

from __future__ import annotations

import email.policy
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import cast

import pytest

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    Line,
    LineStatus,
    SourceFormat,
)
from gateway.domain.tolerances import DEFAULT_PROFILE, Severity
from gateway.services.lookups import SupplierInfo
from gateway.services.replies import reply_content
from outbound.email.content import (
    Ask,
    Change,
    Field,
    FillInRow,
    Language,
    OverdueLine,
    ReminderContent,
    ReplyContent,
    ReplyLine,
    Request,
    UnreadPart,
    UnreadWhy,
    Verdict,
)
from outbound.email.message import Addresses, Parent, build_reminder, build_reply, message_id
from outbound.email.templates import TemplateProblem, Templates
from outbound.email.threading import references, reply_subject

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
OURS = message_id("reply", "0123abcd", "buyer.example")
ADDRESSES = Addresses("purchasing@buyer.example", "Purchasing", "orders@acme.example", OURS, NOW)
PARENT = Parent("<po-answer-1@acme.example>", "AW: Re: Bestellung 4500012346",
                ("<po-1@buyer.example>", "<po-answer-1@acme.example>"))
HOSTILE = "<script>alert('x')</script><b onmouseover=\"steal()\">bold</b>"


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


def parsed(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=email.policy.default).parsebytes(raw))


def parts(raw: bytes) -> tuple[str, str]:
    message = parsed(raw)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def content(language: Language = Language.EN, item: str = "SWA-4017-0830",
            name: str = "Acme Fasteners GmbH") -> ReplyContent:
    return ReplyContent(name, language, lines=(
        ReplyLine("4500012346", "10", item, Verdict.CHANGED, "1800 PCE", "2026-12-08", None,
                  (Change(Field.QUANTITY, "2000", "1800"),)),
        ReplyLine("4500012346", "20", "SWA-4017-1040", Verdict.CONFIRMED, "1500 PCE"),
        ReplyLine("4500012346", "30", None, Verdict.REJECTED),
        ReplyLine("4500012346", "40", None, Verdict.NOT_UNDERSTOOD, "2000")),
        requests=(Request(Ask.QUANTITY, "4500012346", "10", "2000", "1800"),))


# -- threading -----------------------------------------------------------------------------


@pytest.mark.parametrize(("original", "expected"), [
    ("Bestellung 4500012346", "Re: Bestellung 4500012346"),
    ("Re: Bestellung 4500012346", "Re: Bestellung 4500012346"),
    ("RE: re: AW: Bestellung 4500012346", "Re: Bestellung 4500012346"),
    ("Re[2]: Sv: order", "Re: order"),
    ("回复：订单 4500012347", "Re: 订单 4500012347"),  # noqa: RUF001
    ("  Re:   split\r\n  line ", "Re: split line"),
    ("Fwd: order", "Re: Fwd: order"),
    ("", "own"),
    (None, "own"),
    ("Re: ", "own"),
])
def test_the_reply_subject_says_re_once(original: str | None, expected: str) -> None:
    assert reply_subject(original, "own") == expected


def test_references_continue_the_parents_chain() -> None:
    assert references("<c@x>", "<a@x> <b@x>", "<b@x>") == ("<a@x>", "<b@x>", "<c@x>")
    # No References: the parent's In-Reply-To (one id) starts the chain.
    assert references("<c@x>", None, "<b@x>") == ("<b@x>", "<c@x>")
    assert references("<c@x>", None, "<a@x> <b@x>") == ("<c@x>",)
    assert references(None, None, None) == ()
    long = " ".join(f"<{n}@x>" for n in range(40))
    chain = references("<last@x>", long, None)
    assert len(chain) == 20
    assert chain[0] == "<0@x>"
    assert chain[-1] == "<last@x>"


def test_a_reply_is_threaded_under_the_suppliers_message(templates: Templates) -> None:
    message = parsed(build_reply(content(), PARENT, ADDRESSES, templates))
    assert message["In-Reply-To"] == "<po-answer-1@acme.example>"
    assert message["References"].split() == ["<po-1@buyer.example>",
                                              "<po-answer-1@acme.example>"]
    assert message["Subject"] == "Re: Bestellung 4500012346"
    assert message["Message-ID"] == OURS
    assert message["To"] == "orders@acme.example"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_a_message_without_subject_gets_our_own(templates: Templates) -> None:
    message = parsed(build_reply(content(Language.DE), Parent(None, None, ()), ADDRESSES,
                                 templates))
    assert message["Subject"] == "Ihre Nachricht zu unserer Bestellung 4500012346"
    assert message["In-Reply-To"] is None
    assert message["References"] is None


# -- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "greeting", "changed", "asks"), [
    (Language.EN, "Dear Acme Fasteners GmbH team,", "changed",
     "you confirmed 1800 instead of the ordered 2000"),
    (Language.DE, "Sehr geehrte Damen und Herren (Acme Fasteners GmbH),", "geändert",
     "Sie bestätigen 1800 statt der bestellten 2000"),
    (Language.ZH, "Acme Fasteners GmbH 团队，您好：", "有变更",  # noqa: RUF001
     "您确认的数量为 1800，订购数量为 2000"),  # noqa: RUF001
])
def test_the_reply_is_in_the_suppliers_language(templates: Templates, language: Language,
                                                greeting: str, changed: str,
                                                asks: str) -> None:
    raw = build_reply(content(language), PARENT, ADDRESSES, templates)
    assert parsed(raw)["Content-Language"] == language.value
    for part in parts(raw):
        assert greeting in part
        assert changed in part
        assert asks in part
    assert f'<html lang="{language.value}">' in parts(raw)[1]


def test_each_verdict_is_said(templates: Templates) -> None:
    text, html = parts(build_reply(content(), PARENT, ADDRESSES, templates))
    for said in ("confirmed as ordered", "changed", "rejected", "not understood",
                 "quantity: ordered 2000, you wrote 1800"):
        assert said in text
        assert said in html


def test_an_unreadable_reply_gets_a_table_to_fill_in(templates: Templates) -> None:
    unread = ReplyContent("Acme", Language.EN, unread=(UnreadPart(
        UnreadWhy.NOT_COMMITTED,
        "line 6 of the email body: 'maybe 5000 pcs if material arrives' is not read",
        line=6, quote="maybe 5000 pcs if material arrives"),),
        fill_in=(FillInRow("4500012346", "10", "SWA-4017-0830"),
                 FillInRow("4500012346", "20", "SWA-4017-1040")))
    text, html = parts(build_reply(unread, PARENT, ADDRESSES, templates))
    assert "We could not read this part of your message with confidence:" in text
    assert "| Order | Line | Item | Quantity | Date |" in text
    assert "| 4500012346 | 10 | SWA-4017-0830 |  |  |" in text
    assert "<td>4500012346</td><td>20</td><td>SWA-4017-1040</td><td></td><td></td>" in html
    assert "maybe 5000 pcs if material arrives" in text


@pytest.mark.parametrize(("language", "said", "not_said"), [
    (Language.DE, ["Zeile 6 Ihrer E-Mail („eventuell 5.000 Stück, falls <Material> kommt“)",
                   "keine eindeutige Bestätigung oder Ablehnung",
                   "Der Anhang AB 4500012346.xlsx: er wurde nicht gelesen"],
     ["is not read", "an offer"]),
    (Language.ZH, ["您邮件的第 6 行（“eventuell 5.000 Stück, falls <Material> kommt”）",  # noqa: RUF001
                   "没有明确的确认或拒绝", "附件 AB 4500012346.xlsx：该附件未被读取"],  # noqa: RUF001
     ["is not read", "an offer"]),
])
def test_unread_parts_are_told_in_the_suppliers_language(
        templates: Templates, language: Language, said: list[str], not_said: list[str]) -> None:
    unread = ReplyContent("Albrecht", language, unread=(
        UnreadPart(UnreadWhy.NOT_COMMITTED,
                   "line 6 of the email body: 'eventuell 5.000 Stück, falls <Material> kommt' "
                   "makes its answer depend on a condition ('falls'); it is an offer, not an "
                   "answer; the line is not read",
                   line=6, quote="eventuell 5.000 Stück, falls <Material> kommt"),
        UnreadPart(UnreadWhy.ATTACHMENT, "attachment 'AB 4500012346.xlsx' (part 2): is not "
                   "read", attachment="AB 4500012346.xlsx")),
        fill_in=(FillInRow("4500012346", "10"),))
    text, html = parts(build_reply(unread, PARENT, ADDRESSES, templates))
    for sentence in said:
        assert sentence in text
    for english in not_said:
        assert english not in text
        assert english not in html
    # The supplier's words stay data in HTML.
    assert "falls &lt;Material&gt; kommt" in html
    assert "<Material>" not in html


def test_all_clear_says_nothing_is_needed(templates: Templates) -> None:
    clear = ReplyContent("Acme", Language.EN, lines=(
        ReplyLine("4500012346", "10", None, Verdict.CONFIRMED, "2000 PCE"),))
    text, _html = parts(build_reply(clear, PARENT, ADDRESSES, templates))
    assert "Nothing more is needed from you." in text
    assert "What we need from you" not in text


# -- supplier text is data -----------------------------------------------------------------


def test_markup_in_supplier_text_is_escaped_in_html(templates: Templates) -> None:
    raw = build_reply(content(item=HOSTILE, name=f"Acme {HOSTILE}"), PARENT, ADDRESSES,
                      templates)
    _text, html = parts(raw)
    assert "<script" not in html.lower()
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=&#34;steal()&#34;&gt;bold&lt;/b&gt;" in html


def test_control_characters_and_line_breaks_stay_out_of_the_plain_text(
        templates: Templates) -> None:
    sneaky = "M8\r\n\r\nPlease pay to IBAN XX00 \x1b[31mnow\u202e gnp.exe"
    text, html = parts(build_reply(content(item=sneaky), PARENT, ADDRESSES, templates))
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x1b" not in html
    line = next(li for li in text.splitlines() if "Please pay" in li)
    assert line.startswith("- Order 4500012346, Line 10 (M8 Please pay to IBAN XX00 [31mnow")


def test_a_subject_with_line_breaks_does_not_add_header_fields(templates: Templates) -> None:
    parent = Parent("<p@acme.example>", "Order 1\r\nBcc: victim@example.org", ())
    raw = build_reply(content(), parent, ADDRESSES, templates)
    message = parsed(raw)
    assert message["Bcc"] is None
    assert message["Subject"] == "Re: Order 1 Bcc: victim@example.org"


def test_no_internal_ids_reach_the_supplier(templates: Templates) -> None:
    """Built from what processing has: the discrepancies carry the message id, the rule, the
    tolerance profile and a line known only by its place; none of it is shown."""
    supplier = SupplierInfo("ACME", "Acme Fasteners GmbH", "anna@buyer.example",
                            DEFAULT_PROFILE, language="en")
    document = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EMAIL_TEXT, "email",
                        status=DocumentStatus.ACCEPTED, order_numbers=["4500012346"],
                        lines=[Line(line_no="10", order_line_no="10", status=LineStatus.ACCEPTED,
                                    quantity=Decimal("1800"), unit="PCE",
                                    delivery_date=date(2026, 12, 8),
                                    item=Item(supplier_part="SWA-1")),
                               Line(line_no="7", status=LineStatus.ADDED,
                                    quantity=Decimal(5), item=Item(supplier_part="TVS-9"))])
    found = [
        Discrepancy(DiscrepancyCode.QTY_SHORT, Severity.MEDIUM, "4500012346", "10", "2000",
                    "1800", "-10%", "rule QTY_UNDER_98765", "c-parts v77", 3.5, 1,
                    "anna@buyer.example", 424242),
        Discrepancy(DiscrepancyCode.UNKNOWN_LINE, Severity.MEDIUM, "4500012346", "#2",
                    "a line of the order", "supplier part TVS-9", None, "rule ZZ_31337", None,
                    1.0, 2, None, 515151),
    ]
    reply = reply_content(supplier, [document], found, [], {})
    raw = build_reply(reply, PARENT, ADDRESSES, templates)
    text, html = parts(raw)
    for secret in ("424242", "515151", "98765", "31337", "c-parts", "v77", "#2",
                   "anna@buyer.example", "Traceback"):
        assert secret not in raw.decode("utf-8", "replace")
        assert secret not in text
        assert secret not in html
    assert "your line 7 (supplier part TVS-9) is not on our order" in text


# -- operator templates --------------------------------------------------------------------


def test_an_operators_template_replaces_one_language(tmp_path: Path) -> None:
    (tmp_path / "reply.de.txt.j2").write_text(
        "Hallo {{ content.supplier_name }}, {{ content.lines | length }} Positionen.\n")
    templates = Templates(tmp_path)
    german = build_reply(content(Language.DE, name="<Acme>"), PARENT, ADDRESSES, templates)
    english = build_reply(content(Language.EN), PARENT, ADDRESSES, templates)
    assert parts(german)[0].rstrip() == "Hallo <Acme>, 4 Positionen."
    assert "Sehr geehrte" in parts(german)[1]   # the HTML part stays the built-in one
    assert "Dear Acme Fasteners GmbH team," in parts(english)[0]


@pytest.mark.parametrize("body", [
    "{{ content.__class__.__mro__ }}",
    "{{ say.__globals__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{{ undefined_name }}",
    "{% include '/etc/passwd' %}",
])
def test_an_operators_template_runs_sandboxed(tmp_path: Path, body: str) -> None:
    (tmp_path / "reply.txt.j2").write_text(body)
    with pytest.raises(TemplateProblem):
        build_reply(content(), PARENT, ADDRESSES, Templates(tmp_path))


# -- reminders -----------------------------------------------------------------------------


def test_a_reminder_lists_the_lines_in_the_suppliers_language(templates: Templates) -> None:
    reminder = ReminderContent("深圳华芯电子有限公司", Language.ZH, (
        OverdueLine("4500012347", "10", "HX-CC0603-104K50", "10000 PCE", "2026-12-07"),
        OverdueLine("4500012348", "40", f"pin | {HOSTILE}", "600 PCE", "2026-12-10")), 2, 3)
    raw = build_reminder(reminder, ADDRESSES, templates)
    message = parsed(raw)
    assert message["Subject"] == "提醒：请确认我方订单 4500012347, 4500012348"  # noqa: RUF001
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] is None
    text, html = parts(raw)
    assert "| 4500012347 | 10 | HX-CC0603-104K50 | 10000 PCE | 2026-12-07 |" in text
    assert "第 2 次提醒（最多 3 次）。" in text  # noqa: RUF001
    # A "|" in supplier text does not split a plain-text table cell.
    assert "| 4500012348 | 40 | pin / <script>" in text
    assert "<script" not in html
