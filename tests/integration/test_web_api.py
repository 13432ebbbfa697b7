"""The REST API /api/v1: bearer tokens with scopes (stored hashed), cursor pages over the queue
with filters, one exception with its ETag, actions under If-Match, RFC 9457 problem documents,
and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.accounts import ApiTokenRow
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.services.accounts import create_api_token, revoke_api_token
from gateway.web.app import create_app
from gateway.web.security import WebSettings
from tests.integration.conftest import POSTGRESQL_ONLY
from tests.integration.web_client import SECRET, web_client
from tests.integration.web_scenario import ANNA, NOW, Scenario, build


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _token(engine: Engine, *scopes: Scope, name: str = "erp") -> str:
    with make_session_factory(engine).begin() as session:
        return create_api_token(session, name, list(scopes), "test", NOW).token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(answer: object, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert str(body["type"]).startswith("https://")
    return body


def test_tokens_are_stored_hashed_and_a_missing_or_revoked_one_is_refused(
        scenario: Scenario, settings: Settings, engine: Engine) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    with make_session_factory(engine).begin() as session:
        stored = session.scalars(select(ApiTokenRow)).one()
        assert token not in (stored.token_sha256, stored.prefix)
        assert len(stored.token_sha256) == 64
    now = [NOW]
    with web_client(settings, clock=lambda: now[0]) as client:
        missing = client.get("/api/v1/exceptions")
        _problem(missing, 401)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        _problem(client.get("/api/v1/exceptions", headers=_auth(token + "x")), 401)
        _problem(client.get("/api/v1/exceptions", headers={"Authorization": token}), 401)
        assert client.get("/api/v1/exceptions", headers=_auth(token)).status_code == 200
        with make_session_factory(engine).begin() as session:
            revoke_api_token(session, stored.id, "test", NOW)
        # A valid token is remembered for GATEWAY_API_TOKEN_CACHE_SECONDS (2): a revocation
        # reaches the web process within that time, on every route.
        now[0] = NOW + timedelta(seconds=1)
        assert client.get("/api/v1/exceptions", headers=_auth(token)).status_code == 200
        now[0] = NOW + timedelta(seconds=2)
        _problem(client.get("/api/v1/exceptions", headers=_auth(token)), 401)
        _problem(client.get("/api/v1/exceptions/1", headers=_auth(token)), 401)


def test_without_the_token_cache_a_revoked_token_is_refused_at_once(
        scenario: Scenario, settings: Settings, engine: Engine) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    app = create_app(settings, web_settings=WebSettings(SECRET, token_cache_seconds=0),
                     clock=lambda: NOW)
    with TestClient(app) as client:
        assert client.get("/api/v1/exceptions", headers=_auth(token)).status_code == 200
        with make_session_factory(engine).begin() as session:
            revoke_api_token(session, session.scalars(select(ApiTokenRow.id)).one(), "test",
                             NOW)
        _problem(client.get("/api/v1/exceptions", headers=_auth(token)), 401)
        _problem(client.get("/api/v1/exceptions/1", headers=_auth(token)), 401)


def test_the_list_pages_by_cursor_worst_first_with_filters(client: TestClient,
                                                           engine: Engine) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    with make_session_factory(engine).begin() as session:
        expected = [row.id for row in session.scalars(
            select(ExceptionRow).where(ExceptionRow.state.in_(("open", "acknowledged")))
            .order_by(ExceptionRow.risk.desc(), ExceptionRow.id.desc()))]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/exceptions", params=params, headers=_auth(token)).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    albrecht = client.get("/api/v1/exceptions", params={"supplier": "ALBRECHT",
                                                        "owner": ANNA, "state": "any"},
                          headers=_auth(token)).json()["items"]
    assert albrecht
    assert {(item["supplier"], item["owner"]) for item in albrecht} == {("ALBRECHT", ANNA)}
    _problem(client.get("/api/v1/exceptions", params={"cursor": "%%%"}, headers=_auth(token)),
             400)
    _problem(client.get("/api/v1/exceptions", params={"limit": "0"}, headers=_auth(token)),
             422)


def test_an_action_needs_the_current_version_in_if_match(client: TestClient, engine: Engine,
                                                         scenario: Scenario) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ, Scope.EXCEPTIONS_WRITE)
    exception_id = scenario.exception_owned_by(ANNA)
    url = f"/api/v1/exceptions/{exception_id}"
    first = client.get(url, headers=_auth(token))
    etag = first.headers["etag"]
    assert etag == f'"{first.json()["version"]}"'
    assert first.json()["trail"][0]["action"] == "raised"
    line = first.json()["line"]
    assert line["versions"][0]["kind"] == "requested"
    assert line["state"]
    _problem(client.post(url + "/actions", json={"action": "acknowledge"},
                         headers=_auth(token)), 428)
    done = client.post(url + "/actions", json={"action": "acknowledge", "comment": "on it"},
                       headers={**_auth(token), "If-Match": etag})
    assert done.status_code == 200
    assert done.json()["state"] == "acknowledged"
    assert done.headers["etag"] != etag
    _problem(client.post(url + "/actions", json={"action": "resolve"},
                         headers={**_auth(token), "If-Match": etag}), 412)
    _problem(client.post(url + "/actions", json={"action": "acknowledge"},
                         headers={**_auth(token), "If-Match": done.headers["etag"]}), 409)
    with make_session_factory(engine).begin() as session:
        last = session.scalars(select(ExceptionEventRow).where(
            ExceptionEventRow.exception_id == exception_id)
            .order_by(ExceptionEventRow.id.desc())).first()
        assert last is not None
        assert (last.actor, last.action, last.detail) == ("token:erp", "acknowledged", "on it")


def test_the_lists_items_follow_an_action_on_a_remembered_token(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    """The list remembers the items it wrote (`queue_items.ItemMemo`); after an action, the
    next page shows the exception as it now is, with the version its ETag now has."""
    token = _token(engine, Scope.EXCEPTIONS_READ, Scope.EXCEPTIONS_WRITE)
    exception_id = scenario.exception_owned_by(ANNA)

    def listed() -> dict[str, Any]:
        items = client.get("/api/v1/exceptions?state=any&limit=200",
                           headers=_auth(token)).json()["items"]
        return dict(next(item for item in items if item["id"] == exception_id))

    url = f"/api/v1/exceptions/{exception_id}"
    before = listed()
    assert listed() == before
    assert client.get(url, headers=_auth(token)).headers["etag"] == f'"{before["version"]}"'
    done = client.post(url + "/actions", json={"action": "acknowledge"},
                       headers={**_auth(token), "If-Match": f'"{before["version"]}"'})
    assert done.status_code == 200
    after = listed()
    assert (after["state"], before["state"]) == ("acknowledged", "open")
    assert after["version"] != before["version"]
    assert done.headers["etag"] == f'"{after["version"]}"'


def test_a_read_only_token_cannot_act_and_unknown_ids_are_problems(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    exception_id = scenario.exception_owned_by(ANNA)
    etag = client.get(f"/api/v1/exceptions/{exception_id}", headers=_auth(token)).headers["etag"]
    _problem(client.post(f"/api/v1/exceptions/{exception_id}/actions",
                         json={"action": "resolve"}, headers={**_auth(token), "If-Match": etag}),
             403)
    _problem(client.get("/api/v1/exceptions/999999", headers=_auth(token)), 404)
    _problem(client.post(f"/api/v1/exceptions/{exception_id}/actions",
                         json={"action": "explode"}, headers={**_auth(token), "If-Match": etag}),
             422)


def test_a_nul_character_in_an_actions_text_is_refused_and_changes_nothing(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    # PostgreSQL text cannot hold one: refused as malformed before the database is asked.
    token = _token(engine, Scope.EXCEPTIONS_READ, Scope.EXCEPTIONS_WRITE)
    exception_id = scenario.exception_owned_by(ANNA)
    url = f"/api/v1/exceptions/{exception_id}"
    etag = client.get(url, headers=_auth(token)).headers["etag"]
    for body in ({"action": "comment", "comment": "call \x00 them"},
                 {"action": "assign", "owner": f"{ANNA}\x00"}):
        _problem(client.post(url + "/actions", json=body,
                             headers={**_auth(token), "If-Match": etag}), 422)
    assert client.get(url, headers=_auth(token)).headers["etag"] == etag


def test_the_openapi_document_describes_the_api(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert set(document["paths"]) == {"/api/v1/exceptions", "/api/v1/exceptions/{exception_id}",
                                      "/api/v1/exceptions/{exception_id}/actions",
                                      "/api/v1/orders", "/api/v1/orders/{number}",
                                      "/api/v1/messages", "/api/v1/messages/{message_id}",
                                      "/api/v1/suppliers", "/api/v1/suppliers/{code}",
                                      "/api/v1/suppliers/{code}/profiles",
                                      "/api/v1/suppliers/{code}/scorecard",
                                      "/api/v1/outbox"}
    responses = document["paths"]["/api/v1/exceptions/{exception_id}/actions"]["post"][
        "responses"]
    assert {"200", "412", "428"} <= set(responses)


def test_an_accepted_change_shows_in_the_lines_timeline(client: TestClient, engine: Engine,
                                                        scenario: Scenario) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ, Scope.EXCEPTIONS_WRITE)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    url = f"/api/v1/exceptions/{exception_id}"
    etag = client.get(url, headers=_auth(token)).headers["etag"]
    done = client.post(url + "/actions", json={"action": "accept"},
                       headers={**_auth(token), "If-Match": etag})
    assert done.json()["state"] == "accepted_change"
    line = client.get(url, headers=_auth(token)).json()["line"]
    assert line["quantity"] == "60"
    assert [v["kind"] for v in line["versions"]][-2:] == ["confirmation", "accepted"]
    assert line["versions"][-1]["source"] == "accepted by buyer token:erp"


def _statements(client: TestClient, path: str, token: str,
                transactions: list[str] | None = None) -> list[str]:
    """The statements one request runs; `transactions` gets a "checkout" for each pooled
    connection it takes, a "commit" for each transaction it commits and an "autocommit" for
    each statement sent outside a transaction."""
    seen: list[str] = []
    web_engine = client.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]
    # the engine whose connections are in autocommit (`WebContext.read_alone`)
    alone = client.app.state.web.autocommit  # type: ignore[attr-defined]

    def record(*args: object) -> None:
        seen.append(str(args[2]).lstrip().split()[0].upper())

    def record_alone(*args: object) -> None:
        record(*args)
        (transactions if transactions is not None else []).append("autocommit")

    def checkout(*_args: object) -> None:
        (transactions if transactions is not None else []).append("checkout")

    class RecordingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            record(None, None, query)
            (transactions if transactions is not None else []).append("autocommit")
            return super().execute(query, *args, **kwargs)

    def checkout_alone(dbapi_connection: object, *_args: object) -> None:
        checkout()
        # Through psycopg the page is sent straight to the driver (`WebContext.read_alone`),
        # past SQLAlchemy's events: the connection's cursors record it instead.
        if isinstance(dbapi_connection, psycopg.Connection):
            dbapi_connection.cursor_factory = RecordingCursor

    def checkin_alone(dbapi_connection: object, *_args: object) -> None:
        if isinstance(dbapi_connection, psycopg.Connection):
            dbapi_connection.cursor_factory = psycopg.Cursor

    def commit(*_args: object) -> None:
        (transactions if transactions is not None else []).append("commit")

    listeners = [(web_engine, "before_cursor_execute", record),
                 (alone, "before_cursor_execute", record_alone),
                 (web_engine.pool, "checkout", checkout), (web_engine, "commit", commit),
                 (alone, "commit", commit)]
    if alone.pool is not web_engine.pool:
        listeners += [(alone.pool, "checkout", checkout_alone),
                      (alone.pool, "checkin", checkin_alone)]
    for listened in listeners:
        event.listen(*listened)
    try:
        assert client.get(path, headers=_auth(token)).status_code == 200
    finally:
        for listened in listeners:
            event.remove(*listened)
    return [verb for verb in seen if verb != "BEGIN"]  # SQLite's explicit BEGIN


def test_a_list_page_costs_the_same_statements_whatever_its_size_and_writes_nothing(
        client: TestClient, engine: Engine) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    transactions: list[str] = []
    first = _statements(client, "/api/v1/exceptions?limit=1", token, transactions)
    # the token looked up, the page read, the first use recorded: one connection, one
    # transaction
    assert sorted(first) == ["SELECT", "SELECT", "UPDATE"]
    assert transactions == ["checkout", "commit"]
    transactions.clear()
    one = _statements(client, "/api/v1/exceptions?limit=1", token, transactions)
    many = _statements(client, "/api/v1/exceptions?limit=200", token, transactions)
    # the token is remembered (gateway.web.api_tokens): the page is the only statement, sent
    # alone outside a transaction (no BEGIN and COMMIT round trips)
    assert one == many == ["SELECT"]
    assert transactions == ["checkout", "autocommit"] * 2


@POSTGRESQL_ONLY
def test_a_list_page_reads_again_after_its_pooled_connection_died(
        client: TestClient, engine: Engine) -> None:
    """No ping before each checkout: a connection the server dropped fails its first
    statement, the pool is invalidated and the read runs once more on a new connection.
    (SQLite has no server to drop a connection.)"""
    token = _token(engine, Scope.EXCEPTIONS_READ)
    assert client.get("/api/v1/exceptions", headers=_auth(token)).status_code == 200
    with engine.connect() as admin:
        dropped = admin.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    assert dropped
    answer = client.get("/api/v1/exceptions", headers=_auth(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"]


def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(
        scenario: Scenario, settings: Settings, engine: Engine) -> None:
    token = _token(engine, Scope.EXCEPTIONS_READ)
    now = [NOW]
    recorded: list[datetime | None] = []
    with web_client(settings, clock=lambda: now[0]) as client:
        for moment in (NOW, NOW + timedelta(seconds=59), NOW + timedelta(seconds=61)):
            now[0] = moment
            assert client.get("/api/v1/exceptions", headers=_auth(token)).status_code == 200
            with make_session_factory(engine).begin() as session:
                recorded.append(session.scalars(select(ApiTokenRow.last_used_at)).one())
    assert [moment and moment.timestamp() for moment in recorded] == [
        NOW.timestamp(), NOW.timestamp(), (NOW + timedelta(seconds=61)).timestamp()]


def test_a_remembered_tokens_page_sent_alone_answers_as_in_a_transaction(
        client: TestClient, engine: Engine) -> None:
    """A token's first use reads the page through SQLAlchemy in the token's transaction; while
    it is remembered, the page's text is made once per combination of filters and sent alone
    (straight to psycopg on PostgreSQL). Both answer the same items, versions and cursors."""
    first_page = client.get("/api/v1/exceptions?limit=2",
                            headers=_auth(_token(engine, Scope.EXCEPTIONS_READ))).json()
    assert first_page["next_cursor"]
    queries = ["", "?limit=2", "?state=any&supplier=ALBRECHT", "?limit=1&owner=" + ANNA.upper(),
               "?state=any&age=1", "?state=closed", "?limit=1&cursor=" + first_page["next_cursor"]]
    for number, query in enumerate(queries):
        token = _token(engine, Scope.EXCEPTIONS_READ, name=f"erp{number}")
        in_transaction = client.get("/api/v1/exceptions" + query, headers=_auth(token))
        alone = client.get("/api/v1/exceptions" + query, headers=_auth(token))
        assert in_transaction.status_code == alone.status_code == 200, query
        assert alone.content == in_transaction.content, query
    bodies = [client.get("/api/v1/exceptions" + query, headers=_auth(token)).json()
              for query in ("?state=any", "?state=any&limit=1")]
    assert bodies[0]["items"]
    assert bodies[0]["items"][0] == bodies[1]["items"][0]


def test_the_queue_front_door_answers_as_the_route_does(client: TestClient,
                                                        engine: Engine) -> None:
    """A plainly valid list request is answered before FastAPI's routing
    (`api_queue.QueueFrontDoor`); a parameter the list does not know sends the same request
    to the route. Both answer alike, security headers included."""
    token = _token(engine, Scope.EXCEPTIONS_READ)
    for query in ("", "?limit=4", "?state=any&supplier=ALBRECHT", "?limit=3&owner=" + ANNA):
        front = client.get("/api/v1/exceptions" + query, headers=_auth(token))
        separator = "&" if query else "?"
        route = client.get(f"/api/v1/exceptions{query}{separator}unknown=1",
                           headers=_auth(token))
        assert front.status_code == route.status_code == 200
        assert front.json() == route.json()
        assert front.json()["items"]
        for name in ("content-type", "content-security-policy", "x-frame-options",
                     "x-content-type-options", "referrer-policy"):
            assert front.headers[name] == route.headers[name], name
    cursor = client.get("/api/v1/exceptions?limit=2", headers=_auth(token)).json()["next_cursor"]
    assert client.get(f"/api/v1/exceptions?limit=2&cursor={cursor}", headers=_auth(token)
                      ).json() == client.get(f"/api/v1/exceptions?limit=2&cursor={cursor}&x=",
                                             headers=_auth(token)).json()
    _problem(client.get("/api/v1/exceptions?cursor=AAAA", headers=_auth(token)), 400)
    _problem(client.get("/api/v1/exceptions?limit=500", headers=_auth(token)), 422)
    _problem(client.get("/api/v1/exceptions?supplier=A%00B", headers=_auth(token)), 422)
