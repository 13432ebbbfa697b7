"""`gateway bench reconcile`: supplier messages end to end against pydifact's bare parse.

100,000 open order lines, 10,000 supplier messages (ORDRSP and DESADV, 5-20 lines each), each
archived, parsed, mapped, reconciled and persisted with its exceptions, handed to the `ingest`
service all at once (200 per transaction), on SQLite (processed in this process, the next
batch read while one is written) and on PostgreSQL (processed in worker processes side by
side, as `gateway ingest` does: `gateway.services.spread`). How long a batch waits in a queue
is `gateway bench pipeline`'s to measure. The baseline is pydifact's `Interchange.from_str` of
the same messages, and nothing else. Synthetic and seeded: every run measures the same bytes.

Beside each gateway side, the CPU it took per message: the gateway's (this process and its
worker processes), and on PostgreSQL the whole server's (read from /proc where the server runs
on this machine). From them two ceilings of the ratio to pydifact: the gateway's CPU on one
core (the wall time of one process that never waited; worker processes go past it), and all
the CPU spread evenly over the usable cores (what no split of this work into processes can
beat).
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from pydifact.segmentcollection import Interchange
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway.bench.build import current_build
from gateway.bench.common import (
    database_url,
    process_cpu_seconds,
    process_stat,
    scratch_server,
)
from gateway.bootstrap import make_engine, make_session_factory, open_database
from gateway.config import Settings
from gateway.domain.messages import MessageState
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake, ingest
from gateway.services.orders import ImportedLine, import_lines
from gateway.services.partners import load_partners
from gateway.services.spread import Spread

SEED = 4711
# End to end against pydifact's bare parse, on either database.
TARGET = 1.3
GLN = "4012345000009"
TODAY = date(2026, 11, 26)
PARTNERS = {
    "profiles": {"bench": {"qty_under_pct": 2, "date_late_error_days": 3, "price_pct": 1}},
    "suppliers": [{"code": "BENCH", "name": "Bench Supplies Ltd",
                   "edi_ids": [{"id": GLN, "qualifier": "14"}], "profile": "bench"}],
}


def gtin(number: int) -> str:
    body = f"400{number:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def make_orders(lines: int, seed: int = SEED) -> list[list[ImportedLine]]:
    """Orders of 5-20 lines until `lines` lines exist."""
    rng = random.Random(seed)
    orders: list[list[ImportedLine]] = []
    made = 0
    while made < lines:
        number = f"45{len(orders):08d}"
        count = min(rng.randint(5, 20), lines - made)
        need = TODAY + timedelta(days=rng.randint(5, 40))
        orders.append([
            ImportedLine(row=made + i, order_number=number, line_no=str(10 * (i + 1)),
                         quantity=Decimal(rng.randint(1, 50) * 10), unit="PCE",
                         price=Decimal(rng.randint(100, 10000)) / 100, currency="EUR",
                         requested_date=need, gtin=gtin(made + i), supplier_id="BENCH",
                         owner_email="buyer@bench.example")
            for i in range(count)])
        made += count
    return orders


def _envelope(reference: int, message_type: str, body: list[str]) -> bytes:
    segments = [f"UNH+1+{message_type}:D:96A:UN:EAN005", *body]
    segments.append(f"UNT+{len(segments) + 1}+1")
    return ("UNA:+.? '" + f"UNB+UNOC:3+{GLN}:14+5400000000001:14+261126:0900+{reference}'"
            + "'".join(segments) + f"'UNZ+1+{reference}'").encode()


def _ordrsp(order: list[ImportedLine], reference: int, rng: random.Random) -> bytes:
    body = [f"BGM+231+RSP{reference}+4", "DTM+137:20261126:102",
            f"RFF+ON:{order[0].order_number}", f"NAD+SU+{GLN}::9", "CUX+2:EUR:9"]
    for index, line in enumerate(order, 1):
        roll = rng.random()
        quantity, when, action = line.quantity, line.requested_date, "5"
        if roll < 0.05:
            quantity, action = line.quantity * Decimal("0.8"), "3"
        elif roll < 0.08 and when is not None:
            when, action = when + timedelta(days=6), "3"
        elif roll < 0.10:
            action = "7"
        assert when is not None
        body += [f"LIN+{index}+{action}+{line.gtin}:EN", f"QTY+21:{line.quantity}:PCE",
                 f"QTY+113:{quantity}:PCE", f"DTM+69:{when:%Y%m%d}:102",
                 f"PRI+AAA:{line.price}", f"RFF+ON:{line.order_number}:{line.line_no}"]
    return _envelope(reference, "ORDRSP", [*body, "UNS+S", f"CNT+2:{len(order)}"])


def _desadv(order: list[ImportedLine], reference: int, rng: random.Random) -> bytes:
    need = order[0].requested_date or TODAY
    body = [f"BGM+351+ASN{reference}+9", "DTM+137:20261126:102", "DTM+11:20261127:102",
            f"DTM+17:{need:%Y%m%d}:102", f"RFF+ON:{order[0].order_number}", f"NAD+SU+{GLN}::9",
            "CPS+1", "PAC+1++PX", f"GIN+BJ+3{reference:016d}0"]
    for index, line in enumerate(order, 1):
        shipped = line.quantity if rng.random() > 0.05 else line.quantity - 10
        body += [f"LIN+{index}++{line.gtin}:EN", f"QTY+12:{shipped}:PCE",
                 f"RFF+ON:{line.order_number}:{line.line_no}"]
    return _envelope(reference, "DESADV", [*body, "CNT+2:" + str(len(order))])


def make_messages(orders: list[list[ImportedLine]], count: int, seed: int = SEED) -> list[bytes]:
    """Half order responses, then despatch advices for the same orders."""
    rng = random.Random(seed)
    half = count // 2
    picked = orders[:half] if len(orders) >= half else (orders * (half // len(orders) + 1))[:half]
    responses = [_ordrsp(order, i, rng) for i, order in enumerate(picked)]
    despatches = [_desadv(order, half + i, rng) for i, order in enumerate(picked)]
    return responses + despatches[: count - half]


@dataclass(frozen=True, slots=True)
class SideResult:
    side: str
    seconds: float
    messages: int
    # CPU seconds the side took: this process's, and the database server's where it is known.
    cpu_seconds: float | None = None
    server_cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def pydifact_baseline(messages: list[bytes]) -> SideResult:
    texts = [m.decode("latin-1") for m in messages]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text_ in texts:
            list(Interchange.from_str(text_).get_messages())
    return SideResult("pydifact Interchange.from_str", time.perf_counter() - started,
                      len(texts))


def gateway_run(settings: Settings, orders: list[list[ImportedLine]],
                messages: list[bytes], label: str, batch_size: int = 200,
                processes: int = 1) -> SideResult:
    """Fresh schema and orders (not timed), then every message archived and processed (on
    PostgreSQL in `processes` worker processes, as `gateway ingest` does)."""
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with factory.begin() as session:
        load_partners(session, PARTNERS, now)
        import_lines(session, [line for order in orders for line in order], "bench", now)
    intakes = [Intake(raw, "bench", "as2:bench", f"m{index}.edi")
               for index, raw in enumerate(messages)]
    # All of them handed in at once: archived `batch_size` per transaction, then processed
    # `batch_size` per batch, the next batch read while one is written
    # (`gateway.services.pipeline.process_in_order`).
    # The connections of the setup closed: every backend left at the end served the run.
    engine.dispose()
    server_before = server_cpu_seconds(engine)
    spread = Spread(processes, partial(open_database, settings))
    started, cpu = time.perf_counter(), gateway_cpu_seconds()
    reports = ingest(factory.begin, intakes, TODAY, now, batch_size, spread=spread)
    elapsed, cpu = time.perf_counter() - started, gateway_cpu_seconds() - cpu
    server_after = server_cpu_seconds(engine)
    if any(r.state is not MessageState.RECONCILED for r in reports):
        raise RuntimeError(f"bench messages not reconciled: {reports[0]}")
    engine.dispose()
    server = None if server_before is None or server_after is None \
        else server_after - server_before
    return SideResult(label, elapsed, len(messages), cpu, server)


def server_cpu_seconds(engine: Engine) -> float | None:
    """CPU seconds so far of the whole PostgreSQL server the engine speaks to, where it runs on
    this machine (Linux's /proc): the postmaster's own and its children's, the backends that
    ended included (the kernel adds a child's CPU to its parent's when the parent reaps it,
    proc(5) `cutime`, `cstime`; the postmaster reaps its backends). So the backends of worker
    processes that closed before the run's end are counted. 0 on SQLite, which runs in this
    process; None where it cannot be known. Whatever else the server did meanwhile is counted
    too: the figure can only be too high on a busy server."""
    if engine.dialect.name == "sqlite":
        return 0.0
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    postmaster = _parent(backend)
    if postmaster is None or not _is_postgres(postmaster):
        return None       # a server elsewhere: its pids are not this machine's
    total = _reaped_cpu_seconds(postmaster)
    if total is None:
        return None       # the server stopped meanwhile
    for pid in [postmaster, *_children(postmaster)]:
        seconds = process_cpu_seconds(pid)
        if seconds is not None:   # a backend that ended meanwhile is in `cutime` already
            total += seconds
    return total


def _is_postgres(pid: int) -> bool:
    """The postmaster (`.../bin/postgres -D ...`) or one of its processes (`postgres: ...`)."""
    try:
        program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return program.rpartition(b"/")[2] == b"postgres" or program.startswith(b"postgres:")


def _parent(pid: int) -> int | None:
    fields = process_stat(pid)
    # fields[1]: the parent's pid (proc(5) field 4)
    return None if fields is None else int(fields[1])


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(child) for task in tasks
                for child in (task / "children").read_text().split()]
    except OSError:
        return []


def _reaped_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of the children `pid` reaped so far (proc(5) fields 16 and 17)."""
    fields = process_stat(pid)
    return None if fields is None else (int(fields[13]) + int(fields[14])) / os.sysconf(
        "SC_CLK_TCK")


def gateway_cpu_seconds() -> float:
    """CPU seconds so far of this process and of the worker processes it ended
    (`gateway.services.spread`'s, reaped when joined)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@contextmanager
def postgres_database(admin_url: str) -> Iterator[Settings]:
    """A scratch database on the server of `admin_url`, dropped afterwards."""
    with scratch_server(admin_url) as create:
        yield Settings(database_url(admin_url, create("")))


def run_reconcile_benchmark(lines: int, count: int, runs: int, sqlite_path: str,
                            postgres_url: str | None, step: Callable[[str], None],
                            processes: int | None = None) -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0))
    processes = processes or cores
    orders = make_orders(lines)
    messages = make_messages(orders, count)
    results: dict[str, list[SideResult]] = {"pydifact": [], "sqlite": [], "postgresql": []}
    postgres_error = None
    for run in range(1, runs + 1):
        step(f"run {run}/{runs}: pydifact bare parse")
        results["pydifact"].append(pydifact_baseline(messages))
        step(f"run {run}/{runs}: gateway on SQLite")
        _remove_sqlite(sqlite_path)
        results["sqlite"].append(gateway_run(Settings(f"sqlite:///{sqlite_path}"), orders,
                                             messages, "gateway end to end, SQLite"))
        if postgres_url and postgres_error is None:
            step(f"run {run}/{runs}: gateway on PostgreSQL")
            try:
                with postgres_database(postgres_url) as settings:
                    results["postgresql"].append(gateway_run(
                        settings, orders, messages,
                        f"gateway end to end, PostgreSQL, {processes} process(es)",
                        processes=processes))
            except OperationalError as exc:
                postgres_error = str(exc.orig)
    _remove_sqlite(sqlite_path)
    return summarize(results, lines, count, runs, postgres_error, cores)


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def summarize(results: dict[str, list[SideResult]], lines: int, count: int, runs: int,
              postgres_error: str | None, cores: int = 1) -> dict[str, Any]:
    def median(side: str, attr: str) -> float | None:
        values = [getattr(r, attr) for r in results[side] if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    baseline = median("pydifact", "rate") or 0.0
    sides = {}
    for side in ("pydifact", "sqlite", "postgresql"):
        rate = median(side, "rate")
        if rate is None:
            continue
        sides[side] = {"label": results[side][0].side, "messages_per_s": round(rate, 1),
                       "seconds": round(median(side, "seconds") or 0, 2),
                       "ratio_to_pydifact": round(rate / baseline, 2) if baseline else None}
        if side != "pydifact":
            sides[side].update(cpu_per_message(median(side, "cpu_seconds"),
                                               median(side, "server_cpu_seconds"), count,
                                               baseline, cores))
    # The two databases side by side, run by run (each run measures both, one after the
    # other): on a shared machine the load moves both, their ratio less.
    pairs = [postgres.rate / lite.rate for lite, postgres
             in zip(results["sqlite"], results["postgresql"], strict=False) if lite.rate]
    postgres_vs_sqlite = round(statistics.median(pairs), 2) if pairs else None
    return {"build": current_build().as_json(), "order_lines": lines, "messages": count,
            "runs": runs, "cores": cores, "sides": sides, "target_ratio_sqlite": TARGET,
            "target_ratio_postgresql": TARGET, "postgresql_vs_sqlite": postgres_vs_sqlite,
            "postgresql_error": postgres_error}


def cpu_per_message(cpu: float | None, server: float | None, count: int, baseline: float,
                    cores: int) -> dict[str, float | None]:
    """CPU milliseconds a message (the gateway's processes, the server) and the two ceilings
    of the ratio to the baseline (messages a second) that they leave: the gateway's CPU as the
    wall time of one core, and all the CPU spread over `cores`."""
    if cpu is None or not count or not baseline:
        return {"cpu_ms_per_message": None, "server_cpu_ms_per_message": None,
                "ceiling_one_core": None, "ceiling_all_cores": None}
    ms, server_ms, baseline_ms = 1000 * cpu / count, None, 1000 / baseline
    ceiling_all = None
    if server is not None:
        server_ms = 1000 * server / count
        ceiling_all = round(baseline_ms * cores / (ms + server_ms), 2) if ms + server_ms else None
    return {"cpu_ms_per_message": round(ms, 3),
            "server_cpu_ms_per_message": None if server_ms is None else round(server_ms, 3),
            "ceiling_one_core": round(baseline_ms / ms, 2) if ms else None,
            "ceiling_all_cores": ceiling_all}


def reconcile_table(result: dict[str, Any]) -> Table:
    table = Table(title=(f"gateway bench reconcile, {result['build']['label']}: "
                         f"{result['order_lines']:,} order lines, {result['messages']:,} "
                         f"messages, median of {result['runs']} run(s)"),
                  title_justify="left")
    for column in ("side", "seconds", "messages/s", "vs pydifact", "CPU ms/message",
                   "ceilings"):
        table.add_column(column, justify="left" if column == "side" else "right")
    for name, side in result["sides"].items():
        ratio = side["ratio_to_pydifact"]
        mark = ""
        target = result.get(f"target_ratio_{name}")
        if target is not None:
            mark = " ✓" if ratio >= target else f" < {target}x ✗"
        table.add_row(side["label"], f"{side['seconds']:.2f}", f"{side['messages_per_s']:,.0f}",
                      f"{ratio:.2f}x{mark}", _cpu_cell(side), _ceilings_cell(side))
    captions = [f"ceilings: pydifact's time a message over the gateway's CPU a message (one "
                f"core), then over all the CPU a message on {result.get('cores', 1)} core(s)"]
    if result.get("postgresql_error"):
        captions.append(f"PostgreSQL skipped: {result['postgresql_error']}")
    elif result.get("postgresql_vs_sqlite") is not None:
        captions.append(f"PostgreSQL / SQLite, same run: {result['postgresql_vs_sqlite']:.2f}")
    table.caption = "\n".join(captions)
    return table


def _cpu_cell(side: dict[str, Any]) -> str:
    cpu, server = side.get("cpu_ms_per_message"), side.get("server_cpu_ms_per_message")
    if cpu is None:
        return ""
    return f"{cpu:.2f}" + (f" + server {server:.2f}" if server else "")


def _ceilings_cell(side: dict[str, Any]) -> str:
    alone, spread = side.get("ceiling_one_core"), side.get("ceiling_all_cores")
    if alone is None:
        return ""
    return f"{alone:.2f}x" + ("" if spread is None else f", {spread:.2f}x")
