"""Alerts to buyers through the outbox, on SQLite and PostgreSQL: routed to the owner, at once
or in the digest, told once per change that matters, a flapping exception once; overdue
exceptions of finished orders resolved; escalation past the SLA."""

from __future__ import annotations

import email
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode
from gateway.domain.silence import Silence
from gateway.domain.tolerances import DEFAULT_PROFILE, Severity
from gateway.persistence.models import (
    AlertMarkRow,
    Base,
    ExceptionAlertRow,
    ExceptionEventRow,
    ExceptionRow,
    OrderLineRow,
    OutboundMessageRow,
)
from gateway.services.digest import send_digests
from gateway.services.exception_store import ExceptionLedger, Source
from gateway.services.lookups import SupplierInfo
from gateway.services.orders import import_lines, read_order_file
from gateway.services.watch import escalate_past_sla, resolve_finished_orders
from tests.integration.conftest import transactions

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
Transactions = Callable[[], AbstractContextManager[Session]]
NOTIFY: dict[str, Any] = {
    "default_group": "purchasing",
    "sender": "Supplier gateway <gateway@buyer.example>",
    "recipients": {
        "anna@buyer.example": {"language": "de", "group": "purchasing"},
        "purchasing": {"emails": ["purchasing@buyer.example", "lead@buyer.example"]},
    },
}
PARTNERS: dict[str, Any] = {
    "suppliers": [
        {"code": "ACME", "name": "Acme <Fasteners> & Co", "buyer_contact": "ben@buyer.example"},
        {"code": "NOBODY", "name": "Unowned Ltd"}],
    "notify": NOTIFY,
}
ACME = SupplierInfo("ACME", "Acme <Fasteners> & Co", "ben@buyer.example", DEFAULT_PROFILE)
NOBODY = SupplierInfo("NOBODY", "Unowned Ltd", None, DEFAULT_PROFILE)


@pytest.fixture
def begin(engine: Engine) -> Transactions:
    return transactions(engine, PARTNERS, NOW)


def problem(severity: Severity = Severity.HIGH, line: str = "10", owner: str | None =
            "anna@buyer.example", risk: float = 5.0, actual: str = "40 PCE",
            code: DiscrepancyCode = DiscrepancyCode.QTY_SHORT) -> Discrepancy:
    return Discrepancy(code, severity, "PO-1", line, "100 PCE", actual, "-60 PCE",
                       "confirmed below the ordered quantity", "strict v1", risk, None, owner)


def record(begin: Transactions, found: list[Discrepancy], cleared: list[str] | None = None,
           supplier: SupplierInfo = ACME, now: datetime = NOW) -> None:
    with begin() as session:
        ledger = ExceptionLedger(session)
        ledger.record(Silence(found, cleared or []), supplier, {}, Source(None, None, now))
        ledger.flush()


def outbox(begin: Transactions) -> list[OutboundMessageRow]:
    with begin() as session:
        rows = list(session.scalars(select(OutboundMessageRow).order_by(OutboundMessageRow.id)))
        session.expunge_all()
    return rows


def parsed(row: OutboundMessageRow) -> EmailMessage:
    message = email.message_from_bytes(row.payload, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> tuple[str, str]:
    plain, html = (message.get_body(("plain",)), message.get_body(("html",)))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


def test_the_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = ("notify_settings", "alert_marks", "exception_alerts", "scheduled_runs")
    assert [d for d in differences if any(name in repr(d) for name in ours)] == []


def test_a_high_exception_is_mailed_at_once_to_its_owner_in_her_language(
        begin: Transactions) -> None:
    record(begin, [problem()])
    (row,) = outbox(begin)
    assert (row.kind, row.transport, row.recipient, row.sender) == (
        "alert", "smtp", "anna@buyer.example", "gateway@buyer.example")
    message = parsed(row)
    assert message["Message-ID"] == f"<{row.wire_id}>"
    assert message["Auto-Submitted"] == "auto-generated"
    plain, html = text_of(message)
    assert "erwartet: 100 PCE; erhalten: 40 PCE" in plain
    assert message["Subject"] == ("[HOCH] Lieferanten-Ausnahme neu: QTY_SHORT · "
                                  "Acme <Fasteners> & Co · Bestellung PO-1 Position 10")
    assert "Acme &lt;Fasteners&gt; &amp; Co" not in plain
    assert "<Fasteners>" not in html


def test_evidence_seen_again_sends_nothing_more_until_it_worsens(begin: Transactions) -> None:
    record(begin, [problem(Severity.MEDIUM)])
    record(begin, [problem(Severity.MEDIUM, actual="41 PCE")])
    record(begin, [problem(Severity.MEDIUM, actual="42 PCE")])
    assert outbox(begin) == []
    record(begin, [problem(Severity.HIGH, actual="10 PCE")])
    (row,) = outbox(begin)
    assert "verschärft" in text_of(parsed(row))[0]
    with begin() as session:
        changes = session.scalars(select(ExceptionAlertRow.change)
                                  .order_by(ExceptionAlertRow.id)).all()
    assert changes == ["opened", "worsened"]


def test_a_flapping_exception_is_sent_once_at_once_and_listed_once_in_the_digest(
        begin: Transactions) -> None:
    key = ["QTY_SHORT|PO-1|10"]
    for hour in range(3):    # opened, resolved, reopened, resolved, reopened ...
        at = NOW + timedelta(hours=hour)
        record(begin, [problem()], now=at)
        record(begin, [], key, now=at + timedelta(minutes=30))
    record(begin, [problem()], now=NOW + timedelta(hours=4))
    assert [row.kind for row in outbox(begin)] == ["alert"]
    with begin() as session:
        (report,) = send_digests(session, NOW + timedelta(hours=22))
    assert report.exceptions == 1
    digest = outbox(begin)[-1]
    assert digest.kind == "digest"
    plain, _html = text_of(parsed(digest))
    assert plain.count("QTY_SHORT") == 1
    assert "Änderungen in diesem Zeitraum: 3" in plain


def test_routing_falls_back_to_the_buyer_contact_then_the_default_group(
        begin: Transactions) -> None:
    record(begin, [problem(owner=None)])
    record(begin, [problem(owner=None, line="20")], supplier=NOBODY)
    rows = outbox(begin)
    assert [row.recipient for row in rows] == [
        "ben@buyer.example", "purchasing@buyer.example", "lead@buyer.example"]
    assert "expected: 100 PCE; actual: 40 PCE" in text_of(parsed(rows[0]))[0]


def test_the_digest_groups_by_supplier_worst_first(begin: Transactions) -> None:
    record(begin, [problem(Severity.LOW, line="10", risk=1.0),
                   problem(Severity.MEDIUM, line="20", risk=9.0),
                   problem(Severity.MEDIUM, line="30", risk=3.0)])
    record(begin, [problem(Severity.LOW, line="40", risk=2.0, owner=None)], supplier=NOBODY)
    assert outbox(begin) == []
    with begin() as session:
        reports = send_digests(session, NOW + timedelta(hours=20))
    assert sorted((r.recipient, r.exceptions) for r in reports) == [
        ("anna@buyer.example", 3), ("purchasing", 1)]
    plain = text_of(parsed(next(row for row in outbox(begin)
                                if row.recipient == "anna@buyer.example")))[0]
    assert plain.index("Position 20") < plain.index("Position 30") < plain.index("Position 10")
    with begin() as session:
        assert send_digests(session, NOW + timedelta(hours=44)) == []


def test_an_exception_resolved_before_the_digest_is_left_out(begin: Transactions) -> None:
    record(begin, [problem(Severity.LOW)])
    record(begin, [], ["QTY_SHORT|PO-1|10"])
    with begin() as session:
        (report,) = send_digests(session, NOW + timedelta(hours=20))
    assert (report.exceptions, report.outbox_ids) == (0, ())


def test_an_exception_open_past_its_sla_is_escalated_to_the_group_once(
        begin: Transactions) -> None:
    record(begin, [problem(Severity.MEDIUM)])
    with begin() as session:
        assert escalate_past_sla(session, NOW + timedelta(days=2)) == []
        (escalated,) = escalate_past_sla(session, NOW + timedelta(days=3, minutes=1))
        assert escalate_past_sla(session, NOW + timedelta(days=4)) == []
        events = session.scalars(select(ExceptionEventRow.action).where(
            ExceptionEventRow.exception_id == escalated)).all()
    assert events == ["raised", "escalated"]
    rows = outbox(begin)
    assert [row.recipient for row in rows] == ["purchasing@buyer.example", "lead@buyer.example"]
    assert "escalated" in text_of(parsed(rows[0]))[0]


def test_overdue_exceptions_of_a_finished_order_are_resolved_with_the_reason(
        begin: Transactions, tmp_path: Path) -> None:
    overdue = problem(Severity.MEDIUM, code=DiscrepancyCode.CONFIRMATION_OVERDUE)
    record(begin, [overdue])
    with begin() as session:
        assert resolve_finished_orders(session, NOW) == []   # no such order: left alone
    path = tmp_path / "orders.csv"
    path.write_text("order_number,line_no,quantity,unit,requested_date,supplier_id\n"
                    "PO-1,10,100,PCE,2026-12-20,ACME\n")
    lines, errors = read_order_file(path)
    assert errors == []
    with begin() as session:
        import_lines(session, lines, "orders.csv", NOW)
    with begin() as session:
        assert resolve_finished_orders(session, NOW) == []   # the line is still open
        session.execute(update(OrderLineRow).values(state="despatched"))
        (resolved,) = resolve_finished_orders(session, NOW + timedelta(days=1))
        exception = session.get(ExceptionRow, resolved)
        assert exception is not None
        assert exception.state == "resolved"
        detail = session.scalars(select(ExceptionEventRow.detail).where(
            ExceptionEventRow.exception_id == resolved).order_by(ExceptionEventRow.id)).all()
        marks = session.scalars(select(AlertMarkRow.change)).all()
    assert detail[-1] == "order PO-1 is finished: every line despatched or rejected"
    assert marks == ["resolved"]


def test_a_notify_file_of_its_own_replaces_the_section_and_a_bad_one_changes_nothing(
        begin: Transactions, tmp_path: Path) -> None:
    from gateway.errors import ConfigurationError
    from gateway.services.alerts import notify_config
    from gateway.services.partners import load_partners, read_partner_file

    path = tmp_path / "notify.toml"
    path.write_text('[notify]\ndefault_group = "buyers"\n[notify.recipients.buyers]\n'
                    'emails = ["buyers@buyer.example"]\n')
    with begin() as session:
        load_partners(session, read_partner_file(path), NOW)
    path.write_text('[notify]\ndefault_group = "buyers"\ncolour = "red"\n')
    with pytest.raises(ConfigurationError, match="colour"), begin() as session:
        load_partners(session, read_partner_file(path), NOW)
    with begin() as session:
        config = notify_config(session)
    group = config.recipient(None)
    assert config.default_group == "buyers"
    assert group is not None
    assert group.emails == ("buyers@buyer.example",)


def test_an_exception_raised_and_cleared_in_one_batch_sends_nothing_at_once(
        begin: Transactions) -> None:
    with begin() as session:
        ledger = ExceptionLedger(session)
        ledger.record(Silence([problem()], []), ACME, {}, Source(None, None, NOW))
        ledger.record(Silence([], ["QTY_SHORT|PO-1|10"]), ACME, {},
                      Source(None, None, NOW + timedelta(seconds=1)))
        ledger.flush()
    assert outbox(begin) == []
    with begin() as session:
        (report,) = send_digests(session, NOW + timedelta(hours=20))
    assert report.exceptions == 0
