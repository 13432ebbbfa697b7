"""`process_batch` (gateway.services.processing) on SQLite and on PostgreSQL: a batch judges
and applies its messages as one by one would, and two workers' batches lose nothing."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from gateway.domain.messages import MessageState
from gateway.persistence.models import DocumentRow, ExceptionEventRow, ExceptionRow, LineVersionRow
from gateway.services.processing import process_batch
from tests.integration.test_ingest import (
    NOW,
    ORDERS_CSV,
    OTHER_GLN,
    TODAY,
    archived,
    desadv,
    import_orders,
    ingest,
    line_10,
    ordrsp,
    sessions,
)

__all__ = ["sessions"]


def test_a_repeated_number_is_caught_when_the_first_copy_shares_the_batch(
        sessions: object, tmp_path: Path) -> None:
    """process_batch([already processed, new]) must judge the new one as process() does.
    The already-reconciled copy is not applied again, but its document number still counts
    as sent before, so the new one is a DUPLICATE_DOCUMENT and its 60 are not applied."""
    import_orders(sessions, tmp_path)
    first, _ = ingest(sessions, desadv("40", "ASN-1"))
    second = archived(sessions, desadv("60", "ASN-1", ref="IC2"))
    with sessions() as session:  # type: ignore[operator]
        reports = process_batch(session, [first, second], TODAY, NOW)
    assert [d.code.value for d in reports[1].discrepancies] == ["DUPLICATE_DOCUMENT"]
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).despatched_quantity == Decimal(40)


def test_the_same_message_twice_in_one_batch_is_applied_once(sessions: object,
                                                            tmp_path: Path) -> None:
    """process_batch is idempotent: a batch naming a message twice (a re-enqueued id merged
    into a batch) stores its document and applies it once."""
    import_orders(sessions, tmp_path)
    message_id = archived(sessions, desadv("40", "ASN-1"))
    with sessions() as session:  # type: ignore[operator]
        reports = process_batch(session, [message_id, message_id], TODAY, NOW)
    assert reports[1].discrepancies == []
    with sessions() as session:  # type: ignore[operator]
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1
        assert session.scalar(select(func.count()).select_from(ExceptionRow).where(
            ExceptionRow.code == "DUPLICATE_DOCUMENT")) == 0


def test_an_order_without_supplier_answered_by_two_partners_in_one_batch(
        sessions: object, tmp_path: Path) -> None:
    """Orders without a supplier code are open to every supplier. Two suppliers' despatches
    of one such line in one batch add up as they do one by one: 100, not 60."""
    import_orders(sessions, tmp_path, ORDERS_CSV.replace(",ACME,", ",,"))
    first = archived(sessions, desadv("40", "ASN-1"))
    second = archived(sessions, desadv("60", "FWD-1", sender=OTHER_GLN), sender="as2:fwd")
    with sessions() as session:  # type: ignore[operator]
        reports = process_batch(session, [first, second], TODAY, NOW)
    assert [r.state for r in reports] == [MessageState.RECONCILED] * 2
    with sessions() as session:  # type: ignore[operator]
        assert line_10(session).despatched_quantity == Decimal(100)


def test_concurrent_batches_do_not_lose_a_despatch(sessions: object, tmp_path: Path) -> None:
    """Two workers, each a despatch of the same line. The second waits for the first's lock
    and then starts from its result, so 40 + 60 ends as 100, not 60."""
    import_orders(sessions, tmp_path)
    first = archived(sessions, desadv("40", "ASN-1"))
    second = archived(sessions, desadv("60", "ASN-2"))
    errors: list[BaseException] = []

    def worker_b() -> None:
        try:
            with sessions() as session:  # type: ignore[operator]
                process_batch(session, [second], TODAY, NOW)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    with sessions() as session:  # type: ignore[operator]
        process_batch(session, [first], TODAY, NOW)
        session.flush()
        # B reads the line before A commits; its writes wait for A's lock, then go through.
        b = threading.Thread(target=worker_b)
        b.start()
        b.join(timeout=2)
        assert b.is_alive()
    b.join(timeout=60)
    assert not errors, errors
    with sessions() as session:  # type: ignore[operator]
        assert session.scalar(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.kind == "despatch")) == 2
        assert line_10(session).despatched_quantity == Decimal(100)


def test_a_batch_applies_its_messages_in_order_like_one_by_one(sessions: object,
                                                               tmp_path: Path) -> None:
    """The overlay and the ledger within one batch. Short 80,
    short 70 (same exception, seen again), 100 (resolved), then a despatch of 60 against the
    promise the batch itself set."""
    import_orders(sessions, tmp_path)
    ids = [archived(sessions, raw) for raw in (
        ordrsp("80", "RSP-1"), ordrsp("70", "RSP-2"), ordrsp("100", "RSP-3"),
        desadv("60", "ASN-1"))]
    with sessions() as session:  # type: ignore[operator]
        reports = process_batch(session, ids, TODAY, NOW)
    assert [[d.code.value for d in r.discrepancies] for r in reports] == [
        ["QTY_SHORT"], ["QTY_SHORT"], [], ["SHORT_SHIPPED"]]
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        assert (line.state, line.confirmed_quantity, line.despatched_quantity) == (
            "partly_despatched", Decimal(100), Decimal(60))
        short = session.scalars(select(ExceptionRow).where(
            ExceptionRow.code == "QTY_SHORT")).one()
        assert (short.state, short.occurrences, short.actual) == ("resolved", 2, "70 PCE")
        trail = session.scalars(select(ExceptionEventRow.action).where(
            ExceptionEventRow.exception_id == short.id).order_by(ExceptionEventRow.id)).all()
        assert trail == ["raised", "seen_again", "resolved"]
        assert session.scalar(select(func.count()).select_from(LineVersionRow).where(
            LineVersionRow.message_id.is_not(None))) == 4
