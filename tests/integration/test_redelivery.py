"""The same document delivered again under another envelope or through another channel is a
duplicate delivery: recorded, linked to the first, and nothing applied twice; on SQLite and
PostgreSQL. A used document number with other content is still reported (DUPLICATE_DOCUMENT)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionRow, InboundMessage, LineVersionRow
from gateway.services.ingest import Intake, ingest
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import read_partner_file
from tests.integration.conftest import transactions

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
ORDRSP = (DEMO / "messages" / "01_albrecht_ordrsp_4500012345.edi").read_bytes()


def _world(engine: Engine):  # type: ignore[no-untyped-def]
    transaction = transactions(engine, read_partner_file(DEMO / "partners.toml"), NOW)
    lines, errors = read_order_file(DEMO / "orders.csv")
    assert not errors
    with transaction() as session:
        import_lines(session, lines, "orders.csv", NOW)
    return transaction


def _as_email(edifact: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "edi@schraubenwerk-albrecht.example"
    mail["Subject"] = "ORDRSP ALB-AB-26-11873"
    mail["Message-ID"] = "<resend-1@schraubenwerk-albrecht.example>"
    mail.set_content("Our order response, as sent by EDI this morning.")
    mail.add_attachment(edifact, maintype="application", subtype="edifact",
                        filename="ordrsp.edi")
    return bytes(mail)


def _counts(transaction) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with transaction() as session:
        versions = session.scalar(select(func.count()).select_from(LineVersionRow))
        exceptions = session.scalar(select(func.count()).select_from(ExceptionRow))
    return int(versions or 0), int(exceptions or 0)


def test_an_interchange_uploaded_then_emailed_is_applied_once(engine: Engine) -> None:
    transaction = _world(engine)
    [first] = ingest(transaction, [Intake(ORDRSP, "upload", "upload:anna")], TODAY, NOW)
    assert first.state is MessageState.RECONCILED
    applied = _counts(transaction)
    assert applied[0] > 0
    # Another channel, other bytes (an email around it), and a new interchange reference.
    resent = ORDRSP.replace(b"+ALB0004711'", b"+ALB0004799'")
    assert resent != ORDRSP
    reports = ingest(transaction, [
        Intake(_as_email(ORDRSP), "smtp", "bounce@mailout.example"),
        Intake(resent, "as2", "as2:albrecht"),
    ], TODAY, NOW)
    assert [r.state for r in reports] == [MessageState.DUPLICATE] * 2
    assert [r.duplicate_of for r in reports] == [first.message_id] * 2
    assert _counts(transaction) == applied
    with transaction() as session:
        rows = session.execute(select(InboundMessage.state, InboundMessage.duplicate_of_id,
                                      InboundMessage.state_reason)
                               .where(InboundMessage.id.in_([r.message_id for r in reports])))
        for state, duplicate_of, reason in rows:
            assert (state, duplicate_of) == ("duplicate", first.message_id)
            assert f"message #{first.message_id}" in reason


def test_a_used_number_with_other_content_is_still_reported(engine: Engine) -> None:
    transaction = _world(engine)
    ingest(transaction, [Intake(ORDRSP, "upload", "upload:anna")], TODAY, NOW)
    changed = ORDRSP.replace(b"QTY+113:80:PCE", b"QTY+113:90:PCE")
    assert changed != ORDRSP
    [report] = ingest(transaction, [Intake(changed, "upload", "upload:anna")], TODAY, NOW)
    assert report.state is MessageState.RECONCILED
    assert report.duplicate_of is None
    assert "DUPLICATE_DOCUMENT" in {d.code.value for d in report.discrepancies}


def test_a_failed_first_attempt_is_not_an_original(engine: Engine) -> None:
    transaction = _world(engine)
    [first] = ingest(transaction, [Intake(ORDRSP, "upload", "upload:anna")], TODAY, NOW)
    # Its first attempt ended failed (IT gave up on it): the same delivery again is no copy of
    # it, and is processed on its own.
    with transaction() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == first.message_id)
                        .values(state="failed"))
    [again] = ingest(transaction, [Intake(ORDRSP, "upload", "upload:anna")], TODAY, NOW)
    assert again.duplicate_of is None
    assert again.message_id != first.message_id
    assert again.state is MessageState.RECONCILED
