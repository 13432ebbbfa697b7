"""Languages: Accept-Language negotiation, locale formats, and the committed catalogues
(every message translated, the compiled .mo matching its .po)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from gateway.web.i18n import LOCALE_DIR, Formats, load_translations, negotiate


@pytest.mark.parametrize(("choice", "header", "expected"), [
    (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
    (None, "zh-CN,zh;q=0.9", "zh_Hans"),
    (None, "zh-Hans-SG", "zh_Hans"),
    (None, "zh-TW, en;q=0.5", "en"),
    (None, "fr, de;q=0.3", "de"),
    (None, "en;q=0.2, de;q=0.9", "de"),
    (None, "de;q=0", "en"),
    (None, "*", "en"),
    (None, None, "en"),
    (None, "not a header;q=x", "en"),
    ("zh_Hans", "de", "zh_Hans"),
    ("xx", "de", "de"),
])
def test_negotiate(choice: str | None, header: str | None, expected: str) -> None:
    assert negotiate(choice, header) == expected


def test_dates_and_numbers_follow_the_locale() -> None:
    day, amount = date(2026, 12, 6), Decimal("1234.5")
    assert (Formats("en").date(day), Formats("en").number(amount)) == ("Dec 6, 2026", "1,234.5")
    assert (Formats("de").date(day), Formats("de").number(amount)) == ("06.12.2026", "1.234,5")
    assert Formats("zh_Hans").date(day) == "2026年12月6日"
    assert Formats("zh_Hans").html_lang == "zh-Hans"


@pytest.mark.parametrize("code", ["de", "zh_Hans"])
def test_the_compiled_catalogue_matches_its_source(code: str) -> None:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source)
    with (LOCALE_DIR / "messages.pot").open("rb") as template_file:
        template = read_po(template_file)
    translations = load_translations()[code]
    wanted = {message.id for message in template if message.id}
    assert wanted <= {message.id for message in catalogue if message.id}
    for message in catalogue:
        if message.id:
            assert message.string, f"{message.id!r} is not translated"
            assert translations.gettext(message.id) == message.string
