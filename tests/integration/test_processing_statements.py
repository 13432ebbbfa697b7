"""How many statements a batch costs: `read_batch` and `write_batch` send a fixed number of
statements whatever the number of messages (one per table, never one per row or per message),
on SQLite and PostgreSQL; on PostgreSQL the inserts go as COPY."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, select

from gateway.bench.reconcile import PARTNERS, TODAY, make_messages, make_orders
from gateway.bootstrap import READ_ONLY
from gateway.domain.messages import MessageState
from gateway.persistence.bulk import insert_many, insert_rows
from gateway.persistence.models import ExceptionEventRow, LineVersionRow
from gateway.services.alerts import EXCEPTIONS, MARKS
from gateway.services.ingest import Intake, UnitOfWork, archive_many
from gateway.services.orders import import_lines
from gateway.services.processing import (
    DOCUMENTS,
    LINES,
    MESSAGES,
    ORDERS,
    MessageReport,
    read_batch,
    write_batch,
)
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
                      "COPY exception_alerts": 1}
    # No multi-row INSERT ... VALUES left on the write path, and no statement per row: the
    # one INSERT is the alert marks', each replacing the mark with its key (its columns as
    # arrays, `bulk.replace_rows`).
    inserts = {key: count for key, count in statements.sent.items() if key.startswith("INSERT")}
    assert inserts == {"INSERT INTO alert_marks": 1}
    assert write <= WRITE, statements.sent


# What each statement a batch sends to the tables that grow with the history must find its
# rows by, in the index's conditions of its plan: (the statement's words, the table, the
# key columns).
KEYED = ((("FROM documents", "document_number"), "documents", ("kind", "document_number")),
         (("FROM exceptions", "exceptions.order_number ="), "exceptions", ("order_number",)),
         (("FROM alert_marks",), "alert_marks", ("exception_id",)),
         (("inbound_messages.sha256",), "inbound_messages", ("sha256",)))


@POSTGRESQL_ONLY
@pytest.mark.parametrize("statistics", [True, False], ids=["analyzed", "never-analyzed"])
def test_on_postgresql_a_batch_finds_the_rows_it_needs_by_their_keys(
        engine: Engine, statistics: bool) -> None:
    """With a supplier's long history, with the planner's statistics and without (a young
    database before autovacuum's first ANALYZE), the statements a batch sends look its
    orders up by their numbers, the documents sent before by supplier, kind and number, the
    exceptions of its orders by order number, the buyers' marks by exception and earlier
    copies of archived bytes by digest: never a scan of every row, or of every row of the
    supplier (work that grew with the history, batch after batch)."""
    transaction, ids = _world(engine, SMALL)
    with engine.begin() as connection:
        _history(connection)
        if statistics:
            connection.exec_driver_sql("ANALYZE")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                executemany: bool) -> None:
        if statement.lstrip().startswith("SELECT") and not executemany:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        # Responses, then despatch advices repeating no number: both read the documents.
        _read, _write, reports = _process(transaction, ids[:SMALL], Statements())
        with transaction() as session:
            archive_many(session, [Intake(b"UNA:+.? 'UNB+new'", "bench", "as2:bench",
                                          "new.edi")], NOW)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert {r.state for r in reports} == {MessageState.RECONCILED}
    plans: dict[str, str] = {}
    with engine.begin() as connection:
        for statement, parameters in sent:
            plans[statement] = "\n".join(connection.exec_driver_sql(
                f"EXPLAIN {statement}", parameters).scalars())
    orders = [plan for statement, plan in plans.items() if "order_lines" in statement]
    assert len(orders) >= 2
    for plan in orders:
        assert "Seq Scan on order_lines" not in plan, plan
        # Never analyzed, the 2,080 orders (19 pages) may be read whole, which costs about
        # what the index does; with more orders the planner, which knows a table's size
        # without statistics, takes the unique index (100,000 lines: docs/benchmarks.md).
        assert "uq_purchase_orders_number" in plan or not statistics, plan
    for words, table, keys in KEYED:
        found = [plan for statement, plan in plans.items()
                 if all(word in statement for word in words)]
        assert found, f"no statement {words!r} sent"
        for plan in found:
            assert f"Seq Scan on {table}" not in plan, plan
            for key in keys:
                assert key in _index_conditions(plan), plan


def _history(connection: Any) -> None:
    """30,000 more order lines, 5,000 documents, 3,000 exceptions with a buyer's mark each
    and 3,000 archived messages of the supplier the batch comes from."""
    order_ids = insert_many(connection, ORDERS, [
        {"number": f"HIST{n:06d}", "supplier_code": "BENCH", "source": "test",
         "updated_at": NOW} for n in range(2000)])
    insert_many(connection, LINES, [
        {"order_id": order_id, "line_no": str(10 * (n + 1)), "quantity": Decimal(5),
         "state": "open", "despatched_quantity": Decimal(0)}
        for order_id in order_ids for n in range(15)])
    message_ids = insert_many(connection, MESSAGES, [
        {"sha256": f"{n:064x}", "size": 1, "channel": "test", "sender": "test", "raw": b"x",
         "received_at": NOW, "updated_at": NOW, "state": "reconciled", "attempts": 1}
        for n in range(3000)])
    insert_rows(connection, DOCUMENTS, [
        {"message_id": message_ids[0], "message_index": n, "kind": "order_response",
         "message_type": "ORDRSP", "document_number": f"OLD{n:06d}", "supplier_code": "BENCH",
         "canonical": {}, "created_at": NOW}
        for n in range(5000)])
    exception_ids = insert_many(connection, EXCEPTIONS, [
        {"key": f"BENCH|HIST{n:06d}|10|QTY", "code": "QTY_SHORT", "severity": "warning",
         "risk": 1.0, "state": "open", "rule": "test", "supplier_code": "BENCH",
         "order_number": f"HIST{n % 2000:06d}", "occurrences": 1, "created_at": NOW,
         "updated_at": NOW} for n in range(3000)])
    insert_rows(connection, MARKS, [
        {"exception_id": exception_id, "recipient": "buyer@bench.example", "change": "opened",
         "severity": "warning", "heard_at": NOW, "at_once_at": None, "escalated": False}
        for exception_id in exception_ids])


def _index_conditions(plan: str) -> str:
    return "\n".join(line for line in plan.splitlines() if "Index Cond" in line)
