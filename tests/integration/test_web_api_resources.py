"""/api/v1/suppliers and /api/v1/outbox: partner entries with their identities and tolerance
profile versions; the outbox paged by cursor with its filters, never its payloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.models import OutboundMessageRow, Supplier
from gateway.services.accounts import create_api_token
from tests.integration.web_client import web_client
from tests.integration.web_scenario import NOW, Scenario, build


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _auth(engine: Engine, *scopes: Scope) -> dict[str, str]:
    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, "erp", list(scopes), "test", NOW).token
    return {"Authorization": f"Bearer {token}"}


def test_suppliers_list_and_one_with_its_profile_versions(client: TestClient,
                                                         engine: Engine) -> None:
    auth = _auth(engine, Scope.SUPPLIERS_READ)
    listed = client.get("/api/v1/suppliers", headers=auth)
    assert listed.status_code == 200, listed.text
    with make_session_factory(engine).begin() as session:
        codes = sorted(session.scalars(select(Supplier.code)))
    assert [s["code"] for s in listed.json()["items"]] == codes
    albrecht = client.get("/api/v1/suppliers/ALBRECHT", headers=auth).json()
    assert albrecht["profile"] == "c-parts"
    assert [v["name"] for v in albrecht["profile_versions"]] == ["c-parts"]
    assert albrecht["profile_versions"][0]["version"] == 1
    assert set(albrecht["profile_versions"][0]["limits"]) >= {"qty_under_pct", "price_pct"}
    assert {i["kind"] for i in albrecht["identities"]}
    devries = client.get("/api/v1/suppliers/DEVRIES", headers=auth).json()
    assert devries["profile"] is None
    assert [v["name"] for v in devries["profile_versions"]] == ["default"]
    assert client.get("/api/v1/suppliers/NOBODY", headers=auth).status_code == 404
    assert client.get("/api/v1/suppliers",
                      headers=_auth(engine, Scope.ORDERS_READ)).status_code == 403


def test_the_outbox_pages_by_cursor_with_filters_and_without_payloads(
        client: TestClient, engine: Engine) -> None:
    auth = _auth(engine, Scope.OUTBOX_READ)
    with make_session_factory(engine).begin() as session:
        rows = [(row.id, row.kind, row.state) for row in session.scalars(
            select(OutboundMessageRow).order_by(OutboundMessageRow.id.desc()))]
    assert rows, "the scenario's messages leave acknowledgements or replies"
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/outbox", params=params, headers=auth).json()
        seen += [item["id"] for item in body["items"]]
        assert all("payload" not in item for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [row_id for row_id, _, _ in rows]
    kind = rows[0][1]
    found = client.get("/api/v1/outbox", params={"kind": kind}, headers=auth).json()["items"]
    assert [item["id"] for item in found] == [i for i, k, _ in rows if k == kind]
    state = rows[0][2]
    found = client.get("/api/v1/outbox", params={"state": state}, headers=auth).json()["items"]
    assert [item["id"] for item in found] == [i for i, _, s in rows if s == state]
    assert client.get("/api/v1/outbox", params={"kind": "carrier-pigeon"},
                      headers=auth).status_code == 422
    assert client.get("/api/v1/outbox",
                      headers=_auth(engine, Scope.SUPPLIERS_READ)).status_code == 403


def test_a_nul_character_in_a_filter_or_path_is_refused_as_malformed(
        client: TestClient, engine: Engine) -> None:
    auth = _auth(engine, Scope.OUTBOX_READ, Scope.EXCEPTIONS_READ, Scope.ORDERS_READ)
    for path in ("/api/v1/outbox?supplier=A%00", "/api/v1/exceptions?severity=%00",
                 "/api/v1/orders/45%00"):
        answer = client.get(path, headers=auth)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_cursor_naming_an_id_beyond_the_database_is_refused(client: TestClient,
                                                              engine: Engine) -> None:
    auth = _auth(engine, Scope.OUTBOX_READ, Scope.EXCEPTIONS_READ, Scope.ORDERS_READ)
    for path in ("/api/v1/orders", "/api/v1/outbox", "/api/v1/exceptions"):
        answer = client.get(path, params={"cursor": "00000000000::"}, headers=auth)
        assert answer.status_code == 400, (path, answer.text)
