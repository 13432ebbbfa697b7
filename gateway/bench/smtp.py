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
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import random
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, nearest_rank
from gateway.bench.reconcile import postgres_database
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings, SmtpSettings
from gateway.persistence.models import InboundMessage
from gateway.persistence.schema import upgrade

MESSAGE_BYTES = 20_000
TARGET_RATIO = 0.8
SEED = 2525
RECIPIENT = "orders@buyer.example"
SENDER = "edi@supplier.example"
BARE, GATEWAY, WITH_WORKER, POSTGRES = "bare", "gateway", "worker", "postgresql"
_LABELS = {
    BARE: "bare aiosmtpd + fsync",
    GATEWAY: "gateway intake, SQLite",
    WITH_WORKER: "+ worker alongside (info)",
    POSTGRES: "intake, PostgreSQL (info)",
}


# -- the messages -------------------------------------------------------------------------------


def make_messages(count: int, size: int = MESSAGE_BYTES, seed: int = SEED) -> list[bytes]:
    """`count` distinct messages of `size` bytes as they are stored (CRLF line ends, the last
    line ended): a short text part and a base64 EDIFACT-like attachment, as suppliers send them.
    Seeded, so every run sends the same bytes."""
    rng = random.Random(seed)
    return [_message(index, size, rng) for index in range(count)]


def _message(index: int, size: int, rng: random.Random) -> bytes:
    head = (f"From: Supplier <{SENDER}>\r\nTo: <{RECIPIENT}>\r\n"
            f"Subject: DESADV {index:06d}\r\nMessage-ID: <{index}.bench@supplier.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nDespatch advice attached.\r\n"
            # A line that starts with a dot: dot-stuffed on the wire (RFC 5321 4.5.2).
            ".signature: the supplier's EDI desk\r\n"
            "--b\r\nContent-Type: application/EDIFACT\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\n").encode()
    tail = b"--b--\r\n"
    room = max(size - len(head) - len(tail), 0)
    text = base64.b64encode(rng.randbytes(room))
    # Lines of 76 base64 characters and CRLF; the last one takes what is left of `size`.
    lines: list[bytes] = []
    while room > 80:
        lines.append(text[len(lines) * 76 : (len(lines) + 1) * 76] + b"\r\n")
        room -= 78
    if room > 2:
        lines.append(text[len(lines) * 76 : len(lines) * 76 + room - 2] + b"\r\n")
    return head + b"".join(lines) + tail


# -- did every message arrive once? ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """The messages sent against the ones the server kept, compared by sha256."""

    sent: int
    stored: int
    missing: int
    duplicated: int
    unexpected: int

    @property
    def lossless(self) -> bool:
        return self.missing == self.duplicated == self.unexpected == 0 and \
            self.sent == self.stored


def check_delivery(sent: Iterable[bytes], stored: Iterable[bytes]) -> DeliveryCheck:
    expected = Counter(hashlib.sha256(raw).hexdigest() for raw in sent)
    found = Counter(hashlib.sha256(raw).hexdigest() for raw in stored)
    missing = sum((expected - found).values())
    extra = found - expected
    duplicated = sum(count for digest, count in extra.items() if digest in expected)
    return DeliveryCheck(sum(expected.values()), sum(found.values()), missing, duplicated,
                         sum(extra.values()) - duplicated)


def stored_in_files(folder: Path) -> Iterator[bytes]:
    for path in sorted(folder.glob("*.eml")):
        yield path.read_bytes()


def stored_in_database(database_url: str) -> Iterator[bytes]:
    engine = make_engine(Settings(database_url))
    try:
        with make_session_factory(engine)() as session:
            yield from session.scalars(select(InboundMessage.raw).order_by(InboundMessage.id))
    finally:
        engine.dispose()


# -- the clients ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientRun:
    seconds: float
    latencies: list[float]
    refused: list[str]


def share(messages: Sequence[bytes], clients: int) -> list[list[bytes]]:
    """Each client's messages, dealt round-robin."""
    return [list(messages[number::clients]) for number in range(clients)]


def send_all(port: int, messages: Sequence[bytes], clients: int) -> ClientRun:
    """Every message through `clients` concurrent smtplib connections; timed from the moment all
    are connected to the last reply. A refusal is recorded, not raised."""
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))
    latencies: list[list[float]] = [[] for _ in range(clients)]
    refused: list[str] = []
    finished: list[float] = []
    errors: list[BaseException] = []

    def client(number: int, mine: list[bytes]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.supplier.example",
                              timeout=120) as connection:
                connection.ehlo()
                barrier.wait(60)
                for raw in mine:
                    begin = time.perf_counter()
                    try:
                        connection.sendmail(SENDER, [RECIPIENT], raw)
                    except smtplib.SMTPResponseException as exc:
                        refused.append(f"{exc.smtp_code} {exc.smtp_error!r}")
                    latencies[number].append(time.perf_counter() - begin)
                finished.append(time.perf_counter())
        except (OSError, smtplib.SMTPException, threading.BrokenBarrierError) as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(number, mine), name=f"bench-client-{number}")
               for number, mine in enumerate(share(messages, clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchmarkError(f"a client failed: {errors[0]!r}")
    return ClientRun(max(finished) - started[0], [t for ts in latencies for t in ts], refused)


# -- the servers, each in a subprocess -------------------------------------------------------


class FsyncFileHandler:
    """The baseline: each message written to a file of its own and fsynced before the 250; the
    write runs in a thread, as the gateway's commit does, so concurrent sessions overlap."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        assert raw is not None
        self._count += 1
        path = self._folder / f"{self._count:06d}.eml"
        await asyncio.get_running_loop().run_in_executor(None, _write_synced, path, raw)
        return "250 2.0.0 OK"


def _write_synced(path: Path, raw: bytes) -> None:
    with path.open("xb") as file:
        file.write(raw)
        file.flush()
        os.fsync(file.fileno())


def serve_child() -> None:
    """The subprocess: `side folder [database_url]`. Prints `ready PORT` once it listens and
    stops when a line arrives on stdin (or stdin closes), after the messages under way."""
    side, folder = sys.argv[1], Path(sys.argv[2])
    from gateway.bootstrap import configure_logging, tune_garbage_collector

    tune_garbage_collector()  # as the `gateway` entry point does
    configure_logging()  # as `gateway smtp` does: INFO, JSON lines on stderr (a file here)
    if side == BARE:
        asyncio.run(_serve_bare(folder))
    else:
        _serve_gateway(side, sys.argv[3])


def _on_ready(port: int) -> None:
    print(f"ready {port}", flush=True)


def _stop_on_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def wait() -> None:
        sys.stdin.readline()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, daemon=True).start()


async def _serve_bare(folder: Path) -> None:
    loop = asyncio.get_running_loop()
    handler = FsyncFileHandler(folder)
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=SmtpSettings().max_size, enable_SMTPUTF8=True,
                     decode_data=False, hostname="mx.bench.example", loop=loop),
        "127.0.0.1", 0)
    stop = asyncio.Event()
    _stop_on_stdin(loop, stop)
    _on_ready(int(server.sockets[0].getsockname()[1]))
    await stop.wait()
    server.close()
    await server.wait_closed()


def _serve_gateway(side: str, database_url: str) -> None:
    from gateway.channels.smtp import build_server
    from gateway.services.intake_worker import ReceivedWorker

    engine = make_engine(Settings(database_url))
    transaction = make_session_factory(engine).begin
    now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
    worker = ReceivedWorker(transaction, ["smtp"], lambda: now().date(), now)
    settings = SmtpSettings(host="127.0.0.1", port=0, recipients=(RECIPIENT,))
    server = build_server(settings, transaction, now, "mx.bench.example",
                          worker.wake if side == WITH_WORKER else lambda _ids: None)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_stdin(asyncio.get_running_loop(), stop)
        await server.serve(stop, _on_ready)

    if side == WITH_WORKER:
        worker.start()
    try:
        asyncio.run(main())
    finally:
        worker.stop()
        engine.dispose()


@contextmanager
def running_server(side: str, folder: Path, database_url: str | None) -> Iterator[int]:
    """A server subprocess; yields its port, then stops it and waits for it to exit."""
    log_path = folder / "server.log"
    with log_path.open("w") as log_file:
        command = [sys.executable, "-c", "from gateway.bench.smtp import serve_child; "
                   "serve_child()", side, str(folder), *([database_url] if database_url else [])]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=log_file, text=True)
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            port = _await_ready(process.stdout, log_path)
            yield port
            process.stdin.write("stop\n")
            process.stdin.close()
            if process.wait(120):
                raise BenchmarkError(f"the {side} server exited {process.returncode}:\n"
                                     f"{_tail(log_path)}")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _await_ready(stdout: IO[str], log_path: Path) -> int:
    line = stdout.readline()
    if not line.startswith("ready "):
        raise BenchmarkError(f"the server did not start:\n{_tail(log_path)}")
    return int(line.split()[1])


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-20:])


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
