"""`gateway bench outbox`: alerts and acknowledgements through the outbox against a bare
smtplib loop, to the same loopback SMTP server, in one run.

The target (issue 12): 2,000 messages through the outbox (enqueued in one transaction, then
sent by the sender, each attempt recorded) at no less than 70% of the messages per second of a
bare smtplib loop that sends the same bytes over one connection.

The receiving server is aiosmtpd in a subprocess of its own (a remote relay's CPU is not ours):
it answers 250 at once and writes each Message-ID it took to a file, so that after every run
the benchmark checks that each message arrived exactly once. The sides alternate, each run on
a fresh SQLite database (schema made before the clock starts); the medians and their ratio are
reported. The outbox side's clock covers enqueueing the 2,000 drafts and draining them; its
enqueue share is reported too, and so are the CPU seconds each side cost this process and the
receiving server's (from /proc), which a machine shared with other work moves far less than
wall-clock seconds.
"""

from __future__ import annotations

import json
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from rich.table import Table

from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, TimedSide, process_cpu_seconds, timed
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import OutboundSettings, Settings
from gateway.domain.outbound import OutboundDraft, OutboundKind, Transport
from gateway.persistence.schema import upgrade

TARGET_RATIO = 0.7
SENDER = "gateway@buyer.example"
BARE, OUTBOX = "bare", "outbox"
_LABELS = {BARE: "bare smtplib loop, one connection", OUTBOX: "through the outbox, SQLite"}


# -- the messages -------------------------------------------------------------------------------


def make_drafts(count: int) -> list[OutboundDraft]:
    """Half alerts to buyers, half email acknowledgements to suppliers (plain text and HTML),
    each with its own Message-ID; the same bytes on every run."""
    return [_alert(n) if n % 2 == 0 else _acknowledgement(n) for n in range(count)]


def _email(n: int, to: str, subject: str, text: str, html: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Supplier gateway <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    message["Message-ID"] = f"<bench-{n:06d}@gateway.buyer.example>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _alert(n: int) -> OutboundDraft:
    order, line = 4500000000 + n, (n % 40 + 1) * 10
    text = (f"QTY_SHORT opened on order {order} line {line} (high, risk 41.5).\n\n"
            f"Ordered 120 PCE for 2026-12-14; the supplier confirmed 80 PCE for 2026-12-18.\n"
            "Tolerance: quantity under by more than 5% or 2 PCE.\n\n"
            f"gateway exceptions show {n}\n") * 3
    html = "<table>" + "".join(f"<tr><td>{cell}</td></tr>" for cell in text.split("\n")) + \
        "</table>"
    payload = _email(n, f"buyer{n % 7}@buyer.example", f"[high] QTY_SHORT {order}/{line}",
                     text, html)
    return OutboundDraft(OutboundKind.ALERT, Transport.SMTP, f"buyer{n % 7}@buyer.example",
                         payload, f"<bench-{n:06d}@gateway.buyer.example>",
                         f"QTY_SHORT opened on {order}/{line}", sender=SENDER,
                         supplier_code=f"S{n % 50:03d}")


def _acknowledgement(n: int) -> OutboundDraft:
    order = 4500000000 + n
    rows = "\n".join(f"  line {line * 10}: confirmed as ordered" for line in range(1, 9))
    text = f"Thank you for your order response to {order}. We read:\n{rows}\n"
    html = "<ul>" + "".join(f"<li>{row.strip()}</li>" for row in rows.split("\n")) + "</ul>"
    to = f"orders@supplier{n % 50}.example"
    payload = _email(n, to, f"Re: order response {order}", text, html)
    return OutboundDraft(OutboundKind.EMAIL_REPLY, Transport.SMTP, to, payload,
                         f"<bench-{n:06d}@gateway.buyer.example>",
                         f"order response to {order} read", sender=SENDER,
                         supplier_code=f"S{n % 50:03d}")


# -- the receiving server --------------------------------------------------------------------


def serve_sink(port: int, log: str) -> None:
    """The remote relay: takes every message at once, writes its Message-ID to `log`."""
    import asyncio
    import email.parser

    from aiosmtpd.controller import Controller

    parser = email.parser.BytesHeaderParser()

    class Sink:
        def __init__(self, out: Any) -> None:
            self.out = out

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            message_id = parser.parsebytes(envelope.content)["Message-ID"] or "-"
            self.out.write(message_id + "\n")
            return "250 2.0.0 Ok: queued"

    with open(log, "a", buffering=1) as out:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        try:
            asyncio.run(asyncio.Event().wait())
        finally:
            controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _sink(folder: Path) -> Iterator[tuple[int, Path, int]]:
    port, log = _free_port(), folder / "arrived.log"
    process = subprocess.Popen(
        [sys.executable, "-P", "-c",
         f"from gateway.bench.outbox import serve_sink; serve_sink({port}, {str(log)!r})"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise BenchmarkError("the loopback SMTP server did not start")
        yield port, log, process.pid
    finally:
        process.terminate()
        process.wait(10)


def _arrived_since(log: Path, offset: int) -> tuple[Counter[str], int]:
    deadline = time.monotonic() + 5
    data = log.read_bytes()[offset:]
    while not data.endswith(b"\n") and data and time.monotonic() < deadline:
        time.sleep(0.01)
        data = log.read_bytes()[offset:]
    return Counter(data.decode().split()), offset + len(data)


# -- the sides -----------------------------------------------------------------------------------


def send_bare(port: int, drafts: list[OutboundDraft]) -> int:
    """The baseline: one smtplib connection, the same envelope and bytes, one after another."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for draft in drafts:
            client.sendmail(draft.sender, [draft.recipient], draft.payload)
    return len(drafts)


def send_through_outbox(port: int, drafts: list[OutboundDraft], database: Path,
                        batch_size: int) -> tuple[int, float]:
    """Enqueue every draft in one transaction (as the decisions of a processing batch are
    written together), then drain the outbox; (sent, enqueue seconds). The schema is made
    before the clock starts (see `prepare_database`)."""
    from gateway.services.outbox import enqueue_many
    from gateway.services.outbox_sender import OutboxSender, Transports

    settings = Settings(f"sqlite:///{database}", database.parent)
    engine = make_engine(settings)
    try:
        begin = make_session_factory(engine).begin
        started = time.perf_counter()
        with begin() as session:
            enqueue_many(session, drafts)
        enqueued = time.perf_counter() - started
        outbound = OutboundSettings(drop_dir=database.parent / "dropped",
                                    smtp_url=f"smtp://127.0.0.1:{port}", batch_size=batch_size)
        sender = OutboxSender(begin, Transports.from_settings(outbound), outbound,
                              lambda: datetime.now(UTC), "bench")
        report = sender.drain()
        if report.failed or report.retrying or report.untried:
            raise BenchmarkError(f"the outbox did not send everything: {len(report.failed)} "
                                 f"failed, {len(report.retrying)} to retry")
        return len(report.sent), enqueued
    finally:
        engine.dispose()


def prepare_database(database: Path) -> None:
    engine = make_engine(Settings(f"sqlite:///{database}", database.parent))
    upgrade(engine)
    engine.dispose()


def run_outbox_benchmark(messages: int, runs: int, batch_size: int,
                         progress: Callable[[str], None]) -> dict[str, Any]:
    drafts = make_drafts(messages)
    wanted = Counter(draft.wire_id for draft in drafts)
    sides = {name: TimedSide(name, _LABELS[name]) for name in (BARE, OUTBOX)}
    client_cpu: dict[str, list[float]] = {BARE: [], OUTBOX: []}
    server_cpu: dict[str, list[float]] = {BARE: [], OUTBOX: []}
    enqueue_seconds: list[float] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-outbox-") as scratch, \
            _sink(Path(scratch)) as (port, log, server):
        offset = 0
        for run in range(runs):
            for name in (BARE, OUTBOX) if run % 2 == 0 else (OUTBOX, BARE):
                progress(f"run {run + 1}/{runs}: {_LABELS[name]}")
                if name == BARE:
                    cpu, server_before = time.process_time(), process_cpu_seconds(server)
                    seconds, sent = timed(lambda: send_bare(port, drafts))
                else:
                    database = Path(scratch) / f"run{run}" / "gateway.db"
                    database.parent.mkdir()
                    prepare_database(database)
                    cpu, server_before = time.process_time(), process_cpu_seconds(server)
                    seconds, result = timed(partial(send_through_outbox, port, drafts,
                                                    database, batch_size))
                    sent, enqueued = cast(tuple[int, float], result)
                    enqueue_seconds.append(enqueued)
                client_cpu[name].append(time.process_time() - cpu)
                server_after = process_cpu_seconds(server)
                if server_before is not None and server_after is not None:
                    server_cpu[name].append(server_after - server_before)
                arrived, offset = _arrived_since(log, offset)
                if sent != messages or arrived != wanted:
                    raise BenchmarkError(f"{name}: {sum(arrived.values())} of {messages} "
                                         f"arrived, {len(wanted - arrived)} missing, "
                                         f"{sum((arrived - wanted).values())} extra")
                sides[name].seconds.append(seconds)
    bare, outbox = sides[BARE].median, sides[OUTBOX].median
    return {
        "build": current_build().as_json(), "messages": messages, "runs": runs,
        "batch_size": batch_size, "load_average": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "sides": {name: {"label": side.label, "seconds": [round(s, 4) for s in side.seconds],
                         "median_seconds": round(side.median, 4),
                         "messages_per_second": round(messages / side.median, 1)}
                  for name, side in sides.items()},
        "enqueue_median_seconds": round(statistics.median(enqueue_seconds), 4),
        "cpu": _cpu_figures(client_cpu, server_cpu),
        "ratio": round(bare / outbox, 3), "target_ratio": TARGET_RATIO,
        "meets_target": bare / outbox >= TARGET_RATIO, "exactly_once": True,
    }


def _cpu_figures(client: dict[str, list[float]],
                 server: dict[str, list[float]]) -> dict[str, Any]:
    """Median CPU seconds of each side in the benchmark's process (preparing the outbox's
    database excepted) and in the receiving server's; and the ratio of their sums, bare over
    outbox: what the wall-clock ratio tends to when the cores are contended and each side
    waits for the CPU rather than for the other. The server's figures are None where /proc is
    not there."""
    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    figures: dict[str, Any] = {name: {"client_seconds": median(client[name]),
                                      "server_seconds": median(server[name])}
                               for name in (BARE, OUTBOX)}
    if all(server[name] for name in (BARE, OUTBOX)):
        total = {name: statistics.median(client[name]) + statistics.median(server[name])
                 for name in (BARE, OUTBOX)}
        figures["ratio"] = round(total[BARE] / total[OUTBOX], 3)
    return figures


def outbox_table(result: dict[str, Any]) -> Table:
    table = Table(title=(f"gateway bench outbox, {result['build']['label']}: "
                         f"{result['messages']:,} messages, {result['runs']} runs per side, "
                         f"load {' '.join(map(str, result['load_average']))}"),
                  title_justify="left")
    for column in ("side", "median s", "msg/s", "runs (s)", "CPU s: client + server"):
        table.add_column(column)
    for name, side in result["sides"].items():
        cpu = result["cpu"][name]
        table.add_row(side["label"], f"{side['median_seconds']:.3f}",
                      f"{side['messages_per_second']:,.0f}",
                      " ".join(f"{s:.3f}" for s in side["seconds"]),
                      f"{cpu['client_seconds']} + {cpu['server_seconds']}")
    verdict = "meets" if result["meets_target"] else "MISSES"
    table.caption = (f"outbox / bare = {result['ratio']:.2f} ({verdict} the target of "
                     f"{result['target_ratio']:.2f}); enqueueing took "
                     f"{result['enqueue_median_seconds']:.3f} s of the outbox side; CPU "
                     f"bare / outbox = {result['cpu'].get('ratio', '-')}; every message "
                     "arrived exactly once")
    return table


def print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console

    Console().print(outbox_table(result))
