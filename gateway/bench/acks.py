"""What acknowledging costs: parse+map of the `gateway bench parse` interchanges with and
without generating their CONTRL and APERAK, side by side (target: at most 15 % more).

- **parse+map**: `mappings.registry.read_stream` to a list of canonical documents, the reading
  processing did before acknowledgements (it keeps every document of a message for the write).
- **+ acks**: the reading processing does now (`read_message`, which also keeps each message's
  heading), then the CONTRL and APERAK decided and serialised for every message (`always`:
  one UCM and one APERAK per message, the most work an interchange can ask for). No database:
  the counter and the outbox are outside what is measured, as reconciliation is.

Runs alternate between the sides, so drift on a loaded machine hits both alike. Wall-clock
seconds are the figure; the process's CPU seconds are printed beside them, as they hold up
better on a machine shared with other work.
"""

from __future__ import annotations

import gc
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from gateway.bench.common import TimedSide, check
from gateway.bench.parse import MESSAGE_TYPES, MessageType, build_interchange
from gateway.domain.documents import Document
from gateway.services.acknowledgements import (
    AckPolicy,
    AckWhen,
    Answered,
    decide,
    received_interchanges,
    render,
)
from mappings.registry import read_message, read_stream

TARGET_ADDED_PCT = 15.0
_PREPARED = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
_ALWAYS = AckPolicy(AckWhen.ALWAYS, AckWhen.ALWAYS)


def parse_and_map_kept(data: bytes) -> int:
    """Documents read, every one kept, as processing keeps them."""
    results = list(read_stream(io.BufferedReader(io.BytesIO(data)), "bench.edi"))
    return sum(1 for r in results if isinstance(r, Document))


def parse_map_and_acknowledge(data: bytes) -> tuple[int, int]:
    """Documents read, and bytes of acknowledgement interchanges written."""
    reading = read_message(data, "bench.edi")
    answered = [Answered(r, ()) for r in reading.results if isinstance(r, Document)]
    specs = decide(_ALWAYS, received_interchanges(reading.edifact), answered)
    written = sum(len(render(spec, str(n), _PREPARED)) for n, spec in enumerate(specs, 1))
    return len(answered), written


@dataclass(frozen=True, slots=True)
class AckResult:
    message_type: MessageType
    messages: int
    plain: TimedSide
    acked: TimedSide
    plain_cpu: TimedSide
    acked_cpu: TimedSide

    @property
    def added_pct(self) -> float:
        return (self.acked.median / self.plain.median - 1.0) * 100.0

    @property
    def added_cpu_pct(self) -> float:
        return (self.acked_cpu.median / self.plain_cpu.median - 1.0) * 100.0


def _timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds `run` took, after a collection (earlier garbage is not its cost)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def bench_acks(message_type: MessageType, messages: int, runs: int) -> AckResult:
    data = build_interchange(message_type, messages)
    documents, written = parse_map_and_acknowledge(data)
    check("parse+map+acks", documents, messages)
    plain = TimedSide("plain", "parse+map")
    acked = TimedSide("acked", "parse+map + CONTRL and APERAK")
    plain_cpu, acked_cpu = TimedSide("plain", "cpu"), TimedSide("acked", "cpu")
    for _run in range(runs):
        seconds, cpu, tally = _timed(lambda: parse_and_map_kept(data))
        check("parse+map", tally, messages)
        plain.seconds.append(seconds)
        plain_cpu.seconds.append(cpu)
        seconds, cpu, result = _timed(lambda: parse_map_and_acknowledge(data))
        check("parse+map+acks", result, (documents, written))
        acked.seconds.append(seconds)
        acked_cpu.seconds.append(cpu)
    return AckResult(message_type, messages, plain, acked, plain_cpu, acked_cpu)


def ack_table(results: list[AckResult], runs: int) -> Table:
    table = Table(title=f"CONTRL + APERAK generation (median of {runs} runs; target: at most "
                        f"+{TARGET_ADDED_PCT:.0f} %)")
    for column in ("interchange", "parse+map", "+ CONTRL and APERAK", "added",
                   "added (CPU s)"):
        table.add_column(column, justify="right")
    for result in results:
        mark = "ok" if result.added_pct <= TARGET_ADDED_PCT else "over target"
        table.add_row(f"{result.message_type} x {result.messages:,}",
                      f"{result.plain.median:.2f} s", f"{result.acked.median:.2f} s",
                      f"{result.added_pct:+.1f} % ({mark})",
                      f"{result.added_cpu_pct:+.1f} % ({result.plain_cpu.median:.2f} → "
                      f"{result.acked_cpu.median:.2f})")
    return table


def run_ack_benchmark(messages: int, runs: int) -> list[AckResult]:
    results = [bench_acks(message_type, messages, runs) for message_type in MESSAGE_TYPES]
    Console().print(ack_table(results, runs))
    return results
