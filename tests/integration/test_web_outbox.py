"""The outbox page for IT and admins, and the replies an exception's page lists: a buyer who
rejects a change sees the reply and its state on the exception; IT finds it in the outbox,
filtered and paged; buyers get 403 on the outbox; no payload is ever shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from gateway.config import Settings
from tests.integration.web_client import act, sign_in, web_client
from tests.integration.web_scenario import ADMIN, ALBRECHT, ANNA, IT, MARKUS, Scenario, build


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _reject(client: TestClient, scenario: Scenario) -> int:
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    assert act(client, exception_id, "reject", comment="we need all 100").status_code == 303
    return exception_id


def test_the_reply_to_a_rejection_shows_on_the_exception_and_in_the_outbox(
        client: TestClient, scenario: Scenario, settings: Settings) -> None:
    sign_in(client, ANNA)
    exception_id = _reject(client, scenario)
    page = client.get(f"/exceptions/{exception_id}").text
    replies = re.search(r'<section id="replies">(.*?)</section>', page, re.S)
    assert replies is not None
    assert ALBRECHT in replies.group(1)
    assert 'data-state="pending"' in replies.group(1)
    assert 'href="/outbox' not in replies.group(1)  # a buyer does not read the outbox
    assert client.get("/outbox").status_code == 403
    with web_client(settings) as it:
        sign_in(it, IT)
        outbox = it.get("/outbox?kind=rejection").text
        row = re.search(r'<tr data-id="\d+" data-kind="rejection">(.*?)</tr>', outbox, re.S)
        assert row is not None
        assert f'href="/exceptions/{exception_id}"' in row.group(1)
        assert ALBRECHT in row.group(1)
        assert "we need all 100" not in outbox  # the buyer's reason stays inside
        assert "Es gilt unsere Bestellung" not in outbox  # never the payload
        assert set(re.findall(r'data-kind="([a-z_]+)"', outbox)) == {"rejection"}
        alerts = re.findall(r'data-kind="([a-z_]+)"', it.get("/outbox?kind=alert").text)
        assert alerts
        assert set(alerts) == {"alert"}
        assert it.get("/outbox?cursor=%%%").status_code == 400


@pytest.mark.parametrize("who", [ANNA, MARKUS])
def test_buyers_neither_see_nor_open_the_outbox(client: TestClient, who: str) -> None:
    sign_in(client, who)
    assert 'href="/outbox"' not in client.get("/exceptions").text
    assert client.get("/outbox").status_code == 403


def test_an_outbox_page_costs_the_same_statements_whatever_it_holds(
        client: TestClient, scenario: Scenario, settings: Settings) -> None:
    sign_in(client, ANNA)
    _reject(client, scenario)
    with web_client(settings) as admin:
        sign_in(admin, ADMIN)
        web_engine = admin.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]

        def selects(path: str) -> int:
            statements: list[str] = []

            def count(*args: object) -> None:
                statements.append(str(args[2]))

            event.listen(web_engine, "before_cursor_execute", count)
            try:
                assert admin.get(path).status_code == 200
            finally:
                event.remove(web_engine, "before_cursor_execute", count)
            return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

        # session and user (1), the page (1)
        assert selects("/outbox") == selects("/outbox?kind=digest") == 2
