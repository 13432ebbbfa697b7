"""`gateway bench startup` and `gateway bench parse-cli`: the command line as a user runs it.

Every side is a whole process, timed from its spawn to its exit and run interleaved with its
baseline, several times (medians). Targets (issue 11, plain install as `make demo` makes it):

- `gateway --help` takes at most 2.5x the time of `python -c "import click"`, and
  `gateway parse one.edi` about what importing click and the EDIFACT reader costs;
- `gateway parse --json` on a 10,000-message DESADV runs at least 5x faster than pydifact's
  `Interchange.from_str` plus a walk over its segments, on the same file;
- peak RSS under 150 MB in every output mode, whatever the input size (10k and 30k messages,
  and about 100 MB).

Peak RSS is the child's own: each side is spawned by a small runner interpreter that waits for
it with `wait4` and reports its `ru_maxrss`. Spawned from this process directly, the child
would report this process's size instead: Linux carries the high-water mark of the address
space a process replaces over into `ru_maxrss` across fork and execve. The runner's own size
(about 10 MB, a bare interpreter) is the floor a reading cannot go under.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from gateway.bench.parse import (
    MB,
    MessageType,
    interchange_header,
    interchange_trailer,
    iter_messages,
    write_interchange,
)

HELP_TARGET = 2.5
JSON_TARGET = 5.0
RSS_LIMIT_MB = 150.0
_KB = 1024

# Runs argv[2:] with stdout to argv[1] (a path, or "-" for /dev/null); prints the seconds, the
# child's CPU seconds, its peak RSS (KB) and its exit status as JSON. Standard library only,
# so that it stays small.
_RUNNER = """\
import json, os, sys, time
out = os.devnull if sys.argv[1] == "-" else sys.argv[1]
actions = [(os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_kb": usage.ru_maxrss,
                  "status": os.waitstatus_to_exitcode(status)}))
"""

_PYDIFACT = """\
import sys, warnings
from pydifact.exceptions import MissingImplementationWarning
from pydifact.segmentcollection import Interchange
# pydifact 0.2 ships no service-segment definitions and warns for every UNB/UNH/UNT/UNZ.
warnings.simplefilter("ignore", MissingImplementationWarning)
with open(sys.argv[1], encoding="latin-1") as file:  # the generator writes UNOC
    text = file.read()
print(sum(1 for _ in Interchange.from_str(text).segments))
"""


class BenchmarkRunError(RuntimeError):
    """A side failed, so its timing measures nothing."""


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    cpu_s: float  # user + system: steadier than wall time on a loaded machine
    peak_mb: float


def run_process(argv: Sequence[str], out: Path | None = None,
                expected_status: int = 0) -> Run:
    """Run `argv` to completion through the runner; its wall time and peak RSS."""
    done = subprocess.run([sys.executable, "-P", "-c", _RUNNER, str(out) if out else "-", *argv],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise BenchmarkRunError(f"the runner failed on {argv!r}:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    if report["status"] != expected_status:
        raise BenchmarkRunError(f"{' '.join(argv)} ended with status {report['status']}")
    return Run(report["seconds"], report["cpu"], report["peak_kb"] / _KB)


def gateway_command() -> list[str]:
    """The `gateway` script of this environment, as a user's shell runs it."""
    script = Path(sysconfig.get_path("scripts")) / "gateway"
    return [str(script)] if script.exists() else [sys.executable, "-P", "-m", "gateway"]


@dataclass(slots=True)
class Side:
    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(run.cpu_s for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {"argv": self.argv, "seconds": [r.seconds for r in self.runs],
                "median_s": self.median_s, "median_cpu_s": self.median_cpu_s,
                "peak_rss_mb": self.peak_mb}


def measure(sides: Sequence[Side], runs: int, step: Callable[[str], None]) -> None:
    """Each side `runs` times, interleaved, so that drift in load hits every side alike."""
    for run, side in itertools.product(range(1, runs + 1), sides):
        step(f"run {run}/{runs}: {side.name}")
        side.runs.append(run_process(side.argv))


# -- startup ------------------------------------------------------------------------------------

_ONE_ORDRSP = ("UNB+UNOC:3+5412345000013:14+5400000000001:14+261120:1015+IC1'"
               "UNH+1+ORDRSP:D:96A:UN:EAN005'BGM+231+RSP-1+29'RFF+ON:4500012345'"
               "LIN+1+5+4000862141404:EN'QTY+113:80:PCE'DTM+69:20261205:102'PRI+AAA:12.50'"
               "UNT+8+1'UNZ+1+IC1'")


def startup_sides(folder: Path) -> list[Side]:
    one = folder / "one.edi"
    one.write_text(_ONE_ORDRSP, encoding="latin-1")
    gateway = gateway_command()
    python = [sys.executable, "-P", "-c"]
    return [
        Side("python -c 'import click'", [*python, "import click"]),
        Side("gateway --help", [*gateway, "--help"]),
        Side("python -c 'import click, <EDIFACT reader>'",
             [*python, "import click, orjson, mappings.edifact.reading"]),
        Side("gateway parse one.edi", [*gateway, "parse", str(one)]),
        Side("gateway parse --json one.edi", [*gateway, "parse", "--json", str(one)]),
    ]


def startup_json(sides: list[Side], runs: int) -> dict[str, Any]:
    by_name = {side.name: side for side in sides}
    click_s = sides[0].median_s
    reader_s = sides[2].median_s
    help_ratio = by_name["gateway --help"].median_s / click_s
    return {
        "runs": runs,
        "sides": {side.name: side.as_json() for side in sides},
        "help_vs_import_click": help_ratio,
        "help_target": HELP_TARGET,
        "help_meets_target": help_ratio <= HELP_TARGET,
        "parse_vs_import_click_and_reader": by_name["gateway parse one.edi"].median_s / reader_s,
    }


# -- parse on big files -------------------------------------------------------------------------

def write_messages(path: Path, message_type: MessageType, count: int) -> int:
    """An interchange of `count` messages written one at a time; its size in bytes."""
    with path.open("wb") as out:
        out.write(interchange_header("BENCH3").encode("latin-1"))
        for text in itertools.islice(iter_messages(message_type), count):
            out.write(text.encode("latin-1"))
        out.write(interchange_trailer(count, "BENCH3").encode("latin-1"))
    return path.stat().st_size


def count_json_lines(path: Path, argv: list[str]) -> int:
    """One untimed `--jsonl` run: the documents it printed, to check the timed ones read all."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder:
        out = Path(folder) / "out.jsonl"
        run_process([*argv, "--jsonl", str(path)], out)
        with out.open("rb") as lines:
            return sum(1 for line in lines if line.startswith(b'{"kind"'))


@dataclass(slots=True)
class Interchange:
    label: str
    path: Path
    messages: int
    size: int
    sides: list[Side]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"messages": self.messages, "file_mb": self.size / MB,
                               "sides": {side.name: side.as_json() for side in self.sides}}
        names = {side.name: side for side in self.sides}
        if "pydifact" in names:
            pydifact, ours = names["pydifact"], names["gateway --json"]
            out["json_vs_pydifact"] = pydifact.median_s / ours.median_s
            out["json_vs_pydifact_cpu"] = pydifact.median_cpu_s / ours.median_cpu_s
        return out


def parse_sides(path: Path, with_pydifact: bool) -> list[Side]:
    gateway = [*gateway_command(), "parse"]
    pydifact = [Side("pydifact", [sys.executable, "-P", "-c", _PYDIFACT, str(path)])]
    ours = [Side(f"gateway {name}", [*gateway, *flags, str(path)])
            for name, flags in (("--json", ["--json"]), ("--jsonl", ["--jsonl"]),
                                ("(table)", []))]
    return pydifact + ours if with_pydifact else ours


def parse_cli_json(interchanges: list[Interchange], runs: int) -> dict[str, Any]:
    sides = [side for item in interchanges for side in item.sides if side.name != "pydifact"]
    first = interchanges[0].as_json()
    ratio = first.get("json_vs_pydifact")
    peak = max(side.peak_mb for side in sides)
    return {
        "runs": runs,
        "interchanges": {item.label: item.as_json() for item in interchanges},
        "json_vs_pydifact": ratio,
        "json_vs_pydifact_cpu": first.get("json_vs_pydifact_cpu"),
        "json_target": JSON_TARGET,
        "json_meets_target": ratio is not None and ratio >= JSON_TARGET,
        "peak_rss_mb": peak,
        "rss_limit_mb": RSS_LIMIT_MB,
        "rss_under_limit": peak < RSS_LIMIT_MB,
    }


def run_parse_cli_benchmark(messages: int, large_messages: int, memory_mb: int, runs: int,
                            step: Callable[[str], None]) -> dict[str, Any]:
    """The DESADV of `messages` side by side with pydifact, `runs` times; then one run per
    output mode on `large_messages` messages and on about `memory_mb` MB, for peak RSS."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as name:
        folder = Path(name)
        interchanges: list[Interchange] = []
        plan = [("desadv", messages, runs, True), ("desadv-large", large_messages, 1, False)]
        for label, count, times, with_pydifact in plan:
            if count < 1:
                continue
            path = folder / f"{label}.edi"
            step(f"writing {count:,} DESADV messages")
            size = write_messages(path, "DESADV", count)
            item = Interchange(label, path, count, size, parse_sides(path, with_pydifact))
            measure(item.sides, times, _prefixed(step, label))
            interchanges.append(item)
        if memory_mb:
            path = folder / "desadv-mb.edi"
            step(f"writing a {memory_mb} MB DESADV")
            count = write_interchange(path, "DESADV", memory_mb * MB)
            item = Interchange(f"desadv-{memory_mb}mb", path, count, path.stat().st_size,
                               parse_sides(path, False))
            measure(item.sides, 1, _prefixed(step, f"{memory_mb} MB"))
            interchanges.append(item)
        first = interchanges[0]
        step("checking that every document was printed")
        printed = count_json_lines(first.path, [*gateway_command(), "parse"])
        if printed != first.messages:
            raise BenchmarkRunError(f"--jsonl printed {printed} documents of {first.messages}")
    return {**parse_cli_json(interchanges, runs), "load": load_average()}


def _prefixed(step: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    return lambda text: step(f"{prefix} {text}")


def run_startup_benchmark(runs: int, step: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as name:
        sides = startup_sides(Path(name))
        measure(sides, runs, step)
    return {**startup_json(sides, runs), "load": load_average()}


# -- the report ---------------------------------------------------------------------------------


def load_average() -> list[float]:
    """What `uptime` shows: the machine's run queue over 1, 5 and 15 minutes."""
    return [round(value, 2) for value in os.getloadavg()]


def _verdict(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def startup_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"gateway bench startup: median of {result['runs']} runs per side, "
                        f"whole processes (load {result['load']})", title_justify="left")
    for column in ("side", "median ms", "CPU ms", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "side" else "right")
    for name, side in result["sides"].items():
        table.add_row(name, f"{side['median_s'] * 1000:.0f}", f"{side['median_cpu_s'] * 1000:.0f}",
                      f"{side['peak_rss_mb']:.0f}")
    table.caption = (
        f"gateway --help / import click: {result['help_vs_import_click']:.2f}x "
        f"(target ≤ {result['help_target']}x {_verdict(result['help_meets_target'])}); "
        f"gateway parse one.edi / import click + EDIFACT reader: "
        f"{result['parse_vs_import_click_and_reader']:.2f}x")
    table.caption_justify = "left"
    return table


def parse_cli_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"gateway bench parse-cli: whole processes, median of {result['runs']} "
                        f"runs on the first file, one on the others (load {result['load']})",
                  title_justify="left")
    for column in ("file", "side", "median s", "CPU s", "peak RSS MB", "vs pydifact"):
        table.add_column(column, justify="left" if column in ("file", "side") else "right")
    for label, item in result["interchanges"].items():
        sides = item["sides"]
        base = sides.get("pydifact", {}).get("median_s")
        for index, (name, side) in enumerate(sides.items()):
            file = (f"{label}: {item['messages']:,} msgs, {item['file_mb']:.0f} MB"
                    if index == 0 else "")
            ratio = f"{base / side['median_s']:.1f}x" if base else ""
            table.add_row(file, name, f"{side['median_s']:.2f}", f"{side['median_cpu_s']:.2f}",
                          f"{side['peak_rss_mb']:.0f}", ratio,
                          end_section=index == len(sides) - 1)
    ratio = result["json_vs_pydifact"]
    table.caption = (
        f"gateway parse --json vs pydifact (from_str + segments): "
        f"{ratio:.2f}x (target ≥ {result['json_target']}x {_verdict(result['json_meets_target'])}"
        f"; CPU time {result['json_vs_pydifact_cpu']:.2f}x)"
        f"; peak RSS of gateway parse, any mode and size: {result['peak_rss_mb']:.0f} MB "
        f"(limit {result['rss_limit_mb']:.0f} MB {_verdict(result['rss_under_limit'])})"
        if ratio is not None else "")
    table.caption_justify = "left"
    return table
