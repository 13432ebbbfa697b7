"""How many statements a batch costs: `read_batch` and `write_batch` send a fixed number of
statements whatever the number of messages (one per table, never one per row or per message),
on SQLite and PostgreSQL; on PostgreSQL the inserts go as COPY."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, select

from gateway.bench.reconcile import PARTNERS, TODAY, make_messages, make_orders
from gateway.bootstrap import READ_ONLY
from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionEventRow, LineVersionRow
from gateway.services.ingest import Intake, UnitOfWork, archive_many
from gateway.services.orders import import_lines
from gateway.services.processing import MessageReport, read_batch, write_batch
from tests.integration.conftest import POSTGRESQL_ONLY, transactions

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# Two batch sizes an order of magnitude apart, both below one `IN (...)` chunk (500 keys).
SMALL, LARGE = 4, 40
# Statements of the read transaction (the messages, the suppliers and their profile), and at
# most of the write transaction (BEGIN, the messages again, locked; the orders, locked; the
# document numbers sent before; the exceptions known; one write per table; on PostgreSQL the
# ids of the new documents and exceptions from their sequences; the buyers' alerts: what each
# buyer heard before, the alerts and their outbox rows, the marks replaced; on SQLite each
# insert whose ids are needed asks for the largest id before and the last rowid after).
READ = 5
WRITE = 25


@dataclass(slots=True)
class Statements:
    """Statements sent through SQLAlchemy (an executemany counts once: psycopg sends its rows
    in one pipeline) and COPY operations opened on the driver, by their first words."""

    sent: Counter[str] = field(default_factory=Counter)
    rows: int = 0

    @property
    def total(self) -> int:
        return sum(self.sent.values())


@pytest.fixture
def statements(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    seen = Statements()

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               executemany: bool) -> None:
        seen.sent[" ".join(statement.split()[:3])] += 1
        seen.rows += len(parameters) if executemany else 1

    copy = psycopg.Cursor.copy

    def counted_copy(cursor: psycopg.Cursor[Any], statement: Any, *args: Any,
                     **kwargs: Any) -> Any:
        seen.sent[" ".join(str(statement).split()[:2])] += 1
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", counted_copy)
    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "before_cursor_execute", before)


def _world(engine: Engine, messages: int) -> tuple[UnitOfWork, list[int]]:
    """The benchmark's orders and messages (ORDRSP, then DESADV for the same orders),
    archived, nothing processed."""
    transaction = transactions(engine, PARTNERS, NOW)
    orders = make_orders(20 * messages)
    with transaction() as session:
        import_lines(session, [line for order in orders for line in order], "bench", NOW)
    raws = make_messages(orders, 2 * messages)
    with transaction() as session:
        ids = [a.message_id for a in archive_many(
            session, [Intake(raw, "bench", "as2:bench", f"m{i}.edi")
                      for i, raw in enumerate(raws)], NOW)]
    return transaction, ids


def _process(transaction: UnitOfWork, ids: list[int],
             statements: Statements) -> tuple[int, int, list[MessageReport]]:
    """The statements of the read and of the write transaction, each counted apart."""
    before = statements.total
    with transaction() as session:
        session.connection(execution_options={READ_ONLY: True})
        batch = read_batch(session, ids, TODAY, NOW)
    read = statements.total - before
    with transaction() as session:
        reports = write_batch(session, batch, TODAY, NOW)
    return read, statements.total - before - read, reports


def test_a_batch_costs_the_same_statements_whatever_its_size(
        engine: Engine, statements: Statements) -> None:
    """Each statement once per batch, whatever its size; the exceptions' UPDATE at most
    twice (rows with new evidence set every column, rows only resolved their state), so
    that which of them a batch needs depends on what its messages say, not on how many."""
    transaction, ids = _world(engine, SMALL + LARGE)
    # Order responses first, then despatch advices for the same orders: each size gets both.
    responses, despatches = ids[: SMALL + LARGE], ids[SMALL + LARGE:]
    reads: set[int] = set()
    for size, start in ((SMALL, 0), (LARGE, SMALL)):
        for kind in (responses, despatches):
            statements.sent.clear()
            read, write, reports = _process(transaction, kind[start: start + size],
                                            statements)
            assert {r.state for r in reports} == {MessageState.RECONCILED}
            reads.add(read)
            assert read <= READ, statements.sent
            assert write <= WRITE, statements.sent
            twice = {key for key, count in statements.sent.items() if count > 1}
            # The messages are read in both transactions; the new documents' and exceptions'
            # ids are looked up the same way.
            assert twice <= {"SELECT inbound_messages.id, inbound_messages.state,",
                             "UPDATE exceptions SET", "SELECT last_insert_rowid()",
                             "SELECT max(id) FROM",
                             "SELECT nextval(pg_get_serial_sequence(%s, 'id'))"}, \
                statements.sent
            assert statements.sent["UPDATE exceptions SET"] <= 2
    assert len(reads) == 1
    # The rows were there to write: tens of line versions and exception events per batch.
    with transaction() as session:
        assert (session.scalar(select(func.count()).select_from(LineVersionRow)) or 0) > \
            10 * LARGE
        assert (session.scalar(select(func.count()).select_from(ExceptionEventRow)) or 0) > 0


@POSTGRESQL_ONLY
def test_on_postgresql_the_rows_are_copied_one_statement_per_table(
        engine: Engine, statements: Statements) -> None:
    transaction, ids = _world(engine, LARGE)
    statements.sent.clear()
    _read, write, _reports = _process(transaction, ids[:LARGE], statements)
    copies = {key: count for key, count in statements.sent.items() if key.startswith("COPY")}
    assert copies == {"COPY documents": 1, "COPY line_versions": 1, "COPY exceptions": 1,
                      "COPY exception_events": 1, "COPY outbound_messages": 1,
                      "COPY exception_alerts": 1, "COPY alert_marks": 1}
    # No multi-row INSERT ... VALUES left on the write path, and no statement per row.
    assert not [key for key in statements.sent if key.startswith("INSERT")]
    assert write <= WRITE, statements.sent
