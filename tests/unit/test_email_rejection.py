"""The buyer's rejection of a supplier's change on the wire (outbound/email): which line and
value, what stands, in the supplier's language, threaded or not, supplier text kept inert."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import cast

import pytest

from gateway.persistence.models import ExceptionRow
from gateway.services.rejections import rejectable, rejection_content
from outbound.email.content import Field, Language, RejectionContent
from outbound.email.message import Addresses, Parent, build_rejection
from outbound.email.templates import Templates

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ADDRESSES = Addresses("purchasing@buyer.example", "Purchasing", "sales@supplier.example",
                      "<rejection.abc@buyer.example>", NOW)
HOSTILE = "<img src=x onerror=alert(1)>\u202eevil\r\nBcc: x@y"


def _parse(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = cast(EmailMessage, BytesParser(policy=email.policy.default).parsebytes(raw))
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    return message, str(text.get_content()), str(html.get_content())


@pytest.mark.parametrize(("language", "stands"), [
    (Language.EN, "Our order stands as ordered: date 2026-12-10."),
    (Language.DE, "Es gilt unsere Bestellung: Termin 2026-12-10."),
    (Language.ZH, "以我方订单为准\uff1a日期 2026-12-10\u3002"),
])
def test_the_rejection_says_what_stands_in_the_suppliers_language(
        language: Language, stands: str) -> None:
    content = RejectionContent("Albrecht", language, "4500099001", "10", "M8x20",
                               Field.DATE, "2026-12-10", "2026-12-24")
    message, text, _html = _parse(build_rejection(content, None, ADDRESSES, Templates()))
    assert stands in text
    assert "2026-12-24" in text
    assert message["Content-Language"] == language.value
    assert message["In-Reply-To"] is None
    assert "4500099001" in message["Subject"]


def test_a_rejection_threads_under_the_suppliers_email_and_keeps_its_text_inert() -> None:
    content = RejectionContent(HOSTILE, Language.EN, "4500099001", "10", HOSTILE,
                               Field.QUANTITY, "100 PCE", HOSTILE)
    parent = Parent("<m1@supplier.example>", "AW: Bestellung 4500099001",
                    ("<m0@buyer.example>", "<m1@supplier.example>"))
    message, text, html = _parse(build_rejection(content, parent, ADDRESSES, Templates()))
    assert message["In-Reply-To"] == "<m1@supplier.example>"
    assert message["References"] == "<m0@buyer.example> <m1@supplier.example>"
    assert message["Subject"] == "Re: Bestellung 4500099001"
    assert message["Bcc"] is None
    assert "<img" not in html
    assert "&lt;img" in html
    assert "\u202e" not in text
    assert "\u202e" not in html
    assert "Bcc: x@y" not in text.splitlines()


def _row(code: str, order: str | None = "4500099001") -> ExceptionRow:
    return ExceptionRow(id=4711, code=code, order_number=order, line_no="10",
                        expected="100", actual="60", rule="qty-short", supplier_code="ALB")


def test_only_a_changed_quantity_date_or_price_of_a_known_order_is_rejectable() -> None:
    assert rejectable("QTY_SHORT", "4500099001")
    assert rejectable("PRICE_CHANGED", "4500099001")
    assert not rejectable("UNKNOWN_ORDER", "4500099001")
    assert not rejectable("QTY_SHORT", None)
    assert not rejectable("NO_SUCH_CODE", "4500099001")
    content = rejection_content(_row("QTY_SHORT"), "Albrecht", "xx", "M8")
    assert (content.language, content.field, content.ordered, content.said) == (
        Language.EN, Field.QUANTITY, "100", "60")
