"""`gateway bench pipeline`: the Celery pipeline on PostgreSQL + Redis against `gateway ingest`.

The orders and messages of `gateway bench reconcile` (100,000 open order lines, 10,000 ORDRSP
then DESADV), three sides in one run, each on a fresh copy of one scratch database holding the
orders (`CREATE DATABASE ... TEMPLATE`):

- `sync`: the synchronous path, `ingest` in this process, 200 messages per transaction: the
  baseline. Latency is the time from the start of a message's batch to its commit.
- `celery-1w`, `celery-2w`: one, then two `gateway worker -c 1` processes (each what one
  worker machine runs: a Celery consumer of its own with one prefork pool process). This
  process archives the messages as a channel does (`archive_many` per 200, commit, then hand
  the ids to the real `BatchPublisher`), the clock starts at the first archive and stops when
  the database holds no `received` message any more. Latency is `updated_at - received_at` of
  each message, from the database.

Every side must end with each message `reconciled` and the same rows (documents, line
versions, exceptions) as the synchronous side: exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import Engine, func, select, text

from gateway.bench.build import current_build
from gateway.bench.common import (
    BenchmarkError,
    database_url,
    percentile,
    scratch_server,
)
from gateway.bench.reconcile import PARTNERS, TODAY, make_messages, make_orders
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import PipelineSettings, Settings
from gateway.domain.messages import MessageState
from gateway.persistence.models import (
    DocumentRow,
    ExceptionEventRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
)
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake, archive_many, ingest
from gateway.services.orders import ImportedLine, import_lines
from gateway.services.partners import load_partners

BATCH = 200                 # messages per archiving (and ingest) transaction, as a channel
TARGET_SCALE = 1.4          # two workers against one
TARGET_CELERY_VS_SYNC = 0.5  # one worker against the synchronous path
SIDES = (("sync", "synchronous ingest", 0),
         ("celery-1w", "Celery, 1 worker", 1),
         ("celery-2w", "Celery, 2 workers", 2))
# -P: not the working directory first on the path, so that the workers run the installed build
# (the compiled one under `make bench`), not the checkout's sources.
PYTHON = [sys.executable, "-P", "-c"]
GATEWAY = [*PYTHON, "from gateway.cli import main; main()"]
WORKER_READY = " ready."


@dataclass(frozen=True, slots=True)
class PipelineSide:
    name: str
    label: str
    workers: int
    seconds: float
    messages: int
    latencies_ms: tuple[float, ...]
    rows: dict[str, int]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def worker_build() -> str:
    """The build a worker subprocess loads (its processing modules imported)."""
    return subprocess.run(
        [*PYTHON, "import gateway.services.processing\n"
                  "from gateway.bench.build import current_build\n"
                  "print(current_build().label)"],
        capture_output=True, text=True, check=True, timeout=120).stdout.strip()


# -- the databases ----------------------------------------------------------------------------


def fill_template(settings: Settings, orders: list[list[ImportedLine]]) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        now = datetime.now(UTC)
        with make_session_factory(engine).begin() as session:
            load_partners(session, PARTNERS, now)
            import_lines(session, [line for order in orders for line in order], "bench", now)
    finally:
        engine.dispose()   # CREATE DATABASE ... TEMPLATE needs it unused


def intakes_of(messages: list[bytes]) -> list[Intake]:
    return [Intake(raw, "bench", "as2:bench", f"m{index}.edi")
            for index, raw in enumerate(messages)]


def effect_counts(engine: Engine) -> dict[str, int]:
    """The rows that processing a message twice would add to (and the exactly-once tests
    compare with a reference run)."""
    with engine.connect() as connection:
        found = {table.__tablename__: connection.execute(
            select(func.count()).select_from(table)).scalar_one()
            for table in (DocumentRow, LineVersionRow, ExceptionRow, ExceptionEventRow)}
        found["duplicate versions"] = connection.execute(text(
            "SELECT count(*) FROM (SELECT message_id, order_line_id, kind, position "
            "FROM line_versions WHERE message_id IS NOT NULL "
            "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) AS twice")).scalar_one()
    return found


def row_counts(engine: Engine) -> dict[str, int]:
    """`effect_counts`, and the states the messages reached."""
    found = effect_counts(engine)
    with engine.connect() as connection:
        for state, number in connection.execute(
                select(InboundMessage.state, func.count()).group_by(InboundMessage.state)):
            found[f"messages {state}"] = number
    return found


# -- the sides --------------------------------------------------------------------------------


def sync_side(settings: Settings, intakes: list[Intake]) -> PipelineSide:
    engine = make_engine(settings)
    transaction = make_session_factory(engine).begin
    latencies: list[float] = []
    try:
        started = time.perf_counter()
        for first in range(0, len(intakes), BATCH):
            begin = time.perf_counter()
            batch = intakes[first : first + BATCH]
            reports = ingest(transaction, batch, TODAY, datetime.now(UTC), BATCH)
            latencies += [(time.perf_counter() - begin) * 1000] * len(batch)
            if any(r.state is not MessageState.RECONCILED for r in reports):
                raise BenchmarkError(f"bench messages not reconciled: {reports[0]}")
        elapsed = time.perf_counter() - started
        rows = row_counts(engine)
    finally:
        engine.dispose()
    name, label, _ = SIDES[0]
    return PipelineSide(name, label, 0, elapsed, len(intakes), tuple(latencies), rows)


def worker_env(settings: Settings, redis_url: str, queue: str, var_dir: Path,
               base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update({"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_BROKER_URL": redis_url,
                "GATEWAY_PIPELINE_QUEUE": queue, "GATEWAY_VAR_DIR": str(var_dir)})
    return env


class Worker:
    """A `gateway worker -c 1` subprocess in a process group of its own, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("ab")
        self.popen = subprocess.Popen([*GATEWAY, "worker", "-c", "1"], env=env,
                                      stdout=self._file, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check(self) -> None:
        if self.popen.poll() is not None:
            raise BenchmarkError(f"worker exited {self.popen.returncode}:\n"
                                 f"{self.output()[-2000:]}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while WORKER_READY not in self.output():
            self.check()
            if time.monotonic() > deadline:
                raise BenchmarkError(f"worker not ready in {timeout:.0f} s:\n"
                                     f"{self.output()[-2000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(30)
        self._file.close()


def celery_side(settings: Settings, redis_url: str, intakes: list[Intake], workers: int,
                var_dir: Path, step: Callable[[str], None]) -> PipelineSide:
    from gateway.services.dispatch import BatchPublisher
    from gateway.tasks.app import create_app, publish

    name, label, _ = SIDES[workers]
    queue = f"gateway-bench-{uuid.uuid4().hex[:10]}"
    pipeline = PipelineSettings(queue=queue)
    engine = make_engine(settings)
    transaction = make_session_factory(engine).begin
    env = worker_env(settings, redis_url, queue, var_dir)
    running = [Worker(env, var_dir / f"{name}-worker{n}.log") for n in range(workers)]
    app = create_app(Settings(settings.database_url, var_dir, redis_url), pipeline)
    publisher = BatchPublisher(lambda ids: publish(app, ids), pipeline.batch_size)
    try:
        for worker in running:
            worker.wait_ready()
        publisher.start()
        step(f"{label}: archiving and publishing {len(intakes):,} messages")
        started = time.perf_counter()
        for first in range(0, len(intakes), BATCH):
            with transaction() as session:
                archived = archive_many(session, intakes[first : first + BATCH],
                                        datetime.now(UTC))
            publisher.dispatch([a.message_id for a in archived])
        step(f"{label}: waiting for every message to be processed")
        elapsed = _wait_processed(engine, running, started, timeout=max(120.0,
                                                                        len(intakes) / 10))
        publisher.stop()
        if publisher.dropped:
            raise BenchmarkError(f"{publisher.dropped} message id(s) were not published")
        with engine.connect() as connection:
            latencies = tuple(float(ms) for (ms,) in connection.execute(text(
                "SELECT EXTRACT(EPOCH FROM updated_at - received_at) * 1000 "
                "FROM inbound_messages WHERE state = 'reconciled'")))
        rows = row_counts(engine)
    finally:
        publisher.stop()
        for worker in running:
            worker.stop()
        app.close()
        engine.dispose()
        _delete_queue(redis_url, queue)
    return PipelineSide(name, label, workers, elapsed, len(intakes), latencies, rows)


def _wait_processed(engine: Engine, workers: list[Worker], started: float,
                    timeout: float) -> float:
    """Seconds from `started` until no message is `received` (polled every 20 ms)."""
    query = select(func.count()).where(InboundMessage.state == MessageState.RECEIVED)
    with engine.connect() as connection:
        while True:
            waiting = connection.execute(query).scalar_one()
            connection.rollback()
            moment = time.perf_counter()
            if not waiting:
                return moment - started
            if moment - started > timeout:
                raise BenchmarkError(f"{waiting} message(s) still `received` after "
                                     f"{timeout:.0f} s")
            for worker in workers:
                worker.check()
            time.sleep(0.02)


def _delete_queue(redis_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(queue)
    except redis.RedisError:
        pass
    finally:
        client.close()


# -- the run ----------------------------------------------------------------------------------


def run_pipeline_benchmark(lines: int, count: int, postgres_url: str, redis_url: str,
                           step: Callable[[str], None]) -> dict[str, Any]:
    build = current_build().label
    if worker_build() != build:
        raise BenchmarkError(f"the workers would run {worker_build()}, this process {build}")
    step("building orders and messages")
    orders = make_orders(lines)
    intakes = intakes_of(make_messages(orders, count))
    sides: list[PipelineSide] = []
    with scratch_server(postgres_url) as create, \
            tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder:
        step(f"a template database with {lines:,} order lines")
        template = create("")
        fill_template(Settings(database_url(postgres_url, template)), orders)
        for _name, label, workers in SIDES:
            settings = Settings(database_url(postgres_url, create(template)))
            step(label)
            if workers == 0:
                sides.append(sync_side(settings, intakes))
            else:
                sides.append(celery_side(settings, redis_url, intakes, workers, Path(folder),
                                         step))
    return summarize(sides, lines, count)


def exactly_once(sides: list[PipelineSide]) -> dict[str, Any]:
    """Every side's rows equal the synchronous side's, and every message is reconciled."""
    reference = sides[0].rows
    problems = []
    for side in sides:
        reconciled = side.rows.get(f"messages {MessageState.RECONCILED.value}", 0)
        if reconciled != side.messages:
            problems.append(f"{side.name}: {reconciled} of {side.messages} messages reconciled")
        differing = sorted(k for k in reference.keys() | side.rows.keys()
                           if side.rows.get(k) != reference.get(k))
        if differing:
            problems.append(f"{side.name}: " + ", ".join(
                f"{k} {side.rows.get(k)} != {reference.get(k)}" for k in differing))
        if side.rows.get("duplicate versions"):
            problems.append(f"{side.name}: {side.rows['duplicate versions']} duplicate versions")
    return {"ok": not problems, "problems": problems,
            "rows": {side.name: side.rows for side in sides}}


def summarize(sides: list[PipelineSide], lines: int, count: int) -> dict[str, Any]:
    by_name = {side.name: side for side in sides}
    result_sides = {side.name: {
        "label": side.label, "workers": side.workers, "seconds": round(side.seconds, 2),
        "messages_per_s": round(side.rate, 1),
        "latency_p50_ms": _round(percentile(side.latencies_ms, 0.50)),
        "latency_p99_ms": _round(percentile(side.latencies_ms, 0.99))} for side in sides}

    def ratio(top: str, bottom: str) -> float | None:
        if top not in by_name or bottom not in by_name or not by_name[bottom].rate:
            return None
        return round(by_name[top].rate / by_name[bottom].rate, 2)

    return {"build": current_build().as_json(), "order_lines": lines, "messages": count,
            "worker_process": "`gateway worker -c 1` (prefork, one pool process) per worker",
            "sides": result_sides,
            "two_workers_vs_one": ratio("celery-2w", "celery-1w"),
            "target_two_workers_vs_one": TARGET_SCALE,
            "celery_vs_sync": ratio("celery-1w", "sync"),
            "celery_2w_vs_sync": ratio("celery-2w", "sync"),
            "target_celery_vs_sync": TARGET_CELERY_VS_SYNC,
            "exactly_once": exactly_once(sides)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def mark(value: float | None, target: float) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x ✓" if value >= target else f"{value:.2f}x < {target}x ✗"


def pipeline_table(result: dict[str, Any]) -> Table:
    table = Table(title=(f"gateway bench pipeline, {result['build']['label']}: "
                         f"{result['order_lines']:,} order lines, {result['messages']:,} "
                         "messages, PostgreSQL + Redis"), title_justify="left")
    for column in ("side", "seconds", "messages/s", "p50 ms", "p99 ms", "ratio"):
        table.add_column(column, justify="left" if column == "side" else "right")
    ratios = {"celery-1w": ("vs sync ", result["celery_vs_sync"],
                            result["target_celery_vs_sync"]),
              "celery-2w": ("vs 1 worker ", result["two_workers_vs_one"],
                            result["target_two_workers_vs_one"])}
    for name, side in result["sides"].items():
        cell = ""
        if name in ratios:
            words, value, target = ratios[name]
            cell = words + mark(value, target) if value is not None else ""
        table.add_row(side["label"], f"{side['seconds']:.2f}",
                      f"{side['messages_per_s']:,.0f}", _cell(side["latency_p50_ms"]),
                      _cell(side["latency_p99_ms"]), cell)
    once = result["exactly_once"]
    table.caption = ("exactly once: every message reconciled, the same documents, line "
                     "versions and exceptions on every side ✓" if once["ok"] else
                     "exactly once ✗: " + "; ".join(once["problems"]))
    return table


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"
