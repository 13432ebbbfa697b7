"""Text normalisation shared by the email and spreadsheet mappings.

Suppliers type full-width forms (digits U+FF10-FF19, colon U+FF1A, comma U+FF0C) in Chinese text
and sheets; NFKC folds them into their ASCII equivalents, so one set of patterns reads both.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mappings.email.vocabulary import FIELD_NAMES, LANGUAGE_CUES, Field, Language

_NOT_LABEL = re.compile(r"[\W_]+")
# After NFKC, full-width parentheses are ASCII ones; the lenticular brackets stay as they are.
_PARENTHESES = re.compile(r"\s*[(\[【].*?[)\]】]\s*")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC, case folded, runs of white space as one space, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@lru_cache(maxsize=4096)
def label_key(text: str) -> str:
    """The form column headers and field labels are compared in: `PO No.` -> `pono`,
    `Bestell-Nr.` -> `bestellnr`, `单价(元)` -> `单价` (a parenthesised unit is dropped)."""
    text = unicodedata.normalize("NFKC", text)
    without = _PARENTHESES.sub(" ", text).strip()
    return _NOT_LABEL.sub("", (without or text).casefold())


def parenthesised(text: str) -> str | None:
    """What a header holds in parentheses, `EUR` in `Price (EUR)`, else None."""
    match = re.search(r"[(\[【](.*?)[)\]】]", unicodedata.normalize("NFKC", text))
    return match.group(1).strip() if match else None


def _build_labels() -> dict[str, tuple[Field, frozenset[Language]]]:
    labels: dict[str, tuple[Field, set[Language]]] = {}
    for language, fields in FIELD_NAMES.items():
        for field_, names in fields.items():
            for name in names:
                key = label_key(name)
                known = labels.setdefault(key, (field_, set()))
                if known[0] is not field_:
                    raise ValueError(f"{name!r} names both {known[0]} and {field_}")
                known[1].add(language)
    return {key: (f, frozenset(languages)) for key, (f, languages) in labels.items()}


# label key -> the field it names and the languages that use it.
LABELS: dict[str, tuple[Field, frozenset[Language]]] = _build_labels()


def language_of(text: str) -> Language | None:
    """The one language whose cue words occur in `text`, or None (none, or several)."""
    folded = fold(text)
    found = {language for language, cues in LANGUAGE_CUES.items()
             if any(cue in folded for cue in cues)}
    if Language.CHINESE in found:
        # Chinese mails quote English order numbers and units ("PO", "pcs"): the CJK cue wins.
        return Language.CHINESE
    return found.pop() if len(found) == 1 else None


def shorten(text: str, limit: int = 80) -> str:
    """The text as quoted in a problem's detail: one line, at most `limit` characters."""
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
