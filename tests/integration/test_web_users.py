"""The admins' users page against a real database: list, create with a role and a group,
disable and enable, reset a password (each audited with the admin's email, Argon2 hashes, the
user signed out), CSRF on every form, other roles refused (ids guessed), escaped names, and a
fixed number of statements whatever the number of users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Role
from gateway.persistence.accounts import AuditEventRow, UserRow
from gateway.services.accounts import create_user
from tests.integration.web_client import csrf_of, page_selects, sign_in, web_client
from tests.integration.web_scenario import (
    ADMIN,
    ANNA,
    IT,
    JONAS,
    MARKUS,
    NOW,
    PASSWORD,
    Scenario,
    build,
)

NEW = "lena.vogel@brenner-antrieb.example"
NEW_PASSWORD = "another-long-password-1"


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _user(engine: Engine, email: str) -> UserRow | None:
    with make_session_factory(engine).begin() as session:
        row = session.scalars(select(UserRow).where(UserRow.email == email)).first()
        session.expunge_all()
        return row


def _audited(engine: Engine, action: str, subject: str) -> list[str]:
    with make_session_factory(engine).begin() as session:
        return [row.actor for row in session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == action, AuditEventRow.subject == subject))]


def _id(engine: Engine, email: str) -> int:
    found = _user(engine, email)
    assert found is not None
    return found.id


def _new_user(client: TestClient, csrf: str, **changes: str) -> int:
    data = {"csrf": csrf, "email": NEW, "name": "Lena <b>Vogel</b>", "role": "buyer",
            "group": "north", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
            **changes}
    return client.post("/users", data=data).status_code


def test_an_admin_creates_a_buyer_who_then_signs_in(client: TestClient, engine: Engine,
                                                    settings: Settings) -> None:
    csrf = sign_in(client, ADMIN)
    assert _new_user(client, csrf) == 303
    row = _user(engine, NEW)
    assert row is not None
    assert (row.role, row.group_name, row.disabled) == ("buyer", "north", False)
    assert row.password_hash.startswith("$argon2id$")
    assert _audited(engine, "user_created", NEW) == [ADMIN]
    page = client.get("/users?done=created").text
    assert "Lena &lt;b&gt;Vogel&lt;/b&gt;" in page
    assert "<b>Vogel" not in page
    with web_client(settings) as fresh:
        sign_in(fresh, NEW, NEW_PASSWORD)


@pytest.mark.parametrize("changes", [
    {"password_again": "something-else-entirely"}, {"password": "short", "password_again": "short"},
    {"email": "not-an-address"}, {"email": ANNA}, {"role": "superuser"}])
def test_a_user_that_cannot_be_made_is_refused(client: TestClient, engine: Engine,
                                              changes: dict[str, str]) -> None:
    csrf = sign_in(client, ADMIN)
    assert _new_user(client, csrf, **changes) == 422
    assert _audited(engine, "user_created", changes.get("email", NEW)) == (
        ["test"] if changes.get("email") == ANNA else [])


def test_disabling_signs_the_user_out_and_enabling_lets_them_back(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    with web_client(settings) as markus:
        sign_in(markus, MARKUS)
        assert markus.get("/exceptions").status_code == 200
        csrf = sign_in(client, ADMIN)
        target = _id(engine, MARKUS)
        assert client.post(f"/users/{target}/disable", data={"csrf": csrf}).status_code == 303
        assert markus.get("/exceptions").status_code == 303  # signed out
        found = _user(engine, MARKUS)
        assert found is not None
        assert found.disabled
        assert client.post(f"/users/{target}/disable",
                           data={"csrf": csrf, "enable": "1"}).status_code == 303
        sign_in(markus, MARKUS)
    assert _audited(engine, "user_disabled", MARKUS) == [ADMIN]
    assert _audited(engine, "user_enabled", MARKUS) == [ADMIN]


def test_an_admin_cannot_disable_their_own_account(client: TestClient, engine: Engine) -> None:
    csrf = sign_in(client, ADMIN)
    assert client.post(f"/users/{_id(engine, ADMIN)}/disable",
                       data={"csrf": csrf}).status_code == 409
    found = _user(engine, ADMIN)
    assert found is not None
    assert not found.disabled


def test_resetting_a_password_replaces_the_hash_and_ends_sessions(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    before = _user(engine, JONAS)
    assert before is not None
    with web_client(settings) as jonas:
        sign_in(jonas, JONAS)
        csrf = sign_in(client, ADMIN)
        target = _id(engine, JONAS)
        assert client.post(f"/users/{target}/password", data={
            "csrf": csrf, "password": NEW_PASSWORD, "password_again": "different-one-here"}
                           ).status_code == 422
        assert client.post(f"/users/{target}/password", data={
            "csrf": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
                           ).status_code == 303
        assert jonas.get("/exceptions").status_code == 303
        sign_in(jonas, JONAS, NEW_PASSWORD)
    after = _user(engine, JONAS)
    assert after is not None
    assert after.password_hash != before.password_hash
    assert after.password_hash.startswith("$argon2id$")
    assert _audited(engine, "password_reset", JONAS) == [ADMIN]


@pytest.mark.parametrize("who", [ANNA, MARKUS, IT])
def test_other_roles_neither_see_nor_use_the_users_page(client: TestClient, engine: Engine,
                                                        who: str) -> None:
    csrf = sign_in(client, who)
    assert 'href="/users"' not in client.get("/exceptions").text
    assert client.get("/users").status_code == 403
    assert _new_user(client, csrf) == 403
    for email in (ADMIN, ANNA, MARKUS):  # ids guessed, one's own among them
        target = _id(engine, email)
        assert client.post(f"/users/{target}/disable", data={"csrf": csrf}).status_code == 403
        assert client.post(f"/users/{target}/password", data={
            "csrf": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
                           ).status_code == 403
    assert _user(engine, NEW) is None
    with make_session_factory(engine).begin() as session:
        assert not any(session.scalars(select(UserRow.disabled)))
        actions = set(session.scalars(select(AuditEventRow.action)))
    assert actions <= {"user_created", "signed_in"}


def test_every_users_form_needs_the_session_token(client: TestClient, engine: Engine) -> None:
    sign_in(client, ADMIN)
    target = _id(engine, ANNA)
    for csrf in ("", "forged"):
        assert _new_user(client, csrf) == 403
        assert client.post(f"/users/{target}/disable", data={"csrf": csrf}).status_code == 403
        assert client.post(f"/users/{target}/password", data={
            "csrf": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
                           ).status_code == 403
    assert _user(engine, NEW) is None
    anna = _user(engine, ANNA)
    assert anna is not None
    assert not anna.disabled
    csrf = csrf_of(client.get("/users").text)
    # Past a 32-bit INTEGER too (the type of every row id on PostgreSQL).
    for target in (999999, 2**31):
        assert client.post(f"/users/{target}/disable", data={"csrf": csrf}).status_code == 404
        assert client.post(f"/users/{target}/password", data={
            "csrf": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
                           ).status_code == 404


def test_the_users_page_costs_the_same_statements_whatever_the_number_of_users(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ADMIN)
    def selects() -> int:
        return page_selects(client, "/users")[0]

    few = selects()
    with make_session_factory(engine).begin() as session:
        for index in range(12):
            create_user(session, f"buyer{index}@example.com", f"Buyer {index}", Role.BUYER,
                        "east", PASSWORD, "test", NOW)
    # session and user (1), the users (1), the recent account actions (1)
    assert few == selects() == 3
