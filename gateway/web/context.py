"""What every page and API route needs, built once by `create_app`: the session factory, the
cookie signer, the templates per language and the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.web.i18n import LANGUAGES, Formats, load_translations
from gateway.web.security import CookieSigner, WebSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_environments() -> dict[str, Environment]:
    """One Jinja2 environment per language (the gettext callables are per environment), each
    autoescaping every template: supplier text is data."""
    environments = {}
    for code, translations in load_translations().items():
        env = Environment(loader=FileSystemLoader(TEMPLATES),
                          autoescape=select_autoescape(default=True, default_for_string=True),
                          extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        environments[code] = env
    return environments


@dataclass(slots=True)
class WebContext:
    sessions: sessionmaker[Session]
    settings: WebSettings
    signer: CookieSigner
    environments: dict[str, Environment]
    clock: Callable[[], datetime]

    @classmethod
    def build(cls, sessions: sessionmaker[Session], settings: WebSettings,
              clock: Callable[[], datetime] | None = None) -> WebContext:
        return cls(sessions, settings, CookieSigner(settings.secret_key),
                   template_environments(), clock or (lambda: datetime.now(UTC)))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def now(self) -> datetime:
        return self.clock()

    def render(self, request: Request, locale: str, name: str, status: int = 200,
               **values: Any) -> HTMLResponse:
        env = self.environments.get(locale) or self.environments["en"]
        html = env.get_template(name).render(
            request=request, fmt=Formats(locale), locale=locale, languages=LANGUAGES,
            **values)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store"})
