"""Languages of the web app: English (the source text), German and Simplified Chinese, from
Babel message catalogues under `gateway/web/locale/` (the .po sources and the compiled .mo files
are both committed; docs/web.md has the command that regenerates them).

The language is the user's choice when they made one, else the best match of the browser's
Accept-Language (RFC 9110 section 12.5.4: quality values, `*` ignored), else English. Dates and
numbers are formatted by Babel for the same locale (CLDR data), so a German page reads
`1.234,5` and `6. Dez. 2026`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
# What a user may choose, and the name each language has in itself.
LANGUAGES = {"en": "English", "de": "Deutsch", "zh_Hans": "简体中文"}


def load_translations() -> dict[str, NullTranslations]:
    found: dict[str, NullTranslations] = {DEFAULT: NullTranslations()}
    for code in LANGUAGES:
        if code != DEFAULT:
            found[code] = Translations.load(str(LOCALE_DIR), [code], domain="messages")
    return found


def _language_ranges(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for order, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, order, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def _supported(tag: str) -> str | None:
    tag = tag.replace("-", "_")
    try:
        locale = Locale.parse(tag)
    except (ValueError, TypeError):
        return None
    if locale.language == "zh":
        # Traditional script (zh-TW, zh-HK, zh-Hant) is not offered: fall through.
        script = locale.script or ("Hant" if locale.territory in ("TW", "HK", "MO") else "Hans")
        return "zh_Hans" if script == "Hans" else None
    return locale.language if locale.language in LANGUAGES else None


def negotiate(choice: str | None, accept_language: str | None) -> str:
    if choice in LANGUAGES:
        return choice
    for tag in _language_ranges(accept_language or ""):
        found = _supported(tag)
        if found is not None:
            return found
    return DEFAULT


@dataclass(frozen=True, slots=True)
class Formats:
    """Dates and numbers for one locale, as the templates call them."""

    locale: str

    def date(self, value: date | None) -> str:
        return "" if value is None else format_date(value, "medium", locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        return "" if value is None else format_datetime(value, "medium", locale=self.locale)

    def age(self, value: timedelta | None) -> str:
        """How long ago, roughly ("2 hours", "3 days")."""
        return "" if value is None else format_timedelta(value, locale=self.locale)

    def number(self, value: Decimal | float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    @property
    def html_lang(self) -> str:
        return "zh-Hans" if self.locale == "zh_Hans" else self.locale
