"""Supplier content is hostile: markup in an email body, an HTML table with an onerror
handler, EDIFACT free text with markup and a file name with path parts reach the exception
page and the API escaped, never as markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.config import Settings
from tests.integration.web_client import sign_in, web_client
from tests.integration.web_scenario import (
    ANNA,
    EDI_MARKUP,
    ONERROR,
    PATH_FILENAME,
    SCRIPT_BODY,
    Scenario,
    build,
)


@pytest.fixture(params=["sqlite"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    # Escaping is the templates' work: one database is enough.
    return Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        sign_in(found, ANNA)
        yield found


def _page_of(client: TestClient, scenario: Scenario, kind: str) -> str:
    exceptions = scenario.exceptions_of(scenario.hostile[kind])
    assert exceptions, f"the {kind} message raised no exception"
    answer = client.get(f"/exceptions/{exceptions[0]}")
    assert answer.status_code == 200
    return answer.text


def _no_markup_from_supplier(page: str) -> None:
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert "<b " not in page
    # No element of the page has an event handler attribute.
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", page)


def test_a_script_in_an_email_body_is_shown_as_text(client: TestClient,
                                                    scenario: Scenario) -> None:
    page = _page_of(client, scenario, "script")
    _no_markup_from_supplier(page)
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in page
    assert SCRIPT_BODY not in page


def test_an_html_table_with_onerror_is_never_rendered(client: TestClient,
                                                      scenario: Scenario) -> None:
    page = _page_of(client, scenario, "table")
    _no_markup_from_supplier(page)
    assert ONERROR not in page
    # The text the gateway read from the HTML is there, as text.
    assert "Order 4500099001" in page


def test_edifact_free_text_with_markup_is_escaped(client: TestClient,
                                                  scenario: Scenario) -> None:
    page = _page_of(client, scenario, "edifact")
    _no_markup_from_supplier(page)
    assert EDI_MARKUP not in page
    assert "FTX+AAI+++&lt;script&gt;alert(?&#39;edi?&#39;)&lt;/script&gt;" in page
    assert "IMD+F++:::&lt;b onmouseover=alert(1)&gt;bolt&lt;/b&gt;" in page


def test_a_file_name_with_path_parts_is_shown_escaped(client: TestClient,
                                                      scenario: Scenario) -> None:
    page = _page_of(client, scenario, "edifact")
    assert PATH_FILENAME not in page
    assert ('<span id="filename">../../etc/&lt;b&gt;cron.d&lt;/b&gt;/ordrsp.edi</span>'
            in page)


def test_the_api_returns_supplier_text_as_json_strings(client: TestClient,
                                                       scenario: Scenario,
                                                       engine: Engine) -> None:
    from gateway.bootstrap import make_session_factory
    from gateway.domain.access import Scope
    from gateway.services.accounts import create_api_token
    from tests.integration.web_scenario import NOW

    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, "erp", [Scope.EXCEPTIONS_READ], "test", NOW).token
    exception_id = scenario.exceptions_of(scenario.hostile["script"])[0]
    answer = client.get(f"/api/v1/exceptions/{exception_id}",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
