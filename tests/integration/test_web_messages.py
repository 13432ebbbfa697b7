"""The message page: the raw bytes shown safely (EDIFACT one segment per line; an email's
headers, body and attachments with sizes, never as HTML; a hostile file name shown escaped),
the documents, problems and history; IT's release, retry and re-process with CSRF and audit;
buyers read only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.accounts import AuditEventRow
from gateway.persistence.models import InboundMessage
from gateway.services.ingest import Intake, archive, process
from tests.integration.conftest import edifact_interchange
from tests.integration.web_client import csrf_of, sign_in, web_client
from tests.integration.web_scenario import (
    ALBRECHT,
    ANNA,
    EDI_MARKUP,
    IT,
    NOW,
    PATH_FILENAME,
    SCRIPT_BODY,
    TODAY,
    Scenario,
    build,
)

HOSTILE_ATTACHMENT = "../../<img src=x onerror=alert(1)>.xlsx"


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _no_markup_from_supplier(page: str) -> None:
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", page)


def _take_in(engine: Engine, raw: bytes, sender: str, filename: str) -> int:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        archived = archive(session, Intake(raw, "cli", sender, filename), NOW)
    with factory.begin() as session:
        process(session, archived.message_id, TODAY, NOW)
    return archived.message_id


def _state(engine: Engine, message_id: int) -> str:
    with make_session_factory(engine).begin() as session:
        row = session.get(InboundMessage, message_id)
        assert row is not None
        return row.state


def test_an_edifact_message_is_shown_one_segment_per_line_and_escaped(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, ANNA)
    page = client.get(f"/messages/{scenario.hostile['edifact']}")
    assert page.status_code == 200
    _no_markup_from_supplier(page.text)
    excerpt = page.text.split('id="excerpt">', 1)[1].split("</pre>", 1)[0]
    segments = re.findall(r'<span class="no">\d+</span>([A-Z]{3})', excerpt)
    assert segments[:4] == ["UNA", "UNB", "UNH", "BGM"]
    assert "&lt;script&gt;" in excerpt
    # The file name with path parts and markup, as text.
    assert '<dd id="filename">../../etc/&lt;b&gt;cron.d&lt;/b&gt;/ordrsp.edi</dd>' in page.text
    assert PATH_FILENAME not in page.text
    assert EDI_MARKUP not in page.text
    # The documents, and the exceptions with their order.
    assert 'href="/orders/4500099001"' in page.text


def test_an_email_shows_headers_body_and_attachments_with_sizes_never_as_html(
        client: TestClient, scenario: Scenario, engine: Engine) -> None:
    boundary = "b0undary"
    raw = (f"From: Albrecht <{ALBRECHT}>\r\nTo: buyer@brenner-antrieb.example\r\n"
           f"Subject: <b>AW</b>: 4500099001\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
           f"Message-ID: <att-1@albrecht.example>\r\nMIME-Version: 1.0\r\n"
           f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
           f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           f"<p>{SCRIPT_BODY} see attached</p>\r\n"
           f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
           f'Content-Disposition: attachment; filename="{HOSTILE_ATTACHMENT}"\r\n'
           f"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n"
           f"--{boundary}--\r\n").encode()
    message_id = _take_in(engine, raw, ALBRECHT, "mail.eml")
    sign_in(client, ANNA)
    page = client.get(f"/messages/{message_id}").text
    _no_markup_from_supplier(page)
    assert "&lt;b&gt;AW&lt;/b&gt;: 4500099001" in page
    name = re.search(r'<td class="attachment-name">([^<]*)</td>', page)
    assert name is not None
    # The reader keeps no path part nor markup of an attachment's name (parsers.mime).
    assert name.group(1) == "_img src=x onerror=alert(1)_.xlsx"
    assert re.search(r"<td class=\"num\">10 bytes</td>", page)


def test_it_releases_a_quarantined_message_and_retries_a_failed_one_with_audit(
        client: TestClient, scenario: Scenario, engine: Engine) -> None:
    unknown = edifact_interchange("ORDRSP+'BGM+231+Q-1+4'RFF+ON:4500099001'", "Q1",
                                  "4000000000000")
    quarantined = _take_in(engine, unknown, "someone@unknown.example", "q.edi")
    assert _state(engine, quarantined) == "quarantined"
    failed = scenario.hostile["edifact"]
    with make_session_factory(engine).begin() as session:
        row = session.get(InboundMessage, failed)
        assert row is not None
        row.state, row.state_reason = "failed", "database unavailable (simulated)"
    csrf = sign_in(client, IT)
    page = client.get(f"/messages/{quarantined}").text
    assert 'id="do-release"' in page
    assert 'id="do-retry"' not in page
    forged = client.post(f"/messages/{quarantined}/actions",
                         data={"action": "release", "csrf": "forged"})
    assert forged.status_code == 403
    released = client.post(f"/messages/{quarantined}/actions",
                           data={"action": "release", "csrf": csrf})
    assert released.status_code == 303
    # Its cause is not fixed: it is quarantined again, and the release is on record.
    assert _state(engine, quarantined) == "quarantined"
    wrong = client.post(f"/messages/{failed}/actions", data={"action": "release",
                                                             "csrf": csrf})
    assert wrong.status_code == 409
    retried = client.post(f"/messages/{failed}/actions", data={"action": "retry",
                                                               "csrf": csrf})
    assert retried.status_code == 303
    assert _state(engine, failed) not in ("failed", "received")
    again = client.post(f"/messages/{failed}/actions", data={"action": "reprocess",
                                                             "csrf": csrf})
    assert again.status_code == 303
    with make_session_factory(engine).begin() as session:
        trail = [(e.actor, e.action, e.subject) for e in session.scalars(
            select(AuditEventRow).where(AuditEventRow.action.like("message_%"))
            .order_by(AuditEventRow.id))]
    assert trail == [(IT, "message_release", f"message #{quarantined}"),
                     (IT, "message_retry", f"message #{failed}"),
                     (IT, "message_reprocess", f"message #{failed}")]
    history = client.get(f"/messages/{failed}").text
    assert history.count('<tr class="audit">') == 2


def test_a_buyer_reads_but_cannot_act(client: TestClient, scenario: Scenario,
                                      engine: Engine) -> None:
    message_id = scenario.hostile["edifact"]
    csrf = sign_in(client, ANNA)
    page = client.get(f"/messages/{message_id}").text
    assert 'id="read-only"' in page
    assert 'id="do-reprocess"' not in page
    answer = client.post(f"/messages/{message_id}/actions",
                         data={"action": "reprocess", "csrf": csrf})
    assert answer.status_code == 403
    assert csrf_of(answer.text) == csrf
    assert client.get("/messages/999999").status_code == 404


def test_a_message_id_past_what_the_database_stores_is_not_found(client: TestClient) -> None:
    csrf = sign_in(client, IT)
    beyond = 2**31  # past a 32-bit INTEGER, the type of every row id on PostgreSQL
    assert client.get(f"/messages/{beyond}").status_code == 404
    answer = client.post(f"/messages/{beyond}/actions", data={"action": "retry", "csrf": csrf})
    assert answer.status_code == 404
