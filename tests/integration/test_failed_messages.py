"""A supplier's message that fails for a reason that is not transient reaches the buyer as a
MESSAGE_FAILED exception as well as IT, on SQLite and PostgreSQL; a transient failure does not,
and a retry that processes the message resolves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text, update

from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionRow, InboundMessage
from gateway.services.inbound import release
from gateway.services.ingest import Intake, archive, ingest
from gateway.services.pipeline import give_up, process_ids
from tests.integration.test_store import (
    CONFIRM_SHORT_AND_LATE,
    GLN,
    NOW,
    TODAY,
    import_orders,
    ordrsp,
    sessions,
)

__all__ = ["sessions"]


def failing_documents(engine: Engine) -> None:
    """Every document insert fails in the database itself (a real, not transient, error)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(
                "CREATE TRIGGER refuse BEFORE INSERT ON documents "
                "BEGIN SELECT RAISE(ABORT, 'documents refused'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'documents refused'; END $$"))
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON documents "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse()"))


def take(sessions: Any, raw: bytes, sender: str = "as2:acme") -> int:
    with sessions() as session:
        return archive(session, Intake(raw, "as2", sender, "rsp.edi"), NOW).message_id


def failed_exceptions(sessions: Any) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [tuple(row) for row in session.execute(
            select(ExceptionRow.message_id, ExceptionRow.state, ExceptionRow.severity,
                   ExceptionRow.owner, ExceptionRow.supplier_code, ExceptionRow.actual)
            .where(ExceptionRow.code == "MESSAGE_FAILED").order_by(ExceptionRow.id))]


def test_a_known_suppliers_failed_message_reaches_the_buyer(
        engine: Engine, sessions: Any, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    known = take(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    stranger = take(sessions, ordrsp(CONFIRM_SHORT_AND_LATE, number="RSP-9").replace(
        GLN.encode(), b"9999999999994"), sender="someone@elsewhere.example")
    failing_documents(engine)
    reports = process_ids(sessions, [known, stranger], TODAY, lambda: NOW, max_attempts=3)
    assert [r.state for r in reports] == [MessageState.FAILED, MessageState.QUARANTINED]
    assert reports[0].reason is not None
    assert "documents refused" in reports[0].reason
    [(message_id, state, severity, owner, supplier, actual)] = failed_exceptions(sessions)
    assert (message_id, state, severity, owner, supplier) == (
        known, "open", "high", "anna@buyer.example", "ACME")
    assert actual == reports[0].reason
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse" + (" ON documents" if
                                engine.dialect.name != "sqlite" else "")))
    assert release(sessions, known, TODAY, NOW).state is MessageState.RECONCILED
    assert [row[:2] for row in failed_exceptions(sessions)] == [(known, "resolved")]


def test_a_message_that_never_finishes_reaches_the_buyer(sessions: Any,
                                                         tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    known = take(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    with sessions() as session:
        session.execute(update(InboundMessage).values(attempts=3))
    [report] = process_ids(sessions, [known], TODAY, lambda: NOW, max_attempts=3)
    assert report.state is MessageState.FAILED
    assert [row[:3] for row in failed_exceptions(sessions)] == [(known, "open", "high")]


def test_a_transient_failure_is_for_it_alone(sessions: Any, tmp_path: Path) -> None:
    import_orders(sessions, tmp_path)
    known = take(sessions, ordrsp(CONFIRM_SHORT_AND_LATE))
    [report] = give_up(sessions, [known], 8, "OperationalError: connection refused", NOW)
    assert report.state is MessageState.FAILED
    assert failed_exceptions(sessions) == []


def test_ingest_tells_the_buyer_of_a_failed_email(engine: Engine, sessions: Any,
                                                  tmp_path: Path) -> None:
    """`gateway ingest`'s path: an email whose From is the supplier's address."""
    import_orders(sessions, tmp_path)
    failing_documents(engine)
    raw = (b"From: Acme Orders <orders@acme.example>\r\nSubject: RE: PO 4500000001\r\n"
           b"Message-ID: <f-1@acme.example>\r\n\r\n"
           b"PO 4500000001 line 10: 100 pcs confirmed, delivery 2026-12-05\r\n")
    [report] = ingest(sessions, [Intake(raw, "smtp", "bounce@mailer.example")], TODAY, NOW)
    assert report.state is MessageState.FAILED
    assert [row[:5] for row in failed_exceptions(sessions)] == [
        (report.message_id, "open", "high", "anna@buyer.example", "ACME")]
