"""Persistence, archive and reconciliation end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from gateway.bootstrap import make_engine
from gateway.domain.messages import MessageState
from gateway.persistence.models import (
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
    OrderLineRow,
    ToleranceProfileRow,
)
from gateway.persistence.schema import alembic_config, current_revision, head_revision, upgrade
from gateway.services.ingest import Intake, archive, process
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, profile_in_force
from gateway.services.queue import list_exceptions, order_timeline
from gateway.services.replay import replay
from gateway.services.watch import check_overdue
from tests.integration.conftest import edifact_interchange, transactions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
GLN = "4012345000009"
PARTNERS = {
    "profiles": {"strict": {"qty_under_pct": 5, "date_late_warning_days": 0,
                            "date_late_error_days": 2, "price_pct": 1}},
    "suppliers": [{"code": "ACME", "name": "Acme Fasteners GmbH",
                   "emails": ["orders@acme.example"], "domains": ["acme.example"],
                   "edi_ids": [{"id": GLN, "qualifier": "14"}],
                   "buyer_contact": "anna@buyer.example", "profile": "strict"}],
}
ORDERS_CSV = (
    "order_number,line_no,quantity,unit,price,currency,requested_date,gtin,supplier_id,"
    "owner_email\n"
    """4500000001,10,100,PCE,12.50,EUR,2026-12-05,4000862141404,ACME,anna@buyer.example
4500000001,20,50,PCE,3.20,EUR,2026-12-05,4000862141411,ACME,anna@buyer.example
4500000001,30,abc,PCE,1.00,EUR,2026-12-05,4000862141428,ACME,anna@buyer.example
4500000002,10,10,PCE,99,EUR,2026-12-10,4000862141435,ACME,ben@buyer.example
""")


def interchange(body: str, ref: str = "IC1") -> bytes:
    return edifact_interchange(body, ref, GLN)


def ordrsp(lines: str, number: str = "RSP-1", function: str = "4") -> bytes:
    return interchange(f"ORDRSP+'BGM+231+{number}+{function}'RFF+ON:4500000001'{lines}")


CONFIRM_SHORT_AND_LATE = ("LIN+1+3+4000862141404:EN'QTY+21:100:PCE'QTY+113:80:PCE'"
                          "DTM+69:20261209:102'RFF+ON:4500000001:10'"
                          "LIN+2+5+4000862141411:EN'QTY+113:50:PCE'RFF+ON:4500000001:20'")


@pytest.fixture
def sessions(engine: Engine) -> object:
    return transactions(engine, PARTNERS, NOW)


def import_orders(sessions: object, tmp_path: Path) -> list[str]:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    lines, errors = read_order_file(path)
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, lines, "orders.csv", NOW)
    return [f"{e.row}: {e.detail}" for e in errors]


def ingest(sessions: object, raw: bytes, sender: str = "as2:acme") -> tuple[int, object]:
    with sessions() as session:  # type: ignore[operator]
        archived = archive(session, Intake(raw, "cli", sender, "msg.edi"), NOW)
    with sessions() as session:  # type: ignore[operator]
        return archived.message_id, process(session, archived.message_id, TODAY, NOW)


def test_schema_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    assert current_revision(engine) == head_revision()


def test_profiles_are_versioned_never_rewritten(sessions: object) -> None:
    with sessions() as session:  # type: ignore[operator]
        assert load_partners(session, PARTNERS, NOW).profiles_new == []
        changed = {**PARTNERS, "profiles": {"strict": {"qty_under_pct": 10}}}
        assert load_partners(session, changed, NOW).profiles_new == ["strict"]
        versions = session.scalars(select(ToleranceProfileRow.version).where(
            ToleranceProfileRow.name == "strict").order_by(ToleranceProfileRow.version)).all()
        assert versions == [1, 2]
        assert profile_in_force(session, "strict").qty_under_pct == Decimal(10)


def test_order_import_reports_bad_rows_and_keeps_history(sessions: object,
                                                        tmp_path: Path) -> None:
    errors = import_orders(sessions, tmp_path)
    assert errors == ["4: quantity 'abc' is not a number"]
    changed = tmp_path / "orders2.csv"
    changed.write_text(ORDERS_CSV.replace("4500000001,10,100", "4500000001,10,120"))
    lines, _ = read_order_file(changed)
    with sessions() as session:  # type: ignore[operator]
        report = import_lines(session, lines, "orders2.csv", NOW)
        assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
        timeline = order_timeline(session, "4500000001")
        first = timeline.lines[0]
        assert [(e.kind, e.quantity) for e in first.entries] == [
            ("requested", Decimal(100)), ("requested", Decimal(120))]


def test_ingest_raises_graded_exceptions_linked_to_the_message(sessions: object,
                                                               tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    message_id, report = ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    assert report.state is MessageState.RECONCILED  # type: ignore[attr-defined]
    with sessions() as session:  # type: ignore[operator]
        rows = list_exceptions(session, state="open")
        assert [(r.code, r.severity, r.line_no) for r in rows] == [
            ("DATE_LATE", "high", "10"), ("QTY_SHORT", "medium", "10")]
        assert {r.message_id for r in rows} == {message_id}
        assert {r.owner for r in rows} == {"anna@buyer.example"}
        assert rows[0].tolerance == "strict v1"
        line = session.scalars(select(OrderLineRow).where(
            OrderLineRow.gtin == "4000862141404")).first()
        assert line is not None
        assert (line.state, line.confirmed_quantity) == ("changed", Decimal(80))
        message = session.get(InboundMessage, message_id)
        assert message is not None
        assert (message.supplier_code, message.size) == ("ACME", len(
            ordrsp(CONFIRM_SHORT_AND_LATE)))


def test_identical_bytes_again_are_a_duplicate_delivery(sessions: object,
                                                        tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    raw = ordrsp(CONFIRM_SHORT_AND_LATE)
    first, _ = ingest(sessions, raw)
    second, report = ingest(sessions, raw)
    assert report.state is MessageState.DUPLICATE  # type: ignore[attr-defined]
    with sessions() as session:  # type: ignore[operator]
        duplicate = session.get(InboundMessage, second)
        assert duplicate is not None
        assert duplicate.duplicate_of_id == first
        assert duplicate.raw == raw
        assert session.scalar(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.message_id == second)) == 0
        assert session.scalar(select(func.count()).select_from(ExceptionRow)) == 2


def test_processing_twice_does_nothing_the_second_time(sessions: object,
                                                       tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    message_id, _ = ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    with sessions() as session:  # type: ignore[operator]
        again = process(session, message_id, TODAY, NOW)
        assert again.discrepancies == []
        assert session.scalar(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.message_id == message_id)) == 2


def test_repeated_evidence_updates_one_exception_and_good_news_resolves_it(
        sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE.replace("113:80", "113:70"), "RSP-2"))
    with sessions() as session:  # type: ignore[operator]
        short = session.scalars(select(ExceptionRow).where(
            ExceptionRow.code == "QTY_SHORT")).all()
        assert [(s.occurrences, s.actual) for s in short] == [(2, "70 PCE")]
    fixed = ("LIN+1+5+4000862141404:EN'QTY+113:100:PCE'DTM+69:20261205:102'"
             "RFF+ON:4500000001:10'")
    ingest(sessions, ordrsp(fixed, "RSP-3"))
    with sessions() as session:  # type: ignore[operator]
        states = dict(session.execute(select(ExceptionRow.code, ExceptionRow.state)).all())
        assert states == {"QTY_SHORT": "resolved", "DATE_LATE": "resolved"}
        trail = session.scalars(select(ExceptionEventRow.action).join(
            ExceptionRow, ExceptionRow.id == ExceptionEventRow.exception_id).where(
            ExceptionRow.code == "QTY_SHORT").order_by(ExceptionEventRow.id)).all()
        assert trail == ["raised", "seen_again", "resolved"]


def test_unknown_sender_and_unreadable_files_are_quarantined(sessions: object) -> None:
    stranger = ordrsp(CONFIRM_SHORT_AND_LATE).replace(GLN.encode(), b"9999999999994")
    _, report = ingest(sessions, stranger, sender="someone@elsewhere.example")
    assert report.state is MessageState.QUARANTINED  # type: ignore[attr-defined]
    assert "unknown sender" in report.reason  # type: ignore[attr-defined]
    _, report = ingest(sessions, b"%PDF-1.7 an invoice", sender="orders@acme.example")
    assert report.state is MessageState.QUARANTINED  # type: ignore[attr-defined]
    assert "unreadable" in report.reason  # type: ignore[attr-defined]


def test_despatch_number_sent_twice_with_other_content(sessions: object,
                                                       tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    desadv = ("DESADV+'BGM+351+ASN-7+9'DTM+17:20261205:102'RFF+ON:4500000002'"
              "LIN+1++4000862141435:EN'QTY+12:{qty}:PCE'")
    ingest(sessions, interchange(desadv.format(qty=4)))
    _, report = ingest(sessions, interchange(desadv.format(qty=6), "IC2"))
    codes = [d.code.value for d in report.discrepancies]  # type: ignore[attr-defined]
    assert codes == ["DUPLICATE_DOCUMENT"]
    with sessions() as session:  # type: ignore[operator]
        line = session.scalars(select(OrderLineRow).where(
            OrderLineRow.gtin == "4000862141435")).one()
        assert line.despatched_quantity == Decimal(4)


def test_replay_after_a_tolerance_change(sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    message_id, _ = ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    relaxed = {**PARTNERS, "profiles": {"strict": {"qty_under_pct": 25,
                                                   "date_late_warning_days": 5,
                                                   "date_late_error_days": 10}}}
    with sessions() as session:  # type: ignore[operator]
        load_partners(session, relaxed, NOW)
    report = replay(sessions, message_id, TODAY, NOW)  # type: ignore[arg-type]
    with sessions() as session:  # type: ignore[operator]
        assert report.state is MessageState.RECONCILED
        assert report.discrepancies == []
        states = dict(session.execute(select(ExceptionRow.code, ExceptionRow.state)).all())
        assert states == {"QTY_SHORT": "resolved", "DATE_LATE": "resolved"}
        assert session.scalar(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.message_id == message_id)) == 2
        line = session.scalars(select(OrderLineRow).where(OrderLineRow.gtin == "4000862141404")
                               ).first()
        assert line is not None
        assert line.confirmed_quantity == Decimal(80)


def test_a_replacing_order_response_may_repeat_its_number(sessions: object,
                                                           tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    again = CONFIRM_SHORT_AND_LATE.replace("113:80", "113:100").replace("20261209", "20261205")
    _, report = ingest(sessions, ordrsp(again, "RSP-1", function="5"))
    assert [d.code.value for d in report.discrepancies] == []  # type: ignore[attr-defined]
    with sessions() as session:  # type: ignore[operator]
        states = dict(session.execute(select(ExceptionRow.code, ExceptionRow.state)).all())
        assert states == {"QTY_SHORT": "resolved", "DATE_LATE": "resolved"}


def test_a_failed_message_can_be_processed_again(sessions: object, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    with sessions() as session:  # type: ignore[operator]
        archived = archive(session, Intake(ordrsp(CONFIRM_SHORT_AND_LATE), "cli", "x", None),
                           NOW)
        session.get(InboundMessage, archived.message_id).state = "failed"  # type: ignore[union-attr]
    again = ordrsp(CONFIRM_SHORT_AND_LATE)
    with sessions() as session:  # type: ignore[operator]
        retry = archive(session, Intake(again, "cli", "x", None), NOW)
        assert retry.duplicate_of is None
    report = replay(sessions, archived.message_id, TODAY, NOW)  # type: ignore[arg-type]
    assert report.state is MessageState.RECONCILED
    assert {d.code.value for d in report.discrepancies} == {"QTY_SHORT", "DATE_LATE"}


def test_an_existing_database_upgrades_step_by_step(settings: object) -> None:
    engine = make_engine(settings)  # type: ignore[arg-type]
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    assert current_revision(engine) == "0001"
    assert upgrade(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_silence_is_flagged_and_cleared_once_answered(sessions: object, tmp_path: Path) -> None:
    dated = "\n".join(row + (",order_date" if index == 0 else ",2026-11-20")
                      for index, row in enumerate(ORDERS_CSV.strip().splitlines()))
    path = tmp_path / "dated.csv"
    path.write_text(dated + "\n")
    lines, _ = read_order_file(path)
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, lines, "dated.csv", NOW)
    later = date(2026, 12, 1)
    with sessions() as session:  # type: ignore[operator]
        found = check_overdue(session, later, NOW)
    assert sorted({(d.code.value, d.order_number) for d in found}) == [
        ("CONFIRMATION_OVERDUE", "4500000001"), ("CONFIRMATION_OVERDUE", "4500000002")]
    ingest(sessions, ordrsp(CONFIRM_SHORT_AND_LATE.replace("20261209", "20261205")))
    with sessions() as session:  # type: ignore[operator]
        again = check_overdue(session, later, NOW)
        assert {d.order_number for d in again} == {"4500000002"}
        states = session.execute(select(ExceptionRow.order_number, ExceptionRow.state).where(
            ExceptionRow.code == "CONFIRMATION_OVERDUE").order_by(ExceptionRow.id)).all()
        assert [tuple(s) for s in states] == [("4500000001", "resolved"),
                                              ("4500000001", "resolved"),
                                              ("4500000002", "open")]
