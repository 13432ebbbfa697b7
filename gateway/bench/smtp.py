"""`gateway bench smtp`: the SMTP intake against a bare aiosmtpd handler that fsyncs a file.

The target (issue): 2,000 messages of about 20 KB from 4 concurrent clients over loopback; the
gateway's intake, with its database commit before each `250`, accepts at least 80% of the
messages per second that a bare aiosmtpd handler accepts when all it does is write each message
to its own file and fsync it, measured in the same run, and loses none.

Each server runs in a subprocess of its own (a fresh interpreter, as `gateway smtp` is one);
the clients are threads of this process, one smtplib connection each, sending their share of
the messages one after the other. The clock starts once every client has connected and said
EHLO, and stops at the last reply. Afterwards every message's sha256 is looked for among the
files or rows the server kept: each must be there exactly once.

The gateway side is the server `gateway smtp` builds (`build_server`) on a fresh database,
default settings, logging at INFO to a file. Its in-process worker does not run while the clock
runs (in production processing is a separate worker process): the messages stay `received`.
The side "with worker" runs it alongside, woken after every commit, as `gateway smtp` does on
one machine today: information, not the target.

Three modules: this one runs the sides and summarises them; `smtp_traffic` makes the messages,
sends them and checks what was kept; `smtp_servers` runs each side's server in its subprocess.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy.exc import OperationalError

from gateway.bench.build import current_build
from gateway.bench.common import nearest_rank
from gateway.bench.reconcile import postgres_database
from gateway.bench.smtp_servers import BARE, GATEWAY, POSTGRES, WITH_WORKER, running_server
from gateway.bench.smtp_traffic import (
    DeliveryCheck,
    check_delivery,
    make_messages,
    send_all,
    stored_in_database,
    stored_in_files,
)
from gateway.bootstrap import make_engine
from gateway.config import Settings
from gateway.persistence.schema import upgrade

TARGET_RATIO = 0.8
_LABELS = {
    BARE: "bare aiosmtpd + fsync",
    GATEWAY: "gateway intake, SQLite",
    WITH_WORKER: "+ worker alongside (info)",
    POSTGRES: "intake, PostgreSQL (info)",
}


# -- one side, one run --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideRun:
    seconds: float
    latencies: list[float]
    refused: list[str]
    check: DeliveryCheck

    @property
    def rate(self) -> float:
        return self.check.sent / self.seconds


def measure_side(side: str, messages: Sequence[bytes], clients: int,
                 postgres_url: str | None = None) -> SideRun:
    with tempfile.TemporaryDirectory(prefix="gateway-bench-smtp-") as name:
        folder = Path(name)
        with _database(side, folder, postgres_url) as database_url:
            with running_server(side, folder, database_url) as port:
                sent = send_all(port, messages, clients)
            kept = list(stored_in_files(folder) if side == BARE
                        else stored_in_database(database_url or ""))
    return SideRun(sent.seconds, sent.latencies, sent.refused, check_delivery(messages, kept))


@contextmanager
def _database(side: str, folder: Path, postgres_url: str | None) -> Iterator[str | None]:
    """A fresh, migrated database for a gateway side (none for the bare one)."""
    if side == BARE:
        yield None
        return
    if side == POSTGRES:
        assert postgres_url
        with postgres_database(postgres_url) as settings:
            _migrate(settings.database_url)
            yield settings.database_url
        return
    url = f"sqlite:///{folder / 'gateway.db'}"
    _migrate(url)
    yield url


def _migrate(database_url: str) -> None:
    engine = make_engine(Settings(database_url))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# -- the whole benchmark --------------------------------------------------------------------------


@dataclass(slots=True)
class SideResults:
    side: str
    runs: list[SideRun] = field(default_factory=list)

    def median(self, value: Callable[[SideRun], float]) -> float:
        return statistics.median(value(run) for run in self.runs)

    @property
    def lossless(self) -> bool:
        return all(run.check.lossless and not run.refused for run in self.runs)


def side_order(run: int, with_worker: bool, postgres: bool) -> list[str]:
    """Bare and gateway alternate which goes first, so drift on a shared machine hits both."""
    pair = [BARE, GATEWAY] if run % 2 else [GATEWAY, BARE]
    return pair + ([WITH_WORKER] if with_worker else []) + ([POSTGRES] if postgres else [])


def run_smtp_benchmark(count: int, size: int, clients: int, runs: int, with_worker: bool,
                       postgres_url: str | None, step: Callable[[str], None]) -> dict[str, Any]:
    messages = make_messages(count, size)
    results = {side: SideResults(side) for side in side_order(1, with_worker, bool(postgres_url))}
    postgres_error = None
    for run in range(1, runs + 1):
        for side in side_order(run, with_worker, bool(postgres_url) and postgres_error is None):
            step(f"run {run}/{runs}: {_LABELS[side]}")
            try:
                results[side].runs.append(measure_side(side, messages, clients, postgres_url))
            except OperationalError as exc:
                postgres_error = str(exc.orig).strip().splitlines()[0]
    return summarize(results, count, size, clients, runs, postgres_error)


def summarize(results: dict[str, SideResults], count: int, size: int, clients: int, runs: int,
              postgres_error: str | None) -> dict[str, Any]:
    baseline = results[BARE].median(lambda run: run.rate)
    sides: dict[str, dict[str, Any]] = {}
    for side, result in results.items():
        if not result.runs:
            continue
        rate = result.median(lambda run: run.rate)
        sides[side] = {
            "label": _LABELS[side], "messages_per_s": round(rate, 1),
            "runs_messages_per_s": [round(run.rate, 1) for run in result.runs],
            "seconds": round(result.median(lambda run: run.seconds), 3),
            "ratio_to_bare": round(rate / baseline, 3),
            "latency_p50_ms": round(result.median(
                lambda run: nearest_rank(run.latencies, 0.5)) * 1000, 2),
            "latency_p99_ms": round(result.median(
                lambda run: nearest_rank(run.latencies, 0.99)) * 1000, 2),
            "stored": [run.check.stored for run in result.runs],
            "refused": sum(len(run.refused) for run in result.runs),
            "lossless": result.lossless,
        }
    ratio = sides[GATEWAY]["ratio_to_bare"] if GATEWAY in sides else 0.0
    return {"build": current_build().as_json(), "aiosmtpd": version("aiosmtpd"),
            "messages": count, "message_bytes": size, "clients": clients, "runs": runs,
            "servers": "one subprocess per side and run; clients are threads of the bench "
                       "process (smtplib, one connection each)",
            "sides": sides, "target_ratio": TARGET_RATIO,
            "meets_target": ratio >= TARGET_RATIO and all(s["lossless"] for s in sides.values()),
            "postgresql_error": postgres_error}


def smtp_table(result: dict[str, Any]) -> Table:
    table = Table(title=(f"gateway bench smtp, {result['build']['label']}, aiosmtpd "
                         f"{result['aiosmtpd']}: {result['messages']:,} messages of "
                         f"{result['message_bytes']:,} bytes from {result['clients']} clients, "
                         f"median of {result['runs']} run(s)"), title_justify="left",
                  caption=(f"Servers: {result['servers']}. The intake side runs without its "
                           "worker (messages stay `received`); lost = answered 250 but not "
                           "stored exactly once (sha256)."),
                  caption_justify="left")
    for column in ("side", "msgs/s", "each run", "vs bare", "p50 ms", "p99 ms", "kept/lost"):
        table.add_column(column, justify="left" if column == "side" else "right")
    for name, side in result["sides"].items():
        ratio = side["ratio_to_bare"]
        mark = ""
        if name == GATEWAY:
            mark = (" [green]✓[/green]" if ratio >= result["target_ratio"]
                    else f" [red]< {result['target_ratio']:.0%} ✗[/red]")
        lost = "0 ✓" if side["lossless"] else "[red]LOST ✗[/red]"
        table.add_row(side["label"], f"{side['messages_per_s']:,.0f}",
                      " / ".join(f"{rate:,.0f}" for rate in side["runs_messages_per_s"]),
                      f"{ratio:.0%}{mark}", f"{side['latency_p50_ms']:.1f}",
                      f"{side['latency_p99_ms']:.1f}",
                      f"{min(side['stored']):,}/{lost}")
    if result.get("postgresql_error"):
        table.caption = f"{table.caption}\nPostgreSQL skipped: {result['postgresql_error']}"
    return table


def print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console

    Console().print(smtp_table(result))
