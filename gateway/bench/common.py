"""What every benchmark needs: one error, a timed side with its median, a checked timing,
nearest-rank percentiles and scratch PostgreSQL databases."""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.domain.documents import Document
from parsers.errors import Problem


def process_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (proc(5) field 3 is the first),
    or None where there is no such process or no /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (Linux's /proc), or None elsewhere."""
    fields = process_stat(pid)
    if fields is None:
        return None
    # fields[11], fields[12]: utime and stime in clock ticks (proc(5), fields 14 and 15)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BenchmarkError(RuntimeError):
    """The run did not measure what it claims: a side read something other than what the
    generator wrote, a server or worker did not start, a message was lost or not reconciled."""


@dataclass(slots=True)
class TimedSide:
    """One side of a benchmark and the seconds of each of its runs."""

    name: str
    label: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(run: Callable[[], object]) -> tuple[float, object]:
    """Seconds `run` took, after a collection, so that earlier garbage is not its cost."""
    gc.collect()
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def check(side: str, result: object, expected: object) -> None:
    """A side's timing means something only if it read what the generator wrote."""
    if result != expected:
        raise BenchmarkError(f"{side} read {result!r}, expected {expected!r}")


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of measured values (`fraction` 0.5 the median, 0.99 the 99th):
    always a value that was measured. The rank is rounded before the ceiling so that float
    noise (0.07 * 100 = 7.000000000000001) does not move it up one."""
    ordered = sorted(values)
    rank = math.ceil(round(fraction * len(ordered), 9))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """`nearest_rank`, or None when nothing was measured."""
    return nearest_rank(values, fraction) if values else None


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_server(server_url: str) -> Iterator[Callable[[str], str]]:
    """Yields `create(template)`: a new database (a copy of `template` when given), all
    dropped at the end."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def create(template: str = "") -> str:
        name = f"gateway_bench_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        made.append(name)
        return name

    try:
        yield create
    finally:
        with admin.connect() as connection:
            for name in reversed(made):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True, slots=True)
class ReadTally:
    """What ours made of an input: documents, their lines, errors and warnings."""

    documents: int
    lines: int
    errors: int
    warnings: int


def tally(results: Iterable[Document | Problem]) -> ReadTally:
    """Count what a reader yielded, keeping none of it: a benchmark's check that the timed
    side really read every document."""
    documents = lines = errors = notices = 0
    for result in results:
        if isinstance(result, Document):
            documents += 1
            lines += len(result.lines)
            notices += len(result.warnings)
        elif result.is_error:
            errors += 1
        else:
            notices += 1
    return ReadTally(documents, lines, errors, notices)

