"""The supplier pages (list, entry, profile versions, scorecard with its monthly SVG chart) and
the dashboard, against a real database: what they show, in the user's language, escaped, and
in a fixed number of SQL statements whatever the data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.models import (
    ConnectorStatusRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    OutboundAttemptRow,
    OutboundMessageRow,
    PurchaseOrder,
    Supplier,
    WorkerHeartbeatRow,
)
from tests.integration.web_client import page_selects, sign_in, web_client
from tests.integration.web_scenario import ANNA, NOW, Scenario, build

SCORED = "SCORED"
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def _line(session: Session, order: PurchaseOrder, number: int, quantity: int, requested: int,
          versions: list[tuple[str, datetime, int, int]], exceptions: int = 0) -> None:
    line = OrderLineRow(order_id=order.id, line_no=str(number), quantity=Decimal(quantity),
                        requested_date=date(2026, 11, requested), state="open",
                        despatched_quantity=Decimal(0))
    session.add(line)
    session.flush()
    session.add(LineVersionRow(order_line_id=line.id, kind="requested",
                               quantity=Decimal(quantity), source="test", created_at=_at(2)))
    for kind, at, qty, day in versions:
        session.add(LineVersionRow(order_line_id=line.id, kind=kind, quantity=Decimal(qty),
                                   delivery_date=date(2026, 11, day), source="test",
                                   created_at=at))
    for index in range(exceptions):
        session.add(ExceptionRow(
            key=f"scored|{number}|{index}", code="DATE_LATE", severity="medium", risk=1.0,
            state="open", supplier_code=SCORED, order_number=order.number,
            line_no=str(number), order_line_id=line.id, rule="r", occurrences=1,
            created_at=NOW, updated_at=NOW))


def _scored_supplier(engine: Engine) -> None:
    """The four lines of tests/unit/test_scorecard.py, stored: confirmation rate 3 of 4,
    median 10 hours, on time 2 of 3 (first confirmed date) and 1 of 3 (requested date), fill
    22 of 25, OTIF 1 of 3, ASN accuracy 1 of 3, 3 exceptions on 4 lines."""
    with make_session_factory(engine).begin() as session:
        session.add(Supplier(code=SCORED, name="Scored <b>GmbH</b>", reminders=False))
        order = PurchaseOrder(number="4599000001", supplier_code=SCORED, source="test",
                              updated_at=NOW)
        session.add(order)
        session.flush()
        _line(session, order, 10, 10, 20, [("confirmation", _at(2, 12), 10, 20),
                                           ("despatch", _at(15), 10, 19)])
        _line(session, order, 20, 10, 20, [("confirmation", _at(3), 10, 22),
                                           ("confirmation", _at(4), 10, 25),
                                           ("despatch", _at(18), 8, 22)], exceptions=2)
        _line(session, order, 30, 5, 11, [("confirmation", _at(2, 18), 5, 11),
                                          ("despatch", _at(8), 5, 10),
                                          ("receipt", _at(12), 4, 12)], exceptions=1)
        _line(session, order, 40, 20, 30, [])


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</dd>', html, re.S)
    assert found is not None, element_id
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_suppliers_list_links_each_supplier_with_its_open_exceptions(
        client: TestClient, engine: Engine) -> None:
    assert client.get("/suppliers").status_code == 303  # signed out: to the login
    sign_in(client, ANNA)
    page = client.get("/suppliers").text
    with make_session_factory(engine).begin() as session:
        open_albrecht = len(session.scalars(select(ExceptionRow.id).where(
            ExceptionRow.supplier_code == "ALBRECHT",
            ExceptionRow.state.in_(["open", "acknowledged"]))).all())
    row = re.search(r'<tr data-code="ALBRECHT">(.*?)</tr>', page, re.S)
    assert row is not None
    assert 'href="/suppliers/ALBRECHT"' in row.group(1)
    assert re.search(rf">{open_albrecht}</a>", row.group(1))
    assert open_albrecht > 0


def test_the_supplier_page_shows_the_entry_and_every_profile_version(
        client: TestClient) -> None:
    sign_in(client, ANNA)
    page = client.get("/suppliers/ALBRECHT").text
    assert "c-parts" in page
    assert 'data-version="1"' in page
    assert "gateway partners load" in page
    assert client.get("/suppliers/NOBODY").status_code == 404
    assert client.get("/suppliers/ALBRECHT?from=2026-12-01&to=2026-11-01").status_code == 400
    assert client.get("/suppliers/ALBRECHT?from=yesterday").status_code == 400


def test_the_scorecard_shows_each_metric_for_the_period_in_the_url(
        client: TestClient, engine: Engine) -> None:
    _scored_supplier(engine)
    sign_in(client, ANNA)
    page = client.get(f"/suppliers/{SCORED}?{NOVEMBER}").text
    assert "Scored &lt;b&gt;GmbH&lt;/b&gt;" in page
    assert _text(page, "m-confirmation") == "75% (3 of 4)"
    assert _text(page, "m-median") == "10 hours"
    assert _text(page, "m-ontime-confirmed") == "67% (2 of 3)"
    assert _text(page, "m-ontime-requested") == "33% (1 of 3)"
    assert _text(page, "m-fill") == "88% (22 of 25)"
    assert _text(page, "m-otif") == "33% (1 of 3)"
    assert _text(page, "m-asn") == "33% (1 of 3)"
    assert _text(page, "m-exceptions") == "75 (3)"
    chart = re.search(r'<figure id="chart-otif">(<svg .*?</svg>)</figure>', page, re.S)
    assert chart is not None
    assert "<script" not in chart.group(1)
    assert ">Nov 2026</text>" in chart.group(1)
    # The default period, the last 90 days up to today (26 November), leaves out line 40.
    default = client.get(f"/suppliers/{SCORED}").text
    assert _text(default, "m-confirmation") == "100% (3 of 3)"
    assert 'value="2026-08-29"' in default


@pytest.mark.parametrize(("locale", "fill", "month", "title"), [
    ("de", "88\xa0% (22 von 25)", ">Nov. 2026</text>", "OTIF je Monat"),
    ("zh_Hans", "88% (25 中的 22)", ">2026年11月</text>", "每月 OTIF"),
])
def test_the_scorecard_follows_the_language(client: TestClient, engine: Engine, locale: str,
                                            fill: str, month: str, title: str) -> None:
    _scored_supplier(engine)
    csrf = sign_in(client, ANNA)
    client.post("/language", data={"locale": locale, "csrf": csrf, "next": "/suppliers"})
    page = client.get(f"/suppliers/{SCORED}?{NOVEMBER}").text
    assert _text(page, "m-fill") == fill
    assert month in page
    assert f"<title>{title}</title>" in page
    board = client.get("/dashboard").text
    assert ("Offene Ausnahmen" if locale == "de" else "未处理的异常") in board


def test_the_supplier_page_costs_the_same_statements_whatever_its_lines(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    empty, _ = page_selects(client, f"/suppliers/{SCORED}?{NOVEMBER}".replace(SCORED, "ALBRECHT"))
    _scored_supplier(engine)
    scored, page = page_selects(client, f"/suppliers/{SCORED}?{NOVEMBER}")
    assert "(3 of 4)" in page
    # session and user (1), the supplier, its identities, its profile versions (3),
    # the lines, their versions, their exceptions (3)
    assert empty == scored == 7


def _it_facts(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        session.add(ConnectorStatusRow(
            connector="imap", name="purchasing", last_uid=7, messages_taken_in=7,
            last_success_at=NOW - timedelta(hours=1), last_error="LOGIN failed: <b>no</b>",
            last_error_at=NOW - timedelta(hours=2), consecutive_failures=0, updated_at=NOW))
        session.add(ConnectorStatusRow(
            connector="as2", name="certificates", last_uid=0, messages_taken_in=0,
            last_success_at=NOW, consecutive_failures=0, updated_at=NOW,
            notice="1 AS2 certificate(s) end within 30 days: partner ACME-AS2: CN=<acme> "
                   "ends 2026-12-01"))
        session.add(WorkerHeartbeatRow(name="worker@host-1", started_at=NOW, beat_at=NOW))
        for number, (transport, outcome, error) in enumerate((
                ("smtp", "sent", None), ("webhook", "permanent", "HTTP 500 <html>"),
                ("webhook", "sent", None))):
            row = OutboundMessageRow(
                kind="alert", transport=transport, recipient="x@example.com", sender="",
                payload=b"", content_type="text/plain", wire_id=f"w{number}",
                state="failed" if outcome == "permanent" else "sent", reason="test",
                attempts=1, created_at=NOW, updated_at=NOW)
            session.add(row)
            session.flush()
            session.add(OutboundAttemptRow(
                outbound_id=row.id, at=NOW - timedelta(minutes=10 - number), duration_ms=5,
                outcome=outcome, error=error))
        # Taken by an AS2 partner 3 hours and 20 minutes ago; their asynchronous MDNs due.
        for number, taken in enumerate((NOW - timedelta(hours=3), NOW - timedelta(minutes=20))):
            session.add(OutboundMessageRow(
                kind="contrl", transport="as2", recipient="https://as2.acme.example/", sender="",
                payload=b"", content_type="application/edifact", wire_id=f"as2-{number}",
                state="awaiting_mdn", reason="test", attempts=1, created_at=taken,
                updated_at=taken, next_attempt_at=taken + timedelta(hours=4)))


def test_the_dashboard_shows_exceptions_orders_messages_and_connectors(
        client: TestClient, engine: Engine) -> None:
    _it_facts(engine)
    assert client.get("/").headers["location"] == "/dashboard"
    sign_in(client, ANNA)
    page = client.get("/dashboard").text
    with make_session_factory(engine).begin() as session:
        open_rows = session.scalars(select(ExceptionRow).where(
            ExceptionRow.state.in_(["open", "acknowledged"]))).all()
        messages = session.scalars(select(InboundMessage)).all()
    for severity in ("high", "medium", "low"):
        expected = sum(1 for row in open_rows if row.severity == severity)
        assert re.search(rf'id="open-{severity}"[^>]*>[^<]*: {expected}</a>', page), severity
    assert '<tr data-supplier="ALBRECHT">' in page
    cli_today = sum(1 for m in messages if m.channel == "cli")
    row = re.search(r'<tr data-channel="cli">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.findall(r"<td>(\d+)</td>", row.group(1))[-1] == str(cli_today)  # today, last
    quarantined = sum(1 for m in messages if m.state == "quarantined")
    assert f'id="quarantined">Quarantined: {quarantined}<' in page
    assert 'id="outbox-failed">Outbox failed: 1<' in page
    assert 'id="outbox-awaiting-mdn">Outbox awaiting an MDN: 2 (oldest 3 hours)<' in page
    imap = re.search(r'data-connector="imap:purchasing">(.*?)</tr>', page, re.S)
    assert imap is not None
    assert "LOGIN failed: &lt;b&gt;no&lt;/b&gt;" in imap.group(1)
    assert "7 taken in, 0 failures in a row" in imap.group(1)
    assert "<th>Nov 13</th>" in page  # 14 days up to today, the 26th
    assert "<th>Nov 12</th>" not in page
    webhook = re.search(r'data-connector="outbox:webhook">(.*?)</tr>', page, re.S)
    assert webhook is not None
    assert "HTTP 500 &lt;html&gt;" in webhook.group(1)
    assert 'data-connector="outbox:smtp"' in page
    certificates = re.search(r'data-connector="as2:certificates">(.*?)</tr>', page, re.S)
    assert certificates is not None
    assert "partner ACME-AS2: CN=&lt;acme&gt; ends 2026-12-01" in certificates.group(1)
    assert "taken in" not in certificates.group(1)
    assert 'data-connector="worker:worker@host-1"' in page
    assert 'data-connector="smtp:listener"' in page


def test_the_dashboard_lists_orders_due_this_week_not_yet_despatched(
        client: TestClient, engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        for number, due, state in (("4598000001", date(2026, 11, 27), "open"),
                                   ("4598000002", date(2026, 11, 20), "confirmed"),
                                   ("4598000003", date(2026, 11, 27), "despatched"),
                                   ("4598000004", date(2026, 12, 4), "open")):
            order = PurchaseOrder(number=number, supplier_code="ALBRECHT", source="t",
                                  updated_at=NOW)
            session.add(order)
            session.flush()
            session.add(OrderLineRow(order_id=order.id, line_no="10", quantity=Decimal(1),
                                     requested_date=due, state=state,
                                     despatched_quantity=Decimal(0)))
    sign_in(client, ANNA)
    page = client.get("/dashboard").text
    assert 'data-order="4598000001"' in page
    assert re.search(r'data-order="4598000002" class="sev-high"', page)  # overdue
    assert 'data-order="4598000003"' not in page  # despatched
    assert 'data-order="4598000004"' not in page  # next week


def test_the_dashboard_costs_the_same_statements_whatever_the_data(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    before, _ = page_selects(client, "/dashboard")
    _it_facts(engine)
    _scored_supplier(engine)
    after, page = page_selects(client, "/dashboard")
    assert 'data-connector="outbox:webhook"' in page
    # session and user (1), exceptions (1), orders at risk and their count (2), messages per
    # day, message states, outbox states (3), the SMTP listener, connector rows, the two
    # outbox queries, heartbeats (5)
    assert before == after == 12
