"""/api/v1/suppliers/{code}/profiles (versions; a new one with `suppliers:write` and If-Match)
and /api/v1/suppliers/{code}/scorecard (the supplier page's scorecard as JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.accounts import AuditEventRow
from gateway.services.accounts import create_api_token
from tests.integration.test_web_suppliers_dashboard import NOVEMBER, SCORED, _scored_supplier
from tests.integration.web_client import web_client
from tests.integration.web_scenario import NOW, Scenario, build


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _auth(engine: Engine, *scopes: Scope, name: str = "erp") -> dict[str, str]:
    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, name, list(scopes), "test", NOW).token
    return {"Authorization": f"Bearer {token}"}


def test_profile_versions_are_listed_oldest_first_with_the_newest_as_etag(
        client: TestClient, engine: Engine) -> None:
    answer = client.get("/api/v1/suppliers/ALBRECHT/profiles",
                        headers=_auth(engine, Scope.SUPPLIERS_READ))
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"c-parts.1"'
    body = answer.json()
    assert body["profile"] == "c-parts"
    assert [v["version"] for v in body["versions"]] == [1]
    assert body["versions"][0]["limits"]["qty_under_pct"] == "2"


def test_a_new_version_needs_the_write_scope_and_the_current_etag(
        client: TestClient, engine: Engine) -> None:
    reader = _auth(engine, Scope.SUPPLIERS_READ)
    writer = _auth(engine, Scope.SUPPLIERS_WRITE, name="admin-tool")
    url = "/api/v1/suppliers/ALBRECHT/profiles"
    change = {"price_pct": "3.5", "date_late_error_days": 8}
    assert client.post(url, json=change, headers={**reader, "If-Match": '"c-parts.1"'}
                       ).status_code == 403
    assert client.post(url, json=change, headers=writer).status_code == 428
    assert client.post(url, json=change, headers={**writer, "If-Match": '"c-parts.7"'}
                       ).status_code == 412
    made = client.post(url, json=change, headers={**writer, "If-Match": '"c-parts.1"'})
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == '"c-parts.2"'
    assert made.json()["version"] == 2
    assert made.json()["created"] is True
    assert made.json()["limits"]["price_pct"] == "3.5"
    assert made.json()["limits"]["qty_under_pct"] == "2"  # left out: kept
    again = client.post(url, json=change, headers={**writer, "If-Match": '"c-parts.2"'})
    assert again.status_code == 200
    assert again.json()["created"] is False
    listed = client.get(url, headers=reader)
    assert [v["version"] for v in listed.json()["versions"]] == [1, 2]
    with make_session_factory(engine).begin() as session:
        [event] = session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "profile_version"))
        assert event.actor == "token:admin-tool"


@pytest.mark.parametrize("body", [{"price_pct": -1}, {"price_pct": "NaN"},
                                  {"date_late_error_days": 99999}, {"unknown": 1},
                                  {"qty_over_abs": "1e30"}])
def test_an_impossible_profile_is_refused_as_a_problem(client: TestClient, engine: Engine,
                                                       body: dict[str, object]) -> None:
    writer = _auth(engine, Scope.SUPPLIERS_WRITE)
    answer = client.post("/api/v1/suppliers/ALBRECHT/profiles", json=body,
                         headers={**writer, "If-Match": '"c-parts.1"'})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_unknown_supplier_answers_404(client: TestClient, engine: Engine) -> None:
    writer = _auth(engine, Scope.SUPPLIERS_WRITE)
    assert client.get("/api/v1/suppliers/NOBODY/profiles", headers=writer).status_code == 404
    assert client.post("/api/v1/suppliers/NOBODY/profiles", json={},
                       headers={**writer, "If-Match": '"x.1"'}).status_code == 404
    assert client.get("/api/v1/suppliers/NOBODY/scorecard", headers=writer).status_code == 404


def test_the_scorecard_says_what_the_page_says(client: TestClient, engine: Engine) -> None:
    _scored_supplier(engine)
    answer = client.get(f"/api/v1/suppliers/{SCORED}/scorecard?{NOVEMBER}",
                        headers=_auth(engine, Scope.SUPPLIERS_READ))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"]) == ("2026-11-01", "2026-11-30")
    card = body["card"]
    assert card["lines"] == 4
    assert (card["confirmation_rate"]["part"], card["confirmation_rate"]["whole"]) == ("3", "4")
    assert card["median_hours_to_confirm"] == 10
    assert card["on_time_vs_confirmed"]["value"] == pytest.approx(2 / 3)
    assert card["on_time_vs_requested"]["value"] == pytest.approx(1 / 3)
    assert card["fill_rate"]["value"] == pytest.approx(22 / 25)
    assert card["otif"]["value"] == pytest.approx(1 / 3)
    assert card["asn_accuracy"]["value"] == pytest.approx(1 / 3)
    assert card["exceptions"] == 3
    assert card["exceptions_per_100_lines"] == 75
    assert [m["month"] for m in body["months"]] == ["2026-11"]
    assert body["months"][0]["lines"] == 4


def test_a_scorecard_period_that_makes_no_sense_is_refused(client: TestClient,
                                                          engine: Engine) -> None:
    auth = _auth(engine, Scope.SUPPLIERS_READ)
    for query in ("from=2026-11-30&to=2026-11-01", "from=2020-01-01&to=2026-01-01",
                  "to=0001-01-02", "from=someday"):
        answer = client.get(f"/api/v1/suppliers/ALBRECHT/scorecard?{query}", headers=auth)
        assert answer.status_code == 422, query
    assert client.get("/api/v1/suppliers/ALBRECHT/scorecard",
                      headers=_auth(engine, Scope.ORDERS_READ)).status_code == 403
    empty = client.get("/api/v1/suppliers/ALBRECHT/scorecard", headers=auth).json()
    assert empty["end"] == NOW.date().isoformat()
