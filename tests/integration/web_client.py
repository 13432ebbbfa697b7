"""Signing in to the web app under test the way a browser does (form, CSRF token, cookie)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import event

from gateway.config import Settings
from gateway.web.app import create_app
from gateway.web.security import WebSettings
from tests.integration.web_scenario import NOW, PASSWORD

SECRET = "test-secret-key-that-is-long-enough-0123456789"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([^"]+)"')


def web_client(settings: Settings, base_url: str = "http://testserver",
               clock: Callable[[], datetime] = lambda: NOW) -> TestClient:
    app = create_app(settings, web_settings=WebSettings(SECRET), clock=clock)
    return TestClient(app, base_url=base_url, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Signs in; returns the session's CSRF token."""
    form = client.get("/login")
    answer = client.post("/login", data={"email": email, "password": password,
                                         "csrf": csrf_of(form.text), "next": "/exceptions"})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/exceptions").text)


def act(client: TestClient, exception_id: int, action: str, **fields: str) -> object:
    page = client.get(f"/exceptions/{exception_id}")
    version = VERSION.search(page.text)
    data = {"action": action, "csrf": csrf_of(page.text),
            "version": version.group(1) if version else "", **fields}
    return client.post(f"/exceptions/{exception_id}/actions", data=data)


def page_selects(client: TestClient, path: str) -> tuple[int, str]:
    """The SELECT statements the web app sent to answer GET `path` (200 asserted), and the
    page: for the tests that pin a page's statements whatever its number of rows (no N+1)."""
    statements: list[str] = []
    web_engine = client.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(web_engine, "before_cursor_execute", count)
    try:
        page = client.get(path)
    finally:
        event.remove(web_engine, "before_cursor_execute", count)
    assert page.status_code == 200, page.text
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), page.text
