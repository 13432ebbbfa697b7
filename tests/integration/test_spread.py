"""`gateway ingest` spread over worker processes (gateway.services.spread): every message
processed once, each order line's versions written in the messages' arrival order though
batches are written side by side, and a transient error or a lost worker leaving the rest to
this process, still in arrival order. On SQLite the same call processes in this process."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from gateway.bench.reconcile import GLN, PARTNERS, make_messages, make_orders
from gateway.bootstrap import make_engine, make_session_factory, open_database
from gateway.config import PipelineSettings, Settings
from gateway.domain.messages import MessageState
from gateway.persistence.models import LineVersionRow, OrderLineRow, PurchaseOrder
from gateway.services.ingest import Intake, ingest
from gateway.services.orders import ImportedLine, import_lines
from gateway.services.spread import Spread
from gateway.services.unit_of_work import UnitOfWork
from tests.integration.conftest import edifact_interchange, transactions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
ROUNDS = 8
BATCH = 2
PARENT = os.getpid()
GATEWAY = [sys.executable, "-c", "from gateway.cli import main; main()"]
IN_A_TERMINAL = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "from gateway.cli import main; main()")


def confirmation(order: list[ImportedLine], round_: int, reference: str) -> bytes:
    """An order response confirming `round_ + 1` quarters of every line of `order`."""
    body = f"ORDRSP+'BGM+231+{reference}+4'RFF+ON:{order[0].order_number}'"
    for index, line in enumerate(order, 1):
        quantity = line.quantity * (round_ + 1) / ROUNDS
        body += (f"LIN+{index}+5+{line.gtin}:EN'QTY+113:{quantity}:PCE'"
                 f"RFF+ON:{line.order_number}:{line.line_no}'")
    return edifact_interchange(body, reference, GLN)


@pytest.fixture
def orders(engine: Engine) -> list[list[ImportedLine]]:
    made = make_orders(20)
    with transactions(engine, PARTNERS, NOW)() as session:
        import_lines(session, [line for order in made for line in order], "test", NOW)
    return made


def rounds_of(orders: list[list[ImportedLine]]) -> list[Intake]:
    """Each order confirmed `ROUNDS` times, round by round: an order comes back every few
    batches, so batches that share it are in flight at once."""
    return [Intake(confirmation(order, round_, f"R{round_}O{number}"), "cli", "as2:bench",
                   f"r{round_}o{number}.edi")
            for round_ in range(ROUNDS) for number, order in enumerate(orders)]


def spread_over(processes: int, settings: Settings,
                connect: Callable[[], tuple[UnitOfWork, Callable[[], None]]] | None = None
                ) -> Spread:
    return Spread(processes, connect or (lambda: open_database(settings)))


def assert_applied_in_arrival_order(session: Session, orders: list[list[ImportedLine]]) -> None:
    """Every line confirmed by the last round, and its versions' messages in arrival order."""
    versions: dict[int, list[int]] = {}
    for line_id, message_id in session.execute(
            select(LineVersionRow.order_line_id, LineVersionRow.message_id)
            .where(LineVersionRow.message_id.is_not(None)).order_by(LineVersionRow.id)):
        versions.setdefault(line_id, []).append(message_id)
    confirmed = {(number, line_no): quantity for number, line_no, quantity in session.execute(
        select(PurchaseOrder.number, OrderLineRow.line_no, OrderLineRow.confirmed_quantity)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLineRow.order_id))}
    assert len(versions) == sum(len(order) for order in orders)
    for messages in versions.values():
        assert len(messages) == ROUNDS
        assert messages == sorted(messages)
    for order in orders:
        for line in order:
            assert confirmed[(line.order_number, line.line_no)] == Decimal(line.quantity)


def test_batches_written_side_by_side_apply_each_order_in_arrival_order(
        engine: Engine, settings: Settings, orders: list[list[ImportedLine]]) -> None:
    transaction = transactions(engine, PARTNERS, NOW)
    intakes = rounds_of(orders)
    reports = ingest(transaction, intakes, TODAY, NOW, BATCH,
                     spread=spread_over(3, settings))
    assert [r.state for r in reports] == [MessageState.RECONCILED] * len(intakes)
    assert len({r.message_id for r in reports}) == len(intakes)
    with transaction() as session:
        assert_applied_in_arrival_order(session, orders)


def lock_timeout(engine: Engine) -> Engine:
    """Waits for a row lock at most 300 ms on PostgreSQL: past it, a transient error."""
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def short_waits(connection: object, _record: object) -> None:
            with connection.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute("SET lock_timeout = '300ms'")
    return engine


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_a_transient_error_stops_the_spread_and_this_process_does_the_rest_in_order(
        engine: Engine, settings: Settings, orders: list[list[ImportedLine]],
        caplog: pytest.LogCaptureFixture) -> None:
    lock_timeout(engine)
    transaction = transactions(engine, PARTNERS, NOW)
    holder = engine.connect()
    held = holder.begin()
    # The second order's lines held by another transaction: its first batch times out in a
    # worker, and again in this process until the back-off's wait lets them go.
    holder.execute(text("SELECT l.id FROM order_lines l JOIN purchase_orders o "
                        "ON o.id = l.order_id WHERE o.number = :n FOR UPDATE"),
                   {"n": orders[1][0].order_number})
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if held.is_active:
            held.commit()

    def connect() -> tuple[UnitOfWork, Callable[[], None]]:
        worker = lock_timeout(make_engine(settings))
        return make_session_factory(worker).begin, worker.dispose

    intakes = rounds_of(orders)
    with caplog.at_level(logging.WARNING, "gateway.services.spread"):
        reports = ingest(transaction, intakes, TODAY, NOW, BATCH,
                         PipelineSettings(retry_base_seconds=0.01), wait=wait,
                         spread=spread_over(2, settings, connect))
    holder.close()
    assert [r.state for r in reports] == [MessageState.RECONCILED] * len(intakes)
    assert waits
    assert any("spread stopped at batch 0" in r.getMessage() for r in caplog.records)
    with transaction() as session:
        assert_applied_in_arrival_order(session, orders)


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_a_lost_worker_leaves_its_batch_and_the_rest_to_this_process(
        engine: Engine, settings: Settings, orders: list[list[ImportedLine]],
        caplog: pytest.LogCaptureFixture) -> None:
    transaction = transactions(engine, PARTNERS, NOW)

    def connect() -> tuple[UnitOfWork, Callable[[], None]]:
        opened, close = open_database(settings)
        count = iter(range(10**6))

        def dies_at_its_fifth() -> AbstractContextManager[Session]:
            if next(count) == 4 and os.getpid() != PARENT:
                os._exit(3)    # killed: no rollback, no goodbye, the pipe just closes
            return opened()
        return dies_at_its_fifth, close

    intakes = rounds_of(orders)
    with caplog.at_level(logging.WARNING, "gateway.services.spread"):
        reports = ingest(transaction, intakes, TODAY, NOW, BATCH,
                         spread=spread_over(2, settings, connect))
    assert [r.state for r in reports] == [MessageState.RECONCILED] * len(intakes)
    assert any("was lost (exit code 3)" in r.getMessage() for r in caplog.records)
    with transaction() as session:
        assert_applied_in_arrival_order(session, orders)
        # The lost worker's claimed messages kept the start it counted.
        started_twice = session.scalar(text(
            "SELECT count(*) FROM inbound_messages WHERE attempts > 1"))
        assert started_twice



def incoming(engine: Engine, tmp_path: Path, count: int) -> Path:
    """The benchmark's orders (3,000 lines) imported, and `count` of its messages as files."""
    made = make_orders(3_000)
    with transactions(engine, PARTNERS, NOW)() as session:
        import_lines(session, [line for order in made for line in order], "test", NOW)
    folder = tmp_path / "incoming"
    folder.mkdir()
    for index, raw in enumerate(make_messages(made, count)):
        (folder / f"m{index:04d}.edi").write_bytes(raw)
    return folder


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_gateway_ingest_of_more_than_a_batch_of_files_in_worker_processes(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """As an operator runs it: 240 files (two batches), `--processes 2`, one JSON line each."""
    folder = incoming(engine, tmp_path, 240)
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url}
    done = subprocess.run([*GATEWAY, "--today", TODAY.isoformat(), "ingest", "--processes",
                           "2", "--json", str(folder)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["state"] for r in reports] == ["reconciled"] * 240
    assert len({r["message_id"] for r in reports}) == 240
    with engine.connect() as connection:
        assert connection.scalar(text(
            "SELECT count(*) FROM inbound_messages WHERE state = 'reconciled'")) == 240


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_ctrl_c_ends_the_workers_with_each_message_done_once_or_left_received(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) while worker processes write: the command exits
    130, a batch being written finishes, one waiting is given back with its start taken
    back, and no worker is left behind."""
    folder = incoming(engine, tmp_path, 1_000)
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url}
    # As from a terminal: Ctrl-C raises KeyboardInterrupt. A process started with SIGINT
    # ignored (a background job of a non-interactive shell, as a CI runner may start the
    # tests) keeps ignoring it, and Python keeps it so in its children.
    command = subprocess.Popen([sys.executable, "-c", IN_A_TERMINAL, "ingest", "--processes",
                                "2", "--json", str(folder)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    count = text("SELECT count(*) FROM inbound_messages WHERE state = 'reconciled'")
    deadline = time.monotonic() + 120
    with engine.connect() as connection:
        while not connection.scalar(count) and time.monotonic() < deadline:
            time.sleep(0.05)
            connection.rollback()
    os.killpg(command.pid, signal.SIGINT)
    interrupted = time.monotonic()
    _out, err = command.communicate(timeout=60)
    # A worker that waited for a pipe nobody would close kept it 10 s a worker (the join's
    # timeout), then SIGTERM.
    assert time.monotonic() - interrupted < 8
    assert command.returncode == 130, err
    with engine.connect() as connection:
        states = dict(connection.execute(text(
            "SELECT state, count(*) FROM inbound_messages GROUP BY state")).all())
        started = connection.scalar(text(
            "SELECT count(*) FROM inbound_messages WHERE state = 'received' AND attempts > 0"))
        versions = connection.scalar(text(
            "SELECT count(DISTINCT message_id) FROM line_versions"))
    assert sum(states.values()) == 1_000
    assert set(states) <= {"reconciled", "received"}
    assert 0 < states.get("reconciled", 0) < 1_000
    assert versions == states["reconciled"]
    assert started == 0
    assert subprocess.run(["pgrep", "-s", str(command.pid)], check=False).returncode == 1


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_documents_naming_no_order_share_their_suppliers_exception_side_by_side(
        engine: Engine, settings: Settings, orders: list[list[ImportedLine]]) -> None:
    """Despatch advices that name no order, one a batch, in three processes: their
    UNKNOWN_ORDER problem has no order number, so it is one exception row per supplier, seen
    and counted once by each batch in turn."""
    transaction = transactions(engine, PARTNERS, NOW)
    line = orders[0][0]
    intakes = [Intake(edifact_interchange(
        f"DESADV+'BGM+351+ASN{number}+9'LIN+1++{line.gtin}:EN'QTY+12:5:PCE'",
        f"A{number}", GLN), "cli", "as2:bench", f"a{number}.edi") for number in range(12)]
    reports = ingest(transaction, intakes, TODAY, NOW, 1, spread=spread_over(3, settings))
    assert [r.state for r in reports] == [MessageState.RECONCILED] * len(intakes)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT occurrences FROM exceptions WHERE code = 'UNKNOWN_ORDER'")).all()
    assert [tuple(row) for row in rows] == [(12,)]
