"""/api/v1/orders: cursor pages with filters, one order with its lines' timelines, and the
import as JSON (all or nothing, refused rows named with their field), on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.models import LineVersionRow, OrderLineRow, PurchaseOrder
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


def _orders(engine: Engine, supplier: str | None = None) -> list[str]:
    query = select(PurchaseOrder.number).order_by(PurchaseOrder.id.desc())
    if supplier:
        query = query.where(PurchaseOrder.supplier_code == supplier)
    with make_session_factory(engine).begin() as session:
        return list(session.scalars(query))


def test_orders_page_by_cursor_newest_first_and_filter(client: TestClient,
                                                      engine: Engine) -> None:
    auth = _auth(engine, Scope.ORDERS_READ)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/orders", params=params, headers=auth)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == _orders(engine)
    albrecht = client.get("/api/v1/orders", params={"supplier": "ALBRECHT"}, headers=auth)
    assert [o["number"] for o in albrecht.json()["items"]] == _orders(engine, "ALBRECHT")
    assert {o["supplier"] for o in albrecht.json()["items"]} == {"ALBRECHT"}
    one = client.get("/api/v1/orders", params={"number": "4500012345"}, headers=auth).json()
    assert [o["number"] for o in one["items"]] == ["4500012345"]
    bad = client.get("/api/v1/orders", params={"cursor": "!!"}, headers=auth)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_the_state_filter_keeps_only_orders_in_that_state(client: TestClient,
                                                          engine: Engine) -> None:
    auth = _auth(engine, Scope.ORDERS_READ)
    every = client.get("/api/v1/orders", params={"limit": "200"}, headers=auth).json()["items"]
    states = {order["state"] for order in every}
    assert len(states) > 1, states
    for state in states:
        found = client.get("/api/v1/orders", params={"state": state, "limit": "200"},
                           headers=auth).json()["items"]
        assert [o["number"] for o in found] == [o["number"] for o in every
                                                if o["state"] == state]


def test_one_order_carries_its_lines_and_each_lines_timeline(client: TestClient,
                                                            engine: Engine) -> None:
    auth = _auth(engine, Scope.ORDERS_READ)
    answer = client.get("/api/v1/orders/4500012345", headers=auth)
    assert answer.status_code == 200, answer.text
    order = answer.json()
    assert order["supplier"] == "ALBRECHT"
    with make_session_factory(engine).begin() as session:
        line_count = session.scalar(select(func.count()).select_from(OrderLineRow).join(
            PurchaseOrder).where(PurchaseOrder.number == "4500012345"))
        versions = session.scalar(select(func.count()).select_from(LineVersionRow)
                                  .join(OrderLineRow).join(PurchaseOrder)
                                  .where(PurchaseOrder.number == "4500012345"))
    assert order["lines"] == len(order["order_lines"]) == line_count
    assert sum(len(line["versions"]) for line in order["order_lines"]) == versions
    first = order["order_lines"][0]
    assert first["line_no"] == "10"
    assert first["versions"][0]["kind"] == "requested"
    assert any(v["kind"] == "confirmation" for line in order["order_lines"]
               for v in line["versions"]), "the demo messages confirm ALBRECHT's order"
    missing = client.get("/api/v1/orders/NO-SUCH", headers=auth)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_scopes_gate_reading_and_importing(client: TestClient, engine: Engine) -> None:
    exceptions_only = _auth(engine, Scope.EXCEPTIONS_READ)
    assert client.get("/api/v1/orders", headers=exceptions_only).status_code == 403
    reader = _auth(engine, Scope.ORDERS_READ)
    refused = client.post("/api/v1/orders", headers=reader, json={"lines": [
        {"order_number": "4500077001", "line_no": "10", "quantity": "5"}]})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this token has no orders:write scope"
    writer = _auth(engine, Scope.ORDERS_WRITE)
    assert client.get("/api/v1/orders", headers=writer).status_code == 200
    assert client.get("/api/v1/orders").status_code == 401


def test_an_import_creates_then_updates_with_a_requested_version(client: TestClient,
                                                                 engine: Engine) -> None:
    auth = _auth(engine, Scope.ORDERS_WRITE)
    line = {"order_number": "4500077001", "line_no": 10, "quantity": "5", "unit": "PCE",
            "price": 1.5, "requested_date": "2026-12-20", "supplier_id": "ALBRECHT"}
    made = client.post("/api/v1/orders", headers=auth, json={"lines": [line]})
    assert made.status_code == 200, made.text
    assert made.json() == {"created": 1, "updated": 0, "unchanged": 0, "orders": ["4500077001"]}
    again = client.post("/api/v1/orders", headers=auth, json={"lines": [line]})
    assert again.json()["unchanged"] == 1
    changed = client.post("/api/v1/orders", headers=auth,
                          json={"lines": [{**line, "quantity": 8}]})
    assert changed.json()["updated"] == 1
    order = client.get("/api/v1/orders/4500077001", headers=auth).json()
    assert order["source"] == "api:erp"
    versions = order["order_lines"][0]["versions"]
    assert [(v["kind"], v["quantity"]) for v in versions] == [("requested", "5"),
                                                              ("requested", "8")]


def test_a_refused_row_names_its_field_and_nothing_is_imported(client: TestClient,
                                                              engine: Engine) -> None:
    auth = _auth(engine, Scope.ORDERS_WRITE)
    before = _orders(engine)
    answer = client.post("/api/v1/orders", headers=auth, json={"lines": [
        {"order_number": "4500077002", "line_no": "10", "quantity": "5"},
        {"order_number": "4500077002", "line_no": "20", "quantity": "5,5"},
        {"order_number": "4500077002", "line_no": "30", "quantity": "1",
         "requested_date": "20.12.2026"},
        {"order_number": "4500077003", "line_no": "10", "quantity": "1",
         "supplier_id": "NOBODY"},
    ]})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "quantity"),
                                                       (3, "requested_date")]
    unknown = client.post("/api/v1/orders", headers=auth, json={"lines": [
        {"order_number": "4500077003", "line_no": "10", "quantity": "1",
         "supplier_id": "NOBODY"},
        {"order_number": "4500077004", "line_no": "10", "quantity": "1"}]})
    assert unknown.status_code == 422
    assert [(e["row"], e["field"]) for e in unknown.json()["errors"]] == [(1, "supplier_id")]
    shape = client.post("/api/v1/orders", headers=auth,
                        json={"lines": [{"order_number": "X", "line_no": "1"}]})
    assert shape.status_code == 422
    assert "quantity" in shape.json()["detail"]
    assert _orders(engine) == before
