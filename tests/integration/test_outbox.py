"""The outbox table: drafts enqueued in the caller's transaction, suppressed replies kept with
why, and the operator's retry and cancel, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.domain.outbound import OutboundDraft, OutboundKind, OutboundState, Transport
from gateway.persistence.models import Base, OutboundMessageRow
from gateway.services import outbox

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
Transactions = Callable[[], AbstractContextManager[Session]]


def draft(wire_id: str = "<a1@gateway.example>", **changes: object) -> OutboundDraft:
    values: dict[str, object] = {
        "kind": OutboundKind.ALERT, "transport": Transport.SMTP, "recipient": "buyer@example.com",
        "payload": b"Message-ID: " + wire_id.encode() + b"\r\n\r\nhello\r\n", "wire_id": wire_id,
        "reason": "QTY_SHORT opened on 4500000001/10", "sender": "gateway@example.com",
        "headers": (("X-Signature", "abc"),), "supplier_code": "ACME", "extra": {"lang": "de"}}
    values.update(changes)
    return OutboundDraft(**values)  # type: ignore[arg-type]


@pytest.fixture
def begin(engine: Engine) -> Transactions:
    return make_session_factory(engine).begin


def test_the_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    outbox_tables = [d for d in differences if "outbound" in repr(d)]
    assert outbox_tables == []


def test_a_draft_is_a_pending_row_due_at_once_with_every_field(begin: Transactions) -> None:
    with begin() as session:
        row_id = outbox.enqueue(session, draft(), NOW)
    with begin() as session:
        row = session.get(OutboundMessageRow, row_id)
        assert row is not None
        assert (row.state, row.kind, row.transport, row.recipient, row.sender) == (
            "pending", "alert", "smtp", "buyer@example.com", "gateway@example.com")
        assert row.payload.endswith(b"hello\r\n")
        assert row.headers == [["X-Signature", "abc"]]
        assert row.extra == {"lang": "de"}
        assert row.next_attempt_at is not None
        assert row.next_attempt_at.replace(tzinfo=UTC) == NOW
        assert row.attempts == 0
        assert row.state_reason is None


def test_enqueue_belongs_to_the_callers_transaction(begin: Transactions) -> None:
    class Decided(Exception):
        pass

    def decide_then_fail() -> None:
        with begin() as session:
            outbox.enqueue(session, draft(), NOW)
            raise Decided

    with pytest.raises(Decided):
        decide_then_fail()
    with begin() as session:
        assert session.scalars(select(OutboundMessageRow.id)).all() == []


def test_a_wire_id_names_one_message(begin: Transactions) -> None:
    with begin() as session:
        outbox.enqueue(session, draft(), NOW)
    with pytest.raises(IntegrityError), begin() as session:
        outbox.enqueue(session, draft(), NOW)


def test_a_suppressed_reply_is_kept_with_why_and_never_due(begin: Transactions) -> None:
    with begin() as session:
        row_id = outbox.record_suppressed(
            session, draft(kind=OutboundKind.EMAIL_REPLY), "Auto-Submitted: auto-replied", NOW)
    with begin() as session:
        detail = outbox.show_outbound(session, row_id)
        assert detail is not None
        assert detail.summary.state == "suppressed"
        assert detail.summary.state_reason == "Auto-Submitted: auto-replied"
        assert detail.summary.next_attempt_at is None
        assert outbox.retry(session, [row_id], "it", NOW) == []


def test_operators_cancel_pending_and_retry_failed_or_cancelled(begin: Transactions) -> None:
    with begin() as session:
        first = outbox.enqueue(session, draft("<1@x>"), NOW)
        second = outbox.enqueue(session, draft("<2@x>"), NOW)
        third = outbox.enqueue(session, draft("<3@x>"), NOW)
        session.get_one(OutboundMessageRow, second).state = OutboundState.FAILED.value
        session.get_one(OutboundMessageRow, third).state = OutboundState.SENT.value
    with begin() as session:
        assert outbox.cancel(session, [first, second, third], "alice", NOW) == [first, second]
    with begin() as session:
        assert outbox.retry(session, [first, third], "bob", NOW) == [first]
        listed = {row.id: row.state for row in outbox.list_outbound(session)}
    assert listed == {first: "pending", second: "cancelled", third: "sent"}
    with begin() as session:
        assert outbox.count_by_state(session) == {"pending": 1, "cancelled": 1, "sent": 1}
        pending = outbox.list_outbound(session, state=OutboundState.PENDING)
        assert [row.state_reason for row in pending] == ["retried by bob"]


def test_a_batch_of_drafts_is_enqueued_at_once_in_their_order(begin: Transactions) -> None:
    drafts = [draft(f"<b{n}@x>", recipient=f"buyer{n}@example.com") for n in range(600)]
    with begin() as session:
        ids = outbox.enqueue_many(session, drafts, NOW)
        assert outbox.enqueue_many(session, [], NOW) == []
    with begin() as session:
        stored = {row.id: (row.wire_id, row.recipient, row.state) for row in
                  session.scalars(select(OutboundMessageRow))}
    assert [stored[i] for i in ids] == [(d.wire_id, d.recipient, "pending") for d in drafts]
