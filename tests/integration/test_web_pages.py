"""The buyers' web pages against a real database: sign-in and its cookie, rate limit and CSRF,
the security headers, the queue (worst first, filters in the URL, keyset pages, a fixed number
of SQL statements per page), the exception page, actions with their audit trail and who may
take them (ids guessed across groups and roles), and the languages."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.accounts import AuditEventRow, LoginAttemptRow
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.web.app import create_app
from gateway.web.security import SESSION_COOKIE, WebSettings
from tests.integration.web_client import (
    SECRET,
    act,
    csrf_of,
    page_selects,
    sign_in,
    web_client,
)
from tests.integration.web_scenario import (
    ADMIN,
    ANNA,
    IT,
    JONAS,
    MARKUS,
    NOW,
    Scenario,
    build,
)


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _state(engine: Engine, exception_id: int) -> str:
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        return row.state


def _ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-id="(\d+)"', html)]


def test_pages_ask_for_sign_in_and_return_to_the_page_asked_for(client: TestClient) -> None:
    answer = client.get("/exceptions?supplier=ALBRECHT")
    assert answer.status_code == 303
    assert parse_qs(urlsplit(answer.headers["location"]).query)["next"] == [
        "/exceptions?supplier=ALBRECHT"]
    form = client.get(answer.headers["location"])
    signed = client.post("/login", data={"email": ANNA, "password": "correct-horse-battery",
                                         "csrf": csrf_of(form.text),
                                         "next": "/exceptions?supplier=ALBRECHT"})
    assert signed.headers["location"] == "/exceptions?supplier=ALBRECHT"


def test_the_session_cookie_is_signed_httponly_lax_and_secure_over_tls(
        scenario: Scenario, settings: Settings) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with web_client(settings, base) as client:
            form = client.get("/login")
            answer = client.post("/login", data={"email": ANNA,
                                                 "password": "correct-horse-battery",
                                                 "csrf": csrf_of(form.text)})
            cookie = next(value for value in answer.headers.get_list("set-cookie")
                          if value.startswith(SESSION_COOKIE + "="))
            attributes = cookie.lower()
            assert "httponly" in attributes
            assert "samesite=lax" in attributes
            assert ("; secure" in attributes) is secure
            # A tampered signature is no session.
            value = cookie.split(";")[0].split("=", 1)[1]
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
            assert client.get("/exceptions").status_code == 303


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/login", "/healthz", "/api/v1/exceptions"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        # Not over plain HTTP unless the site says it is served over HTTPS (below).
        assert "strict-transport-security" not in headers


def test_an_unhandled_error_is_answered_500_with_the_security_headers(settings: Settings) -> None:
    app = create_app(settings, web_settings=WebSettings(SECRET, secure_cookies=True),
                     clock=lambda: NOW)

    def defect() -> None:
        raise RuntimeError("a defect")

    app.add_api_route("/defect", defect)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/defect")
        assert answer.status_code == 500
        assert answer.text == "Internal Server Error"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        for path in ("/defect", "/healthz", "/login"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000"


def test_pages_have_no_inline_script(client: TestClient, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    for path in ("/login", "/exceptions", f"/exceptions/{scenario.exception_owned_by(ANNA)}"):
        assert "<script" not in client.get(path).text


def test_sign_in_is_refused_alike_for_a_wrong_password_an_unknown_user_and_a_disabled_one(
        client: TestClient, engine: Engine) -> None:
    from gateway.services.accounts import disable_user

    with make_session_factory(engine).begin() as session:
        disable_user(session, JONAS, "test", NOW)
    answers = []
    for email, password in ((ANNA, "wrong-password-here"), ("nobody@example.com", "whatever12345"),
                            (JONAS, "correct-horse-battery")):
        form = client.get("/login")
        answers.append(client.post("/login", data={"email": email, "password": password,
                                                   "csrf": csrf_of(form.text)}))
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.text.count("Wrong email or password") for a in answers}) == 1
    assert SESSION_COOKIE not in client.cookies


def test_sign_in_is_rate_limited_per_account(client: TestClient, engine: Engine) -> None:
    for _ in range(5):
        form = client.get("/login")
        client.post("/login", data={"email": ANNA, "password": "not-the-password",
                                    "csrf": csrf_of(form.text)})
    form = client.get("/login")
    answer = client.post("/login", data={"email": ANNA, "password": "correct-horse-battery",
                                         "csrf": csrf_of(form.text)})
    assert answer.status_code == 401
    assert "Too many failed sign-ins" in answer.text
    # Another account from the same address is not locked by these five.
    assert sign_in(client, MARKUS)
    with make_session_factory(engine).begin() as session:
        attempts = session.scalars(select(LoginAttemptRow.succeeded).where(
            LoginAttemptRow.email == ANNA)).all()
    assert attempts.count(False) == 6


def test_sign_in_attempts_sent_at_once_are_limited_as_if_one_after_another(
        client: TestClient, engine: Engine) -> None:
    # A burst of guesses sent together: each must count the others, not only those committed
    # before it read the count (PostgreSQL's read committed shows no uncommitted attempt).
    burst = 12
    token = csrf_of(client.get("/login").text)
    ready = threading.Barrier(burst)

    def guess(number: int) -> str:
        ready.wait()
        answer = client.post("/login", data={"email": ANNA, "password": f"guess-{number:04}-abcd",
                                             "csrf": token})
        assert answer.status_code == 401
        return "limited" if "Too many failed sign-ins" in answer.text else "checked"

    with ThreadPoolExecutor(burst) as pool:
        outcomes = list(pool.map(guess, range(burst)))
    assert outcomes.count("checked") <= 5
    with make_session_factory(engine).begin() as session:
        attempts = session.scalars(select(LoginAttemptRow.succeeded).where(
            LoginAttemptRow.email == ANNA)).all()
    assert attempts.count(False) == burst


def test_sign_in_without_the_form_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"email": ANNA, "password": "correct-horse-battery",
                                         "csrf": "forged"})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_the_queue_is_worst_first_and_pages_by_keyset_with_filters_kept(
        client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.web.pages as pages

    sign_in(client, ANNA)
    with make_session_factory(engine).begin() as session:
        expected = [row.id for row in session.scalars(
            select(ExceptionRow).where(ExceptionRow.state.in_(("open", "acknowledged")))
            .order_by(ExceptionRow.risk.desc(), ExceptionRow.id.desc()))]
    assert len(expected) > 5
    monkeypatch.setattr(pages, "DEFAULT_PAGE_SIZE", 5)
    seen: list[int] = []
    url = "/exceptions?state=open&supplier="
    pages_read = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        pages_read += 1
        seen += _ids(page.text)
        found = re.search(r'href="([^"]+)" id="next-page"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == expected
    assert pages_read == -(-len(expected) // 5)


def test_the_queue_filters_are_kept_in_the_url(client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    page = client.get("/exceptions", params={"supplier": "ALBRECHT", "severity": "high",
                                             "owner": ANNA.upper()})
    with make_session_factory(engine).begin() as session:
        expected = set(session.scalars(select(ExceptionRow.id).where(
            ExceptionRow.supplier_code == "ALBRECHT", ExceptionRow.severity == "high",
            ExceptionRow.owner == ANNA, ExceptionRow.state.in_(("open", "acknowledged")))))
    assert expected
    assert set(_ids(page.text)) == expected
    assert 'value="ALBRECHT" selected' in page.text
    by_order = client.get("/exceptions", params={"order": "4500099001", "code": "QTY_SHORT"})
    rows = _ids(by_order.text)
    assert len(rows) == 1
    assert "60 PCE" in by_order.text
    assert "100 PCE" in by_order.text
    assert _ids(client.get("/exceptions", params={"age": "3"}).text) == []
    assert client.get("/exceptions?cursor=not-a-cursor").status_code == 400


@pytest.mark.parametrize("extra", [0, 120])
def test_a_queue_page_costs_the_same_statements_whatever_its_size(
        client: TestClient, engine: Engine, extra: int) -> None:
    sign_in(client, ANNA)
    if extra:
        with make_session_factory(engine).begin() as session:
            template = session.scalars(select(ExceptionRow)).first()
            assert template is not None
            for number in range(extra):
                session.add(ExceptionRow(
                    key=f"extra|{number}", code="QTY_SHORT", severity="low", risk=1.0 + number,
                    state="open", supplier_code="ALBRECHT", order_number=f"9{number}",
                    expected="1 PCE", actual="0 PCE", rule="r", owner=ANNA, occurrences=1,
                    created_at=NOW, updated_at=NOW))
    selects, page = page_selects(client, "/exceptions?limit=200")
    shown = len(_ids(page))
    assert shown == 50 if extra else 0 < shown < 50
    # session and user (1), the page (1), the suppliers of the filter (1)
    assert selects == 3


def test_the_exception_page_shows_what_why_timeline_and_the_highlighted_segment(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    page = client.get(f"/exceptions/{exception_id}").text
    assert "QTY_SHORT" in page
    assert re.search(r'id="expected">100 PCE', page)
    assert re.search(r'id="actual">60 PCE', page)
    assert re.search(r'id="tolerance">[^<]*v\d', page)  # the profile and its version
    assert 'id="rule">' in page
    highlighted = re.findall(r'<span class="ln hl"><span class="no">\d+</span><mark>([^<]*)',
                             page)
    assert highlighted[0].startswith("LIN+1+3+4099997100110")
    assert any(segment.startswith("QTY+21:60") for segment in highlighted)
    assert not any(segment.startswith(("BGM", "FTX", "UNT")) for segment in highlighted)
    assert re.search(r"<td>requested</td><td class=\"num\">100</td>", page)
    assert re.search(r"<td>confirmation</td><td class=\"num\">60</td>", page)


def test_a_buyer_acknowledges_and_resolves_an_own_exception_into_the_trail(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exception_owned_by(ANNA)
    answer = act(client, exception_id, "acknowledge")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert _state(engine, exception_id) == "acknowledged"
    act(client, exception_id, "comment", comment="called Albrecht, new date coming")
    act(client, exception_id, "resolve")
    assert _state(engine, exception_id) == "resolved"
    with make_session_factory(engine).begin() as session:
        trail = session.execute(select(ExceptionEventRow.actor, ExceptionEventRow.action,
                                       ExceptionEventRow.detail, ExceptionEventRow.at)
                                .where(ExceptionEventRow.exception_id == exception_id)
                                .order_by(ExceptionEventRow.id)).all()
    assert [(actor, action) for actor, action, _d, _a in trail[-3:]] == [
        (ANNA, "acknowledged"), (ANNA, "comment"), (ANNA, "resolved")]
    assert trail[-2][2] == "called Albrecht, new date coming"
    page = client.get(f"/exceptions/{exception_id}").text
    assert 'id="state">resolved' in page
    act(client, exception_id, "reopen")
    assert _state(engine, exception_id) == "open"


def test_a_buyer_acts_on_the_exceptions_of_their_group(client: TestClient, engine: Engine,
                                                       scenario: Scenario) -> None:
    sign_in(client, JONAS)
    exception_id = scenario.exception_owned_by(ANNA)
    act(client, exception_id, "acknowledge")
    assert _state(engine, exception_id) == "acknowledged"


def test_a_buyer_without_a_group_hands_an_exception_to_no_other_buyer(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    # Two buyers in no group share none: neither acts on the other's exceptions, so neither
    # may hand one to the other.
    from gateway.domain.access import Role
    from gateway.services.accounts import create_user

    loner, other = "lena.loner@brenner-antrieb.example", "olaf.other@brenner-antrieb.example"
    exception_id = scenario.exception_owned_by(ANNA)
    with make_session_factory(engine).begin() as session:
        for email in (loner, other):
            create_user(session, email, email.split("@")[0], Role.BUYER, None,
                        "correct-horse-battery", "test", NOW)
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        row.owner = loner
    sign_in(client, loner)
    assert act(client, exception_id, "assign", assignee=other).status_code == 403  # type: ignore[attr-defined]
    with make_session_factory(engine).begin() as session:
        found = session.get(ExceptionRow, exception_id)
        assert found is not None
        assert found.owner == loner


@pytest.mark.parametrize("who", [MARKUS, IT])
def test_guessed_ids_of_another_group_are_read_only(client: TestClient, engine: Engine,
                                                    scenario: Scenario, who: str) -> None:
    csrf = sign_in(client, who)
    exception_id = scenario.exception_owned_by(ANNA)
    page = client.get(f"/exceptions/{exception_id}").text
    assert 'id="read-only"' in page
    assert 'id="do-acknowledge"' not in page
    for action in ("acknowledge", "resolve", "comment", "assign"):
        answer = client.post(f"/exceptions/{exception_id}/actions",
                             data={"action": action, "csrf": csrf, "comment": "x",
                                   "assignee": who})
        assert answer.status_code == 403, action
    assert _state(engine, exception_id) == "open"
    assert client.get("/exceptions/999999").status_code == 404


# Past a 32-bit INTEGER, the type of every row id on PostgreSQL.
BEYOND_ROW_IDS = 2**31


def test_an_exception_id_past_what_the_database_stores_is_not_found(
        client: TestClient) -> None:
    csrf = sign_in(client, ADMIN)
    assert client.get(f"/exceptions/{BEYOND_ROW_IDS}").status_code == 404
    answer = client.post(f"/exceptions/{BEYOND_ROW_IDS}/actions",
                         data={"action": "acknowledge", "csrf": csrf})
    assert answer.status_code == 404


@pytest.mark.parametrize("path", [
    "/exceptions?owner=a%00b", "/exceptions?order=%00", "/exceptions?supplier=%00",
    "/orders/45%0000", "/orders?supplier=%00", "/messages?channel=%00", "/outbox?supplier=%00",
    "/suppliers/ALB%00RECHT"])
def test_a_nul_character_in_a_pages_path_or_query_is_refused(client: TestClient,
                                                             path: str) -> None:
    # PostgreSQL text cannot hold one, and no code, order number or filter value has one.
    sign_in(client, ADMIN)
    answer = client.get(path)
    assert answer.status_code == 400
    assert 'id="problem"' in answer.text


def test_a_nul_character_in_a_form_is_refused_and_changes_nothing(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    form = client.get("/login")
    refused = client.post("/login", data={"email": f"{ANNA}\x00", "password": "x" * 12,
                                          "csrf": csrf_of(form.text)})
    assert refused.status_code == 400
    csrf = sign_in(client, ANNA)
    exception_id = scenario.exception_owned_by(ANNA)
    for fields in ({"action": "comment", "comment": "call \x00 them"},
                   {"action": "assign", "assignee": f"{JONAS}\x00"}):
        answer = client.post(f"/exceptions/{exception_id}/actions",
                             data={"csrf": csrf, **fields})
        assert answer.status_code == 400
    with make_session_factory(engine).begin() as session:
        actions = session.scalars(select(ExceptionEventRow.action).where(
            ExceptionEventRow.exception_id == exception_id)).all()
    assert "comment" not in actions
    assert "assign" not in actions


def test_an_admin_acts_on_any_exception_and_assigns_it(client: TestClient, engine: Engine,
                                                        scenario: Scenario) -> None:
    sign_in(client, ADMIN)
    exception_id = scenario.exception_owned_by(ANNA)
    act(client, exception_id, "assign", assignee=MARKUS)
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        assert row.owner == MARKUS
        detail = session.scalars(select(ExceptionEventRow.detail).where(
            ExceptionEventRow.exception_id == exception_id,
            ExceptionEventRow.action == "assign")).one()
    assert ANNA in detail
    assert MARKUS in detail
    # An admin is no buyer: nobody can be handed to one.
    assert act(client, exception_id, "assign", assignee=IT).status_code == 400  # type: ignore[attr-defined]


def test_a_post_without_the_session_token_changes_nothing(client: TestClient, engine: Engine,
                                                          scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exception_owned_by(ANNA)
    answer = client.post(f"/exceptions/{exception_id}/actions",
                         data={"action": "resolve", "csrf": "guessed"})
    assert answer.status_code == 403
    assert _state(engine, exception_id) == "open"


def test_an_action_on_a_page_loaded_before_a_change_is_refused(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    csrf = sign_in(client, ANNA)
    exception_id = scenario.exception_owned_by(ANNA)
    page = client.get(f"/exceptions/{exception_id}").text
    stale = re.search(r'name="version" value="([^"]+)"', page)
    assert stale is not None
    act(client, exception_id, "acknowledge")
    answer = client.post(f"/exceptions/{exception_id}/actions",
                         data={"action": "resolve", "csrf": csrf, "version": stale.group(1)})
    assert answer.status_code == 412
    assert _state(engine, exception_id) == "acknowledged"
    # A form without the version the page showed is no proof of what was seen: refused too.
    for version in ("", "  "):
        answer = client.post(f"/exceptions/{exception_id}/actions",
                             data={"action": "resolve", "csrf": csrf, "version": version})
        assert answer.status_code == 412
    assert client.post(f"/exceptions/{exception_id}/actions",
                       data={"action": "resolve", "csrf": csrf}).status_code == 412
    assert _state(engine, exception_id) == "acknowledged"


def test_signing_in_and_out_is_audited_and_ends_the_session(client: TestClient,
                                                             engine: Engine) -> None:
    csrf = sign_in(client, ANNA)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/exceptions").status_code == 303
    with make_session_factory(engine).begin() as session:
        actions = session.scalars(select(AuditEventRow.action).where(
            AuditEventRow.actor == ANNA)).all()
    assert "signed_in" in actions


def test_the_language_follows_the_browser_then_the_users_choice(client: TestClient) -> None:
    login = client.get("/login", headers={"Accept-Language": "de-CH, en;q=0.5"})
    assert "Anmelden" in login.text
    assert 'lang="de"' in login.text
    csrf = sign_in(client, ANNA)
    german = client.get("/exceptions", headers={"Accept-Language": "de"}).text
    assert "Ausnahmen, die schwersten zuerst" in german
    assert re.search(r"<td>\d\d\.\d\d\.2026</td>", german)  # dates the German way
    client.post("/language", data={"locale": "zh_Hans", "csrf": csrf, "next": "/exceptions"})
    chinese = client.get("/exceptions", headers={"Accept-Language": "de"}).text
    assert "筛选" in chinese  # the filter button
    assert 'lang="zh-Hans"' in chinese
    assert re.search(r"<td>2026年11月26日</td>", chinese)
    english = client.get("/exceptions", headers={"Accept-Language": "fr"})
    assert "筛选" in english.text  # the stored choice wins over the browser


def test_accepting_the_suppliers_change_makes_it_the_order_in_a_new_line_version(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    from gateway.persistence.models import LineVersionRow, OrderLineRow

    sign_in(client, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    assert 'id="do-accept"' in client.get(f"/exceptions/{exception_id}").text
    assert act(client, exception_id, "accept").status_code == 303
    assert _state(engine, exception_id) == "accepted_change"
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        line = session.get(OrderLineRow, row.order_line_id)
        assert line is not None
        assert (line.quantity, line.state) == (60, "confirmed")
        newest = session.scalars(select(LineVersionRow).where(
            LineVersionRow.order_line_id == line.id).order_by(LineVersionRow.id.desc())).first()
        assert newest is not None
        assert (newest.kind, newest.quantity, newest.source) == (
            "accepted", 60, f"accepted by buyer {ANNA}")
    page = client.get(f"/exceptions/{exception_id}").text
    assert re.search(r"<td>accepted</td><td class=\"num\">60</td>", page)
    unreadable = scenario.exceptions_of(scenario.hostile["script"])[0]
    assert act(client, unreadable, "accept").status_code == 409
