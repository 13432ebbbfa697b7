"""Rejecting the supplier's change from the exception page and the API: the exception moves to
rejected_change with who, when and why in its audit trail, and a reply in the supplier's
language goes through the outbox (threaded under the supplier's email when the change came by
email), naming the line and the value not accepted and what stands, never an internal id; a
buyer of another group cannot reject."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.domain.access import Scope
from gateway.persistence.models import (
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    OutboundMessageRow,
)
from tests.integration.web_client import act, sign_in, web_client
from tests.integration.web_scenario import (
    ALBRECHT,
    ANNA,
    MARKUS,
    NOW,
    SCRIPT_BODY,
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


def _rejections(engine: Engine) -> list[OutboundMessageRow]:
    with make_session_factory(engine).begin() as session:
        rows = list(session.scalars(select(OutboundMessageRow).where(
            OutboundMessageRow.kind == "rejection")))
        session.expunge_all()
        return rows


def _mail(row: OutboundMessageRow) -> EmailMessage:
    parsed = email.message_from_bytes(row.payload, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def test_rejecting_moves_the_exception_and_tells_the_supplier_in_its_language(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    page = client.get(f"/exceptions/{exception_id}").text
    assert 'id="do-reject"' in page
    assert act(client, exception_id, "reject", comment="we need all 100").status_code == 303
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        assert row.state == "rejected_change"
        event = session.scalars(select(ExceptionEventRow).where(
            ExceptionEventRow.exception_id == exception_id)
            .order_by(ExceptionEventRow.id.desc())).first()
        assert event is not None
        assert (event.actor, event.action, event.to_state) == (ANNA, "rejected_change",
                                                               "rejected_change")
        assert event.detail is not None
        assert event.detail.startswith("we need all 100")
        assert "reply to the supplier queued" in event.detail
    [reply] = _rejections(engine)
    assert (reply.state, reply.exception_id, reply.supplier_code) == (
        "pending", exception_id, "ALBRECHT")
    # An EDIFACT change came in no email: the reply goes to the partner's first address,
    # a message of its own.
    assert reply.recipient == ALBRECHT
    message = _mail(reply)
    assert message["In-Reply-To"] is None
    assert message["Content-Language"] == "de"
    assert "4500099001" in message["Subject"]
    text, html = _bodies(message)
    assert "Es gilt unsere Bestellung: Menge 100" in text
    assert "| 4500099001 | 10 |" in text
    assert "60" in text
    assert "100" in html
    # Nothing internal: neither the exception's nor the message's id, nor the rule.
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        rule = row.rule
    for body in (text, html):
        assert f"#{exception_id}" not in body
        assert rule not in body
        assert "we need all 100" not in body
    assert client.get(f"/exceptions/{exception_id}").text.count("change rejected") >= 1


def test_a_change_that_came_by_email_is_rejected_in_a_reply_threaded_under_it(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    email_id = scenario.hostile["script"]
    with make_session_factory(engine).begin() as session:
        # The same change, as if the supplier's email had said it.
        row = session.get(ExceptionRow, exception_id)
        message = session.get(InboundMessage, email_id)
        assert row is not None
        assert message is not None
        row.message_id = email_id
        row.actual = f"60 {SCRIPT_BODY}"
        original = email.message_from_bytes(message.raw, policy=email.policy.default)
    sign_in(client, ANNA)
    assert act(client, exception_id, "reject", comment="no").status_code == 303
    [reply] = _rejections(engine)
    sent = _mail(reply)
    assert sent["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in sent["References"]
    assert sent["Subject"] == "Re: 4500099001"
    text, html = _bodies(sent)
    # The supplier's own words are shown as text, never as markup.
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert SCRIPT_BODY in text


def test_a_buyer_of_another_group_cannot_reject_and_nothing_is_sent(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    sign_in(client, MARKUS)
    page = client.get(f"/exceptions/{exception_id}").text
    assert 'id="do-reject"' not in page
    answer = act(client, exception_id, "reject", comment="not mine")
    assert answer.status_code == 403
    with make_session_factory(engine).begin() as session:
        row = session.get(ExceptionRow, exception_id)
        assert row is not None
        assert row.state == "open"
    assert _rejections(engine) == []


def test_a_rejection_needs_a_reason_and_a_rejectable_change(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    assert act(client, exception_id, "reject", comment="  ").status_code in (400, 422)
    unreadable = scenario.exceptions_of(scenario.hostile["script"])[0]
    assert act(client, unreadable, "reject", comment="why").status_code == 409
    assert _rejections(engine) == []


def test_the_api_rejects_with_the_exceptions_version(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    from gateway.services.accounts import create_api_token

    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    with make_session_factory(engine).begin() as session:
        token = create_api_token(session, "erp", [Scope.EXCEPTIONS_WRITE], "test", NOW).token
    headers = {"Authorization": f"Bearer {token}"}
    version = client.get(f"/api/v1/exceptions/{exception_id}", headers=headers).headers["etag"]
    answer = client.post(f"/api/v1/exceptions/{exception_id}/actions", headers={
        **headers, "If-Match": version}, json={"action": "reject", "comment": "too few"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "rejected_change"
    assert len(_rejections(engine)) == 1
