"""The order page: the order's state and every line's timeline (requested, confirmations,
despatches, exceptions, the buyer's decisions with accepted versions), with links to the raw
messages; reached from the exception page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.config import Settings
from tests.integration.web_client import act, page_selects, sign_in, web_client
from tests.integration.web_scenario import ANNA, MARKUS, Scenario, build


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _kinds(html: str) -> list[str]:
    return re.findall(r'<tr class="entry-([a-z_]+)">', html)


def test_the_order_page_shows_its_state_and_the_lines_timeline_with_decisions(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    detail = client.get(f"/exceptions/{exception_id}").text
    assert 'href="/orders/4500099001" id="order-link"' in detail
    before = client.get("/orders/4500099001")
    assert before.status_code == 200
    # The supplier confirmed 60 of 100: every line answered, one with a change.
    assert 'data-state="confirmed_with_changes"' in before.text
    assert _kinds(before.text)[:3] == ["requested", "confirmation", "exception"]
    message = scenario.hostile["edifact"]
    assert f'href="/messages/{message}" class="message-link"' in before.text
    assert f'href="/exceptions/{exception_id}"' in before.text
    assert act(client, exception_id, "accept").status_code == 303
    after = client.get("/orders/4500099001").text
    kinds = _kinds(after)
    assert "accepted" in kinds
    assert "decision" in kinds
    assert re.search(r'class="entry-decision">.*?accepted_change.*?' + re.escape(ANNA), after,
                     re.S)
    # The accepted quantity is the order's now: the line is confirmed as ordered.
    assert 'data-state="confirmed"' in after


def test_an_order_of_another_group_is_readable_and_an_unknown_one_is_not_found(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, MARKUS)
    assert client.get("/orders/4500099001").status_code == 200
    missing = client.get("/orders/NO-SUCH-ORDER")
    assert missing.status_code == 404
    assert "There is no such order." in missing.text


def test_the_order_page_asks_for_sign_in(client: TestClient) -> None:
    assert client.get("/orders/4500099001").status_code == 303


def _selects(client: TestClient, path: str) -> int:
    return page_selects(client, path)[0]


def test_an_order_page_costs_the_same_statements_whatever_its_number_of_lines(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    # One line, three lines, five lines.
    counts = {path: _selects(client, path) for path in (
        "/orders/4500099001", "/orders/4500012349", "/orders/4500012347")}
    assert len(set(counts.values())) == 1, counts
