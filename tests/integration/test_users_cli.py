"""`gateway users`: create, list, disable, reset-password, and API tokens shown once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cli import cli
from gateway.persistence.accounts import ApiTokenRow, AuditEventRow, UserRow
from gateway.services.accounts import sign_in, token_actor
from tests.integration.web_scenario import NOW


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
           "GATEWAY_VAR_DIR": str(tmp_path)}
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    return env


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_first_admin_and_a_buyer_are_made_listed_and_disabled(
        database: dict[str, str]) -> None:
    _run(database, "users", "create", "root@buyer.example", "--role", "admin",
         "--password-stdin", stdin="a-long-admin-password\n")
    _run(database, "users", "create", "anna@buyer.example", "--group", "north",
         "--name", "Anna", "--password-stdin", stdin="a-long-buyer-password\n")
    listed = _run(database, "users", "list")
    assert "root@buyer.example\tadmin\t-\tactive" in listed
    assert "anna@buyer.example\tbuyer\tnorth\tactive\tAnna" in listed
    _run(database, "users", "disable", "anna@buyer.example")
    assert "anna@buyer.example\tbuyer\tnorth\tdisabled" in _run(database, "users", "list")
    engine = create_engine(database["GATEWAY_DATABASE_URL"])
    with Session(engine) as session:
        stored = session.scalars(select(UserRow.password_hash)).all()
    assert all(value.startswith("$argon2id$") for value in stored)
    transaction = sessionmaker(engine).begin
    assert sign_in(transaction, "anna@buyer.example", "a-long-buyer-password", "t",
                   NOW).user is None
    assert sign_in(transaction, "root@buyer.example", "a-long-admin-password", "t",
                   NOW).user is not None
    with Session(engine) as session:
        actions = session.scalars(select(AuditEventRow.action)).all()
    assert actions[:3] == ["user_created", "user_created", "user_disabled"]


def test_a_short_password_or_a_second_account_is_refused(database: dict[str, str]) -> None:
    short = CliRunner().invoke(cli, ["users", "create", "a@b.example", "--password-stdin"],
                               env=database, input="short\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    _run(database, "users", "create", "a@b.example", "--password-stdin",
         stdin="long-enough-password\n")
    again = CliRunner().invoke(cli, ["users", "create", "A@b.example", "--password-stdin"],
                               env=database, input="long-enough-password\n")
    assert again.exit_code == 1
    assert "exists already" in again.output


def test_reset_password_replaces_the_old_one(database: dict[str, str]) -> None:
    _run(database, "users", "create", "a@b.example", "--password-stdin",
         stdin="first-long-password\n")
    _run(database, "users", "reset-password", "a@b.example", "--password-stdin",
         stdin="second-long-password\n")
    transaction = sessionmaker(create_engine(database["GATEWAY_DATABASE_URL"])).begin
    assert sign_in(transaction, "a@b.example", "first-long-password", "t", NOW).user is None
    assert sign_in(transaction, "a@b.example", "second-long-password", "t",
                   NOW).user is not None
    missing = CliRunner().invoke(cli, ["users", "reset-password", "x@b.example",
                                       "--password-stdin"], env=database, input="x" * 20)
    assert missing.exit_code == 1


def test_a_token_is_shown_once_and_kept_as_a_hash(database: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["users", "token", "create", "erp", "--scope",
                                      "exceptions:read", "--scope", "exceptions:write"],
                                env=database)
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("gw_")
    assert len(token) > 40
    listed = _run(database, "users", "token", "list")
    assert token not in listed
    assert "erp" in listed
    assert "exceptions:read exceptions:write" in listed
    with Session(create_engine(database["GATEWAY_DATABASE_URL"])) as session:
        row = session.scalars(select(ApiTokenRow)).one()
        assert token not in (row.token_sha256, row.prefix)
    _run(database, "users", "token", "revoke", str(row.id))
    assert "revoked" in _run(database, "users", "token", "list")


def test_a_token_can_be_bound_to_suppliers(database: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["users", "token", "create", "portal", "--scope",
                                      "messages:write", "--supplier", "ALBRECHT",
                                      "--supplier", "HUAXIN"], env=database)
    assert result.exit_code == 0, result.output
    assert "messages:write supplier:ALBRECHT supplier:HUAXIN" in _run(
        database, "users", "token", "list")
    with Session(create_engine(database["GATEWAY_DATABASE_URL"])) as session:
        actor = token_actor(session, result.stdout.strip(), NOW)
    assert actor is not None
    assert actor.suppliers == frozenset({"ALBRECHT", "HUAXIN"})
    assert {scope.value for scope in actor.scopes} == {"messages:write"}
