"""Alert and digest mail composed by hand: valid MIME that the standard library reads back,
supplier text kept as data (no header injection, HTML escaped), every line short, in the
buyer's language."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from gateway.domain.alerts import Change, DigestItem, digest_groups
from gateway.domain.tolerances import Severity
from outbound.alert_mail import alert_message, digest_message

NOW = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
HOSTILE = DigestItem(7, "ACME", "深圳 <b>Acme</b>\r\nBcc: victim@example.com", "QTY_SHORT",
                     Severity.HIGH, 41.0, "open", Change.OPENED, "PO-1", "10", "100 PCE",
                     "<img src=x onerror=alert(1)> " + "40 PCE " * 400)


def read(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize("language", ["en", "de", "zh", "fr"])
def test_an_alert_reads_back_with_its_headers_and_both_parts(language: str) -> None:
    raw = alert_message("Gateway Ü <gateway@buyer.example>", ("anna@buyer.example",), HOSTILE,
                        language, "abc.alert@buyer.example", NOW)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = read(raw)
    assert message["Bcc"] is None
    assert message["Message-ID"] == "<abc.alert@buyer.example>"
    assert message["From"] == "Gateway Ü <gateway@buyer.example>"
    assert "深圳 <b>Acme</b>  Bcc: victim@example.com" in message["Subject"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "<img src=x" in plain.get_content()
    assert "<img" not in html.get_content()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.get_content()


def test_the_subject_is_in_the_buyers_language() -> None:
    subjects = {language: read(alert_message("g@b.example", ("a@b.example",), HOSTILE,
                                             language, "m@b.example", NOW))["Subject"]
                for language in ("en", "de", "zh")}
    assert subjects["en"].startswith("[HIGH] Supplier exception opened: QTY_SHORT")
    assert subjects["de"].startswith("[HOCH] Lieferanten-Ausnahme neu: QTY_SHORT")
    assert subjects["zh"].startswith("[高] 供应商异常 新建: QTY_SHORT")


def test_a_digest_lists_suppliers_worst_first() -> None:
    low = DigestItem(8, "BOLT", "Bolt Ltd", "LINE_UNCLEAR", Severity.LOW, 1.0, "open",
                     Change.OPENED, "PO-2", "20", None, "maybe", changes=3)
    raw = digest_message("g@b.example", ("a@b.example",), digest_groups([low, HOSTILE]), "en",
                         "d@b.example", NOW)
    text = read(raw).get_body(("plain",))
    assert text is not None
    content = text.get_content()
    assert content.index("(ACME)") < content.index("(BOLT)")
    assert "changes in this period: 3" in content
