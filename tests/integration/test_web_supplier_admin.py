"""An admin edits a supplier's partner entry and makes new tolerance profile versions on the
supplier page, against a real database: each change a new version (old exceptions keep the
version they were judged by), audited, checked against the version the page showed, refused
without the form token and for every other role, and hostile text shown escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.accounts import AuditEventRow
from gateway.persistence.models import ExceptionRow, Supplier, ToleranceProfileRow
from tests.integration.web_client import csrf_of, page_selects, sign_in, web_client
from tests.integration.web_scenario import ADMIN, ANNA, IT, MARKUS, Scenario, build

VERSION_FIELD = r'.*?name="version" value="([^"]+)"'
PROFILE_VERSION = re.compile(r'action="/suppliers/ALBRECHT/profile"' + VERSION_FIELD, re.S)
ENTRY_VERSION = re.compile(r'action="/suppliers/ALBRECHT/entry"' + VERSION_FIELD, re.S)
ENTRY = {"name": "Schraubenwerk Albrecht GmbH", "buyer_contact": ANNA, "profile_name": "c-parts",
         "language": "de", "mail_auth": "", "contrl": "", "aperak": ""}


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _versions(engine: Engine, name: str) -> list[ToleranceProfileRow]:
    with make_session_factory(engine).begin() as session:
        rows = list(session.scalars(select(ToleranceProfileRow).where(
            ToleranceProfileRow.name == name).order_by(ToleranceProfileRow.version)))
        session.expunge_all()
        return rows


def _audit(engine: Engine, action: str) -> list[AuditEventRow]:
    with make_session_factory(engine).begin() as session:
        rows = list(session.scalars(select(AuditEventRow).where(AuditEventRow.action == action)))
        session.expunge_all()
        return rows


def _form(client: TestClient, pattern: re.Pattern[str]) -> dict[str, str]:
    page = client.get("/suppliers/ALBRECHT").text
    found = pattern.search(page)
    assert found is not None, "the page has no such form"
    return {"csrf": csrf_of(page), "version": found.group(1)}


def test_an_admin_makes_a_new_profile_version_and_old_exceptions_keep_theirs(
        client: TestClient, engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        judged = sorted(set(session.scalars(select(ExceptionRow.tolerance).where(
            ExceptionRow.supplier_code == "ALBRECHT", ExceptionRow.tolerance.is_not(None)))))
    sign_in(client, ADMIN)
    answer = client.post("/suppliers/ALBRECHT/profile",
                         data={**_form(client, PROFILE_VERSION), "qty_under_pct": "7.5",
                               "date_late_error_days": "9"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/suppliers/ALBRECHT?done=profile"
    versions = _versions(engine, "c-parts")
    assert [v.version for v in versions] == [1, 2]
    assert (versions[0].qty_under_pct, versions[1].qty_under_pct) == (2, Decimal("7.5"))
    assert versions[1].date_late_error_days == 9
    assert versions[1].qty_over_abs == versions[0].qty_over_abs  # left as it was
    page = client.get("/suppliers/ALBRECHT?done=profile").text
    assert 'data-version="2"' in page
    assert 'data-version="1"' in page
    assert 'id="done-profile"' in page
    [event] = _audit(engine, "profile_version")
    assert event.actor == ADMIN
    assert event.subject == "profile c-parts"
    assert "qty_under_pct 2 → 7.5" in (event.detail or "")
    with make_session_factory(engine).begin() as session:
        still = sorted(set(session.scalars(select(ExceptionRow.tolerance).where(
            ExceptionRow.supplier_code == "ALBRECHT", ExceptionRow.tolerance.is_not(None)))))
    assert still == judged
    assert all("v2" not in text for text in still)


def test_the_same_values_make_no_version_and_a_stale_form_changes_nothing(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ADMIN)
    seen = _form(client, PROFILE_VERSION)
    assert client.post("/suppliers/ALBRECHT/profile", data=seen).status_code == 303
    assert [v.version for v in _versions(engine, "c-parts")] == [1]
    assert client.post("/suppliers/ALBRECHT/profile",
                       data={**seen, "price_pct": "3"}).status_code == 303
    stale = client.post("/suppliers/ALBRECHT/profile", data={**seen, "price_pct": "4"})
    assert stale.status_code == 412
    assert [v.price_pct for v in _versions(engine, "c-parts")][-1] == 3
    # A form without the version the page showed proves nothing of what was seen.
    csrf = seen["csrf"]
    assert client.post("/suppliers/ALBRECHT/profile",
                       data={"csrf": csrf, "price_pct": "5"}).status_code == 412
    assert client.post("/suppliers/ALBRECHT/entry",
                       data={"csrf": csrf, **ENTRY, "name": "Unseen"}).status_code == 412
    assert [v.price_pct for v in _versions(engine, "c-parts")][-1] == 3
    with make_session_factory(engine).begin() as session:
        assert session.scalars(select(Supplier.name).where(
            Supplier.code == "ALBRECHT")).one() != "Unseen"


@pytest.mark.parametrize(('field', 'value'), [
    ("qty_under_pct", "-1"), ("qty_under_pct", "NaN"), ("price_pct", "1e9"),
    ("date_late_error_days", "2.5"), ("confirmation_due_hours", "99999999"),
    ("qty_over_abs", "0.0000001"), ("qty_over_abs", "<script>alert(1)</script>")])
def test_an_impossible_limit_is_refused_with_its_field_escaped(
        client: TestClient, engine: Engine, field: str, value: str) -> None:
    sign_in(client, ADMIN)
    answer = client.post("/suppliers/ALBRECHT/profile",
                         data={**_form(client, PROFILE_VERSION), field: value})
    assert answer.status_code == 422
    assert field in answer.text
    assert "<script>alert" not in answer.text
    assert [v.version for v in _versions(engine, "c-parts")] == [1]


def test_an_admin_edits_the_partner_entry_into_the_audit_trail(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ADMIN)
    hostile = "Albrecht <img src=x onerror=alert(1)> GmbH"
    answer = client.post("/suppliers/ALBRECHT/entry", data={
        **_form(client, ENTRY_VERSION), **ENTRY, "name": hostile, "buyer_contact": MARKUS,
        "mail_auth": "required", "reminders": "on"})
    assert answer.status_code == 303, answer.text
    with make_session_factory(engine).begin() as session:
        row = session.scalars(select(Supplier).where(Supplier.code == "ALBRECHT")).one()
        assert (row.name, row.buyer_contact, row.mail_auth, row.reminders) == (
            hostile, MARKUS, "required", True)
    [event] = _audit(engine, "supplier_edited")
    assert event.subject == "supplier ALBRECHT"
    assert event.actor == ADMIN
    assert f"buyer_contact {ANNA} → {MARKUS}" in (event.detail or "")
    page = client.get("/suppliers/ALBRECHT").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    listed = client.get("/suppliers").text
    assert "<img src=x" not in listed


def test_an_unknown_profile_or_a_bad_choice_is_refused(client: TestClient,
                                                      engine: Engine) -> None:
    sign_in(client, ADMIN)
    for change in ({"profile_name": "no-such-profile"}, {"language": "fr"},
                   {"buyer_contact": "not an address"}, {"name": ""}):
        answer = client.post("/suppliers/ALBRECHT/entry",
                             data={**_form(client, ENTRY_VERSION), **ENTRY, **change})
        assert answer.status_code == 422, change
    assert _audit(engine, "supplier_edited") == []


@pytest.mark.parametrize("who", [ANNA, MARKUS, IT])
def test_other_roles_read_only_and_their_posts_change_nothing(
        client: TestClient, engine: Engine, who: str) -> None:
    sign_in(client, ADMIN)
    admin_form = _form(client, PROFILE_VERSION)
    client.cookies.clear()
    csrf = sign_in(client, who)
    page = client.get("/suppliers/ALBRECHT").text
    assert 'action="/suppliers/ALBRECHT/profile"' not in page
    assert 'action="/suppliers/ALBRECHT/entry"' not in page
    for path, data in (("/suppliers/ALBRECHT/profile", {"price_pct": "9"}),
                       ("/suppliers/ALBRECHT/entry", {**ENTRY, "name": "taken over"}),
                       ("/suppliers/NOBODY/profile", {"price_pct": "9"})):
        answer = client.post(path, data={"csrf": csrf, "version": admin_form["version"],
                                         **data})
        assert answer.status_code == 403, (path, answer.text)
    assert [v.version for v in _versions(engine, "c-parts")] == [1]
    assert _audit(engine, "supplier_edited") == []


def test_an_admin_post_without_the_session_token_changes_nothing(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ADMIN)
    seen = _form(client, PROFILE_VERSION)
    for csrf in ("", "forged"):
        answer = client.post("/suppliers/ALBRECHT/profile",
                             data={**seen, "csrf": csrf, "price_pct": "9"})
        assert answer.status_code == 403
        answer = client.post("/suppliers/ALBRECHT/entry",
                             data={**ENTRY, "csrf": csrf, "version": "x", "name": "forged"})
        assert answer.status_code == 403
    assert [v.version for v in _versions(engine, "c-parts")] == [1]
    client.cookies.clear()
    signed_out = client.post("/suppliers/ALBRECHT/profile", data={**seen, "price_pct": "9"})
    assert signed_out.status_code == 303
    assert "/login" in signed_out.headers["location"]


def test_an_unknown_supplier_answers_404(client: TestClient) -> None:
    sign_in(client, ADMIN)
    seen = _form(client, PROFILE_VERSION)
    assert client.post("/suppliers/NOBODY/profile", data=seen).status_code == 404


def test_the_edit_forms_cost_no_statement_more(client: TestClient, settings: Settings) -> None:
    sign_in(client, ANNA)
    read_only, _ = page_selects(client, "/suppliers/ALBRECHT")
    with web_client(settings) as admin:
        sign_in(admin, ADMIN)
        editing, page = page_selects(admin, "/suppliers/ALBRECHT")
    assert 'id="edit-profile"' in page
    assert editing == read_only == 7
