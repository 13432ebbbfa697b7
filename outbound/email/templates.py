"""The templates of replies and reminders (Jinja2), and what keeps supplier text inert in them.

Both environments are sandboxed (an operator's template cannot reach Python internals) and
strict (a misspelt name is an error, not an empty string). The HTML one escapes every value
(autoescape); in both, every value first loses its control characters, the bidirectional
overrides that can make a text read backwards (Unicode TR #9 "Trojan Source") and its line
breaks, so a supplier's text stays on its own line and cannot draw a fake table row or header.

Templates are looked up in the operator's folder first (`GATEWAY_TEMPLATE_DIR`), then here:
`NAME.LANG.txt.j2` before `NAME.txt.j2`, so one language can be overridden alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gateway.errors import ConfigurationError
from outbound.email.catalogue import CATALOGUE
from outbound.email.content import Language

# C0 and C1 controls, DEL, the bidirectional embeddings, overrides and isolates, and the line
# and paragraph separators: shown as one space.
_INERT = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\u200e\u200f]+")
MAX_VALUE = 500


class TemplateProblem(ConfigurationError):
    """A template that cannot be found or rendered (an operator's override, most likely)."""


def inert(value: Any) -> Any:
    """A value as shown in a message: text on one line without control characters, bounded;
    numbers and other values as their text; None as nothing."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = " ".join(_INERT.sub(" ", value).split())
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def cell(value: Any) -> str:
    """A value in a plain-text table cell: inert, and without the `|` that would split it."""
    return str(inert(value)).replace("|", "/")


class Templates:
    """The plain text and HTML environments, built once and reused (they cache templates)."""

    def __init__(self, override: Path | None = None) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(str(override))] if override else []
        loaders.append(PackageLoader("outbound.email", "templates"))
        loader = ChoiceLoader(loaders)
        self.text = ImmutableSandboxedEnvironment(
            loader=loader, autoescape=False, undefined=StrictUndefined, finalize=inert,
            keep_trailing_newline=True)
        self.html = ImmutableSandboxedEnvironment(
            loader=loader, autoescape=True, undefined=StrictUndefined, finalize=inert)
        for environment in (self.text, self.html):
            environment.filters["cell"] = cell

    def render(self, name: str, language: Language,
               context: Mapping[str, Any]) -> tuple[str, str]:
        """(plain text, HTML) of template `name` in `language`."""
        values = dict(context, say=_sayer(language), lang=language.value)
        try:
            text = self.text.select_template([f"{name}.{language.value}.txt.j2",
                                              f"{name}.txt.j2"]).render(values)
            html = self.html.select_template([f"{name}.{language.value}.html.j2",
                                              f"{name}.html.j2"]).render(values)
        except TemplateError as exc:
            raise TemplateProblem(f"email template {name!r} ({language.value}): "
                                  f"{type(exc).__name__}: {exc}") from exc
        return text, html


def _sayer(language: Language) -> Any:
    phrases = CATALOGUE[language]

    def say(key: str, **values: Any) -> str:
        """The sentence `key` in the supplier's language, its placeholders filled."""
        return phrases[key].format_map({name: inert(value) for name, value in values.items()})

    return say
