"""Processing reads (parses, maps) in one transaction and writes in another: what changed in
between is seen by the write, so nothing is applied twice and no update is lost; on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select

from gateway.bootstrap import READ_ONLY
from gateway.domain.messages import MessageState
from gateway.persistence.models import DocumentRow, LineVersionRow, OrderLineRow, PurchaseOrder
from gateway.services.ingest import Intake, UnitOfWork, archive_many
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import read_partner_file
from gateway.services.processing import process_batch, read_batch, write_batch
from tests.integration.conftest import transactions

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
ORDRSP = (DEMO / "messages" / "01_albrecht_ordrsp_4500012345.edi").read_bytes()
DESADV_1 = (DEMO / "messages" / "06_albrecht_desadv_4500012345_1.edi").read_bytes()
DESADV_2 = (DEMO / "messages" / "10_albrecht_desadv_4500012345_2.edi").read_bytes()


def _world(engine: Engine) -> UnitOfWork:
    transaction = transactions(engine, read_partner_file(DEMO / "partners.toml"), NOW)
    lines, errors = read_order_file(DEMO / "orders.csv")
    assert not errors
    with transaction() as session:
        import_lines(session, lines, "orders.csv", NOW)
    return transaction


def _archived(transaction: UnitOfWork, *raws: bytes) -> list[int]:
    with transaction() as session:
        return [a.message_id for a in archive_many(
            session, [Intake(raw, "upload", "upload:anna") for raw in raws], NOW)]


def _despatched_on_line_10(transaction: UnitOfWork) -> Decimal | None:
    """The despatched quantity of order 4500012345's line 10 as committed."""
    with transaction() as session:
        return session.scalar(
            select(OrderLineRow.despatched_quantity).join(PurchaseOrder)
            .where(PurchaseOrder.number == "4500012345", OrderLineRow.line_no == "10"))


def _counts(transaction: UnitOfWork) -> tuple[int, int]:
    with transaction() as session:
        return (int(session.scalar(select(func.count()).select_from(LineVersionRow)) or 0),
                int(session.scalar(select(func.count()).select_from(DocumentRow)) or 0))


def test_a_message_processed_by_another_worker_after_it_was_read_is_not_applied_again(
        engine: Engine) -> None:
    transaction = _world(engine)
    [message_id] = _archived(transaction, ORDRSP)
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        stale = read_batch(session, [message_id], TODAY, NOW)
    assert [r.state for r in stale.reports] == [MessageState.PARSED]
    # Meanwhile another worker (a redelivered task) processes it whole.
    with transaction() as session:
        [other] = process_batch(session, [message_id], TODAY, NOW)
    assert other.state is MessageState.RECONCILED
    assert not other.found_done
    applied = _counts(transaction)
    assert applied[0] > 0
    with transaction() as session:
        [report] = write_batch(session, stale, TODAY, NOW)
    assert (report.state, report.documents, report.discrepancies) == (
        MessageState.RECONCILED, 0, [])
    # Told apart from a message this run reconciled (the worker logs it so).
    assert report.found_done
    assert _counts(transaction) == applied


def test_the_write_starts_from_the_lines_as_they_are_when_it_writes(engine: Engine) -> None:
    """Two despatch advices for the same line (50, then 30 pieces), both read before either
    is written: the second adds to the line as the first left it (the lines are read in the
    write transaction), so none of the quantity is lost."""
    transaction = _world(engine)
    first, second = _archived(transaction, DESADV_1, DESADV_2)
    batches = []
    for message_id in (first, second):
        with transaction() as session:
            session.connection(execution_options={READ_ONLY: True})
            batches.append(read_batch(session, [message_id], TODAY, NOW))
    for batch in batches:
        with transaction() as session:
            [report] = write_batch(session, batch, TODAY, NOW)
        assert report.state is MessageState.RECONCILED
    assert _despatched_on_line_10(transaction) == Decimal(80)


def test_a_line_changed_by_anyone_after_it_was_read_is_written_from_its_new_value(
        engine: Engine) -> None:
    """The read step reads the order lines too (PostgreSQL); a line written after that, by
    any writer, is read again by the write step: the despatch adds to the value it finds."""
    transaction = _world(engine)
    [message_id] = _archived(transaction, DESADV_1)
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        batch = read_batch(session, [message_id], TODAY, NOW)
    with transaction() as session:
        line = session.scalars(
            select(OrderLineRow).join(PurchaseOrder)
            .where(PurchaseOrder.number == "4500012345", OrderLineRow.line_no == "10")).one()
        line.despatched_quantity = Decimal(7)
    with transaction() as session:
        [report] = write_batch(session, batch, TODAY, NOW)
    assert report.state is MessageState.RECONCILED
    assert _despatched_on_line_10(transaction) == Decimal(57)
