"""Archive, process and replay (gateway.services.ingest) on SQLite and on PostgreSQL: the
exception ledger across messages, replays and `rebuild_line`, and what archiving keeps. Each
test states the behaviour a buyer or IT operator relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.persistence.models import (
    ExceptionRow,
    InboundMessage,
    OrderLineRow,
)
from gateway.services.ingest import Intake, archive, archive_many, process
from gateway.services.orders import import_lines, read_order_file
from gateway.services.replay import rebuild_line, replay
from tests.integration.conftest import edifact_interchange, transactions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
GLN = "4012345000009"
OTHER_GLN = "4012345000016"
PARTNERS = {
    "profiles": {"strict": {"qty_under_pct": 5, "date_late_warning_days": 0,
                            "date_late_error_days": 2, "price_pct": 1}},
    "suppliers": [
        {"code": "ACME", "name": "Acme Fasteners GmbH", "emails": ["orders@acme.example"],
         "edi_ids": [{"id": GLN, "qualifier": "14"}], "buyer_contact": "anna@buyer.example",
         "profile": "strict"},
        {"code": "FWD", "name": "Acme's forwarder", "edi_ids": [{"id": OTHER_GLN,
                                                                "qualifier": "14"}]},
    ],
}
ORDERS_CSV = (
    "order_number,line_no,quantity,unit,price,currency,requested_date,gtin,supplier_id,"
    "owner_email\n"
    "4500000001,10,100,PCE,12.50,EUR,2026-12-05,4000862141404,ACME,anna@buyer.example\n"
    "4500000001,20,50,PCE,3.20,EUR,2026-12-05,4000862141411,ACME,anna@buyer.example\n")
LINE_10 = "4000862141404"


def interchange(body: str, ref: str = "IC1", sender: str = GLN) -> bytes:
    return edifact_interchange(body, ref, sender)


def ordrsp(qty: str, number: str, when: str = "20261205", function: str = "4",
           ref: str | None = None) -> bytes:
    """A response for line 10 of 4500000001 (ordered: 100 PCE on 2026-12-05)."""
    return interchange(f"ORDRSP+'BGM+231+{number}+{function}'RFF+ON:4500000001'"
                       f"LIN+1+5+{LINE_10}:EN'QTY+113:{qty}:PCE'DTM+69:{when}:102'"
                       "RFF+ON:4500000001:10'", ref or number)


def desadv(qty: str, number: str, when: str | None = "20261205", order: str = "4500000001",
           sender: str = GLN, ref: str | None = None) -> bytes:
    date_segment = f"DTM+17:{when}:102'" if when else ""
    return interchange(f"DESADV+'BGM+351+{number}+9'{date_segment}RFF+ON:{order}'"
                       f"LIN+1++{LINE_10}:EN'QTY+12:{qty}:PCE'", ref or number, sender)


@pytest.fixture
def sessions(engine: Engine) -> object:
    return transactions(engine, PARTNERS, NOW)


def import_orders(sessions: object, tmp_path: Path, csv: str = ORDERS_CSV) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(csv)
    lines, errors = read_order_file(path)
    assert errors == []
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, lines, "orders.csv", NOW)


def archived(sessions: object, raw: bytes, sender: str = "as2:acme") -> int:
    with sessions() as session:  # type: ignore[operator]
        return archive(session, Intake(raw, "cli", sender, "msg.edi"), NOW).message_id


def ingest(sessions: object, raw: bytes, sender: str = "as2:acme") -> tuple[int, object]:
    message_id = archived(sessions, raw, sender)
    with sessions() as session:  # type: ignore[operator]
        return message_id, process(session, message_id, TODAY, NOW)


def line_10(session: Session) -> OrderLineRow:
    return session.scalars(select(OrderLineRow).where(OrderLineRow.gtin == LINE_10)
                           .execution_options(populate_existing=True)).one()


def exception_state(session: Session, code: str) -> str:
    return session.scalars(select(ExceptionRow.state).where(ExceptionRow.code == code)).one()


# -- exception ledger ----------------------------------------------------------------------

def test_a_problem_that_comes_back_reopens_its_resolved_exception(sessions: object,
                                                                  tmp_path: Path) -> None:
    """80 of 100 (short), then 100 (resolved by the gateway), then 80 again: the shortfall is
    back and the buyer must see it: the resolved QTY_SHORT is open again, though the 80 is
    the value it held before it was resolved."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("80", "RSP-1"))
    ingest(sessions, ordrsp("100", "RSP-2"))
    with sessions() as session:  # type: ignore[operator]
        assert exception_state(session, "QTY_SHORT") == "resolved"
    _, report = ingest(sessions, ordrsp("80", "RSP-3"))
    assert [d.code.value for d in report.discrepancies] == ["QTY_SHORT"]  # type: ignore[attr-defined]
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).confirmed_quantity == Decimal(80)
        assert exception_state(session, "QTY_SHORT") == "open"


def test_a_despatch_without_a_date_does_not_resolve_a_late_confirmation(
        sessions: object, tmp_path: Path) -> None:
    """The despatch advice states no delivery date: the date rules were not evaluated, so
    the open DATE_LATE of the confirmation stays open."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("100", "RSP-1", when="20261212"))
    with sessions() as session:  # type: ignore[operator]
        assert exception_state(session, "DATE_LATE") == "open"
    ingest(sessions, desadv("100", "ASN-1", when=None))
    with sessions() as session:  # type: ignore[operator]
        assert exception_state(session, "DATE_LATE") == "open"


# -- archive ---------------------------------------------------------------------------------











def test_the_same_bytes_twice_in_one_archive_call(sessions: object) -> None:
    """The second copy in one call is a duplicate of the first; another sender's copy of
    the same bytes is not."""
    raw = desadv("40", "ASN-1")
    with sessions() as session:  # type: ignore[operator]
        first, again, other = archive_many(session, [
            Intake(raw, "as2", "as2:acme"), Intake(raw, "as2", "as2:acme"),
            Intake(raw, "smtp", "orders@acme.example")], NOW)
    assert (first.duplicate_of, again.duplicate_of, other.duplicate_of) == (
        None, first.message_id, None)


# -- replay ----------------------------------------------------------------------------------

def test_replaying_an_older_response_does_not_overrule_a_newer_one(sessions: object,
                                                                  tmp_path: Path) -> None:
    """RSP-1 says 80, RSP-2 says 100: the promise is 100. Replaying RSP-1 (after a tolerance
    change, say) does not overrule RSP-2: the line stays confirmed at 100."""
    import_orders(sessions, tmp_path)
    old, _ = ingest(sessions, ordrsp("80", "RSP-1"))
    ingest(sessions, ordrsp("100", "RSP-2"))
    replay(sessions, old, TODAY, NOW)  # type: ignore[arg-type]
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        assert (line.state, line.confirmed_quantity) == ("confirmed", Decimal(100))


def test_replay_does_not_turn_the_original_into_a_duplicate_of_its_later_copy(
        sessions: object, tmp_path: Path) -> None:
    """ASN-1 (40) is applied; a second ASN-1 with other content is reported, not applied.
    Replaying the first keeps it the original: the second copy's document row does not
    count as 'sent before', so the original's 40 pieces stay despatched."""
    import_orders(sessions, tmp_path)
    original, _ = ingest(sessions, desadv("40", "ASN-1"))
    ingest(sessions, desadv("60", "ASN-1", ref="IC2"))
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).despatched_quantity == Decimal(40)
    report = replay(sessions, original, TODAY, NOW)  # type: ignore[arg-type]
    assert "DUPLICATE_DOCUMENT" not in [d.code.value for d in report.discrepancies]
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).despatched_quantity == Decimal(40)


def test_replay_after_importing_the_order_resolves_unknown_order(sessions: object,
                                                                 tmp_path: Path) -> None:
    """The usual reason to replay: the response came before the order was imported. After
    the replay the lines are confirmed and UNKNOWN_ORDER is resolved."""
    message_id, report = ingest(sessions, ordrsp("100", "RSP-1"))
    assert [d.code.value for d in report.discrepancies] == ["UNKNOWN_ORDER"]  # type: ignore[attr-defined]
    import_orders(sessions, tmp_path)
    again = replay(sessions, message_id, TODAY, NOW)  # type: ignore[arg-type]
    assert again.discrepancies == []
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).state == "confirmed"
        assert exception_state(session, "UNKNOWN_ORDER") == "resolved"


def test_rebuild_line_keeps_a_despatch_within_tolerance_complete(sessions: object,
                                                                 tmp_path: Path) -> None:
    """96 of 100 with 5 % under-tolerance is complete when reconciled (`despatched`, no
    SHORT_SHIPPED); rebuild_line applies the same tolerance and keeps it `despatched`."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("100", "RSP-1"))
    ingest(sessions, desadv("96", "ASN-1"))
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        assert line.state == "despatched"
        rebuild_line(session, line.id)
        session.flush()
        assert line_10(session).state == "despatched"


def test_rebuild_line_agrees_with_reconciliation_on_a_zero_confirmation(
        sessions: object, tmp_path: Path) -> None:
    """A line confirmed (not rejected) with quantity 0 has the same state after rebuild_line
    as when reconciled, so a replay of any message touching the line does not flip it."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("0", "RSP-1"))
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        live = line.state
        rebuild_line(session, line.id)
        session.flush()
        assert line_10(session).state == live


def test_a_later_confirmation_does_not_undo_a_despatch(sessions: object,
                                                       tmp_path: Path) -> None:
    """Despatched in full, then a replacing response restates the line: the line is still
    despatched (rebuild_line says so too), and the confirmation does not reset its state."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("100", "RSP-1"))
    ingest(sessions, desadv("100", "ASN-1"))
    ingest(sessions, ordrsp("100", "RSP-1", function="5", ref="IC9"))
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        assert (line.despatched_quantity, line.state) == (Decimal(100), "despatched")






def test_a_long_attachment_name_does_not_stop_archiving(sessions: object) -> None:
    """Bytes are archived before anything else (docs/architecture.md, "Archive before
    acknowledge"). `filename` is VARCHAR(400): a longer name from an email does not abort archive()
    on PostgreSQL: the bytes are kept on both databases."""
    with sessions() as session:  # type: ignore[operator]
        stored = archive(session, Intake(b"UNA:+.? 'UNB", "smtp", "orders@acme.example",
                                         "x" * 500 + ".edi"), NOW)
    with sessions() as session:  # type: ignore[operator]
        assert session.get(InboundMessage, stored.message_id) is not None
