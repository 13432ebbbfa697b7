"""Bulk actions on the queue page: ticked rows acknowledged, assigned or resolved at once, each
checked for permission and version and audited on its own; one that fails does not stop the
others, and the answer says which failed and why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.models import ExceptionEventRow, ExceptionRow
from gateway.web.bulk_pages import Pick, parse_picks
from tests.integration.web_client import act, csrf_of, sign_in, web_client
from tests.integration.web_scenario import ANNA, JONAS, MARKUS, Scenario, build

PICK = re.compile(r'name="pick" value="(\d+):([0-9a-f]+)"')


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _owned(engine: Engine) -> dict[int, str | None]:
    with make_session_factory(engine).begin() as session:
        rows = session.execute(
            select(ExceptionRow.id, ExceptionRow.owner).where(ExceptionRow.state == "open"))
        return {row_id: owner for row_id, owner in rows}  # noqa: C416


def _states(engine: Engine, ids: list[int]) -> dict[int, str]:
    with make_session_factory(engine).begin() as session:
        rows = session.execute(
            select(ExceptionRow.id, ExceptionRow.state).where(ExceptionRow.id.in_(ids)))
        return {row_id: state for row_id, state in rows}  # noqa: C416


def test_the_picks_are_read_as_id_and_version_without_duplicates_or_garbage() -> None:
    assert parse_picks(["3:abc", "3:def", "x:1", "4", "", "5:"]) == [
        Pick(3, "abc"), Pick(4, None), Pick(5, None)]
    # Digits other than ASCII ones (int() refuses "²"), and ids no row can have (past a
    # 32-bit INTEGER, PostgreSQL's row id) are garbage too.
    assert parse_picks(["²:abc", "١٢:abc", "0:abc", f"{2**31}:abc", "6:abc"]) == [
        Pick(6, "abc")]


def test_ticked_rows_are_acted_on_each_audited_and_the_failures_named(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    owners = _owned(engine)
    north = [i for i, owner in owners.items() if owner in (ANNA, JONAS)][:2]
    south = [i for i, owner in owners.items() if owner == MARKUS][:1]
    assert len(north) == 2, owners
    assert south, owners
    csrf = sign_in(client, ANNA)
    queue = client.get("/exceptions?state=any").text
    assert 'id="bulk"' in queue
    versions = dict(PICK.findall(queue))
    # One of ANNA's was changed by someone else after she loaded the queue.
    stale = north[1]
    other = owners[stale]
    assert act(client, stale, "assign", assignee=JONAS if other == ANNA else ANNA
               ).status_code == 303
    picks = [f"{i}:{versions[str(i)]}" for i in (*north, *south)]
    # A pick without the version the queue showed proves nothing of what was seen.
    answer = client.post("/exceptions/bulk", data={
        "csrf": csrf, "action": "acknowledge", "pick": [f"{stale}"]})
    assert re.search(rf'data-failed="{stale}">.*?class="why">Someone changed it', answer.text,
                     re.S)
    assert _states(engine, [stale]) == {stale: "open"}
    answer = client.post("/exceptions/bulk", data={
        "csrf": csrf, "action": "acknowledge", "pick": picks})
    assert answer.status_code == 200
    page = answer.text
    assert f'data-done="{north[0]}"' in page
    assert re.search(rf'data-failed="{stale}">.*?class="why">Someone changed it', page, re.S)
    assert re.search(rf'data-failed="{south[0]}">.*?class="why">It belongs to another', page,
                     re.S)
    states = _states(engine, [*north, *south])
    assert states == {north[0]: "acknowledged", stale: "open", south[0]: "open"}
    with make_session_factory(engine).begin() as session:
        event = session.scalars(select(ExceptionEventRow).where(
            ExceptionEventRow.exception_id == north[0]).order_by(
            ExceptionEventRow.id.desc())).first()
        assert event is not None
        assert (event.actor, event.action) == (ANNA, "acknowledged")


def test_bulk_assign_and_resolve_and_what_is_refused(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    owners = _owned(engine)
    mine = [i for i, owner in owners.items() if owner == ANNA][:2]
    assert len(mine) == 2
    csrf = sign_in(client, ANNA)
    versions = dict(PICK.findall(client.get("/exceptions").text))
    answer = client.post("/exceptions/bulk", data={
        "csrf": csrf, "action": "assign", "assignee": JONAS,
        "pick": [f"{i}:{versions[str(i)]}" for i in mine]})
    assert answer.status_code == 200
    assert all(f'data-done="{i}"' in answer.text for i in mine)
    assert {owner for i, owner in _owned(engine).items() if i in mine} == {JONAS}
    versions = dict(PICK.findall(client.get("/exceptions").text))
    answer = client.post("/exceptions/bulk", data={
        "csrf": csrf, "action": "resolve", "pick": [f"{mine[0]}:{versions[str(mine[0])]}"]})
    assert _states(engine, mine)[mine[0]] == "resolved"
    # Accepting or rejecting a supplier's change is decided one by one.
    refused = client.post("/exceptions/bulk", data={
        "csrf": csrf, "action": "accept", "pick": [f"{mine[1]}:x"]})
    assert refused.status_code == 400
    forged = client.post("/exceptions/bulk", data={
        "csrf": "forged", "action": "resolve", "pick": [f"{mine[1]}:x"]})
    assert forged.status_code == 403
    nothing = client.post("/exceptions/bulk", data={"csrf": csrf, "action": "resolve"})
    assert nothing.status_code == 400
    assert 'id="nothing"' in nothing.text
    assert _states(engine, mine)[mine[1]] == "open"
    assert csrf_of(nothing.text) == csrf
