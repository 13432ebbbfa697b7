"""`gateway bench parse`: our parse+map against pydifact's own parse of the same interchange.

The target (issue): parse+map of a 10,000-message DESADV or ORDRSP interchange runs at least 10x
faster than pydifact's `Interchange.from_str` of the same file, measured side by side in one run;
and parsing streams, so a 100 MB interchange parses+maps with a peak RSS under 150 MB.

The interchanges are synthetic, EANCOM D96A-shaped and seeded, so every run measures the same
bytes. MB means 2**20 bytes throughout, RSS included.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from pydifact.exceptions import MissingImplementationWarning
from pydifact.segmentcollection import Interchange
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, ReadTally, TimedSide, check, tally, timed
from mappings.registry import read_stream
from parsers.edifact.tokenizer import iter_segments

MessageType = Literal["ORDRSP", "DESADV"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("ORDRSP", "DESADV")
MB = 1 << 20
TARGET_RATIO = 10.0
RSS_LIMIT_MB = 150.0
SEED = 9735

# -- synthetic interchanges ---------------------------------------------------------------------

_TERMINATOR = "'\n"  # ISO 9735 wants no line break; nearly every partner sends one anyway
_UNA = "UNA:+.? '\n"
_BASE_DATE = date(2024, 1, 1)
_PLAIN_DESCRIPTIONS = (
    "Hex bolt M8x40 zinc plated", "Cable tie 200 mm black UV", "Washer DIN 125 A2 M10",
    "Safety shoe S3 size 42", "Pipe clamp 1/2 inch rubber lined", "Nitrile gloves L box 100",
    "Sicherheitsschuh Größe 44", "Kugellager 6204 2RS", "Étiquette thermique 100x150",
    "Drill bit HSS 6.5 mm", "Hose 3/8 inch 20 m reel", "Circuit breaker B16 1P",
)
# Free text that needs the release character: `?+`, `?'`, `?:` and `??` on the wire.
_RELEASED_DESCRIPTIONS = (
    "Bolt M8+nut set", "O'Brien mounting bracket", "Gear motor ratio 1:10", "Pin type ? spare",
)
_RELEASED_SHARE = 0.1


def escape(text: str, release: str = "?", specials: str = "+:'") -> str:
    """Protect separators in free text with the release character (ISO 9735-1, 7.4)."""
    for char in release + specials:
        text = text.replace(char, release + char)
    return text


def with_check_digit(body: str) -> str:
    """Append the GS1 mod-10 check digit (GTIN, GLN, SSCC)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class _CatalogueItem:
    gtin: str
    part: str
    description: str  # already escaped


class MessageFactory:
    """Seeded EANCOM D96A ORDRSP and DESADV messages, as text with UNH and UNT."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.parties = [with_check_digit(f"40{self.rng.randrange(10**10):010d}")
                        for _ in range(3)]
        self.items = [self._catalogue_item(n) for n in range(500)]
        self._serial = 0

    def _catalogue_item(self, number: int) -> _CatalogueItem:
        rng = self.rng
        released = rng.random() < _RELEASED_SHARE
        text = rng.choice(_RELEASED_DESCRIPTIONS if released else _PLAIN_DESCRIPTIONS)
        return _CatalogueItem(with_check_digit(f"400{rng.randrange(10**9):09d}"),
                              f"SP-{number:05d}", escape(text))

    def message(self, message_type: MessageType, index: int) -> str:
        body = self.ordrsp_body(index) if message_type == "ORDRSP" else self.desadv_body(index)
        reference = f"M{index:07d}"
        segments = [f"UNH+{reference}+{message_type}:D:96A:UN:EAN005", *body,
                    f"UNT+{len(body) + 2}+{reference}"]
        return _TERMINATOR.join(segments) + _TERMINATOR

    def _date(self, after: date = _BASE_DATE, days: int = 365) -> date:
        return after + timedelta(days=self.rng.randrange(1, days))

    def _header(self, document: str, number: str, function: str, order: str) -> list[str]:
        issued = self._date()
        return [
            f"BGM+{document}+{number}+{function}",
            f"DTM+137:{issued:%Y%m%d}{self.rng.randrange(24):02d}00:203",
            f"RFF+ON:{order}",
            *(f"NAD+{role}+{gln}::9" for role, gln in zip(("BY", "SU", "DP"), self.parties,
                                                         strict=True)),
        ]

    def ordrsp_body(self, index: int) -> list[str]:
        rng = self.rng
        order = f"45{index:08d}"
        body = self._header("231", f"RSP{index:07d}", rng.choice(("29", "29", "4")), order)
        delivery = self._date()
        body.insert(2, f"DTM+{rng.choice(('2', '69'))}:{delivery:%Y%m%d}:102")
        body.append("CUX+2:EUR:9")
        lines = rng.randint(5, 20)
        for line_no in range(1, lines + 1):
            body += self._ordrsp_line(line_no, order, delivery)
        return [*body, "UNS+S", f"CNT+2:{lines}"]

    def _ordrsp_line(self, line_no: int, order: str, delivery: date) -> list[str]:
        rng = self.rng
        item = rng.choice(self.items)
        action = rng.choices(("5", "3", "7"), weights=(80, 15, 5))[0]
        ordered = rng.randint(1, 500)
        confirmed = {"5": ordered, "7": 0}.get(action) or rng.randint(1, ordered)
        promised = delivery + timedelta(days=rng.choice((0, 0, 0, 7, 14)))
        return [
            f"LIN+{line_no}+{action}+{item.gtin}:SRV",
            f"PIA+1+{item.part}:SA",
            f"IMD+F++:::{item.description}",
            f"QTY+21:{ordered}:PCE",
            f"QTY+113:{confirmed}:PCE",
            f"DTM+69:{promised:%Y%m%d}:102",
            f"PRI+AAA:{rng.randrange(50, 50000) / 100:.2f}",
            f"RFF+ON:{order}:{line_no}",
        ]

    def desadv_body(self, index: int) -> list[str]:
        """DESADV D96A has no UNS: CNT follows the last CPS group directly."""
        rng = self.rng
        order = f"45{index:08d}"
        body = self._header("351", f"DES{index:07d}", "9", order)
        despatched = self._date()
        body[2:2] = [f"DTM+11:{despatched:%Y%m%d}:102",
                     f"DTM+17:{despatched + timedelta(days=2):%Y%m%d}:102"]
        lines = rng.randint(5, 20)
        pallets = rng.randint(1, min(3, lines))
        body += ["CPS+1", f"PAC+{pallets}++201"]
        cuts = [0, *sorted(rng.sample(range(1, lines), pallets - 1)), lines]
        for pallet in range(pallets):
            body += [f"CPS+{pallet + 2}+1", "PAC+1++201", f"GIN+BJ+{self._sscc()}"]
            for line_no in range(cuts[pallet] + 1, cuts[pallet + 1] + 1):
                body += self._desadv_line(line_no, order, despatched)
        return [*body, f"CNT+2:{lines}"]

    def _desadv_line(self, line_no: int, order: str, despatched: date) -> list[str]:
        item = self.rng.choice(self.items)
        best_before = self._date(despatched, 720)
        return [
            f"LIN+{line_no}++{item.gtin}:EN",
            f"PIA+1+{item.part}:SA",
            f"IMD+F++:::{item.description}",
            f"QTY+12:{self.rng.randint(1, 400)}:PCE",
            f"DTM+361:{best_before:%Y%m%d}:102",
            f"RFF+ON:{order}:{line_no}",
        ]

    def _sscc(self) -> str:
        self._serial += 1
        return with_check_digit(f"3400012{self._serial:010d}")


def interchange_header(reference: str) -> str:
    return (f"{_UNA}UNB+UNOC:3+5412345000013:14+4012345000009:14+240315:1015+{reference}"
            f"{_TERMINATOR}")


def interchange_trailer(count: int, reference: str) -> str:
    return f"UNZ+{count}+{reference}{_TERMINATOR}"


def iter_messages(message_type: MessageType, seed: int = SEED) -> Iterator[str]:
    """An endless stream of messages of one type, numbered from 1."""
    factory = MessageFactory(seed)
    for index in itertools.count(1):
        yield factory.message(message_type, index)


def build_interchange(message_type: MessageType, messages: int, seed: int = SEED) -> bytes:
    """One interchange of `messages` messages, as the bytes a partner would send (UNOC)."""
    body = "".join(itertools.islice(iter_messages(message_type, seed), messages))
    text = interchange_header("BENCH1") + body + interchange_trailer(messages, "BENCH1")
    return text.encode("latin-1")


def write_interchange(path: Path, message_type: MessageType, min_bytes: int,
                      seed: int = SEED) -> int:
    """Write an interchange of at least `min_bytes` one message at a time; its message count."""
    count = 0
    with path.open("wb") as out:
        written = out.write(interchange_header("BENCH2").encode("latin-1"))
        for text in iter_messages(message_type, seed):
            if written >= min_bytes:
                break
            written += out.write(text.encode("latin-1"))
            count += 1
        out.write(interchange_trailer(count, "BENCH2").encode("latin-1"))
    return count


# -- the timed sides ----------------------------------------------------------------------------


def parse_and_map(data: bytes) -> ReadTally:
    """Ours: parse and map every message to a canonical document, keeping none of them."""
    return tally(read_stream(io.BufferedReader(io.BytesIO(data)), "bench"))


def count_segments(data: bytes) -> int:
    """Ours, tokenizer only: segments and problems of the stream."""
    return sum(1 for _ in iter_segments(io.BytesIO(data)))


def pydifact_messages(text: str) -> int:
    """pydifact's own parse of the whole interchange, then its messages, counted.

    `Interchange.from_str` already builds every segment (it consumes the parser); walking
    `get_messages()` also builds pydifact's Message objects, as any caller must to use them.
    pydifact 0.2.3 ships no service-segment definitions and warns MissingImplementationWarning
    for every UNB/UNH/UNS/UNT/UNZ: that one warning is ignored, any other still shows.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        interchange = Interchange.from_str(text)
        return sum(1 for _ in interchange.get_messages())


@dataclass(slots=True)
class TypeResult:
    message_type: MessageType
    size: int
    messages: int
    segments: int
    lines: int
    warnings: int
    sides: dict[str, TimedSide]

    def ratio(self, side: str) -> float:
        return self.sides["pydifact"].median / self.sides[side].median


_LABELS = {
    "pydifact": "pydifact {version}",  # Interchange.from_str + get_messages
    "ours": "ours parse+map",  # mappings.registry.read_stream to Documents
    "tokenizer": "ours tokenizer",  # parsers.edifact.tokenizer.iter_segments only
}
_CAPTION = ("pydifact: Interchange.from_str + get_messages; parse+map: read_stream to canonical "
            "Documents; tokenizer: iter_segments only (informative). MB = 2^20 bytes.")


def _bench_type(message_type: MessageType, messages: int, runs: int,
                step: Callable[[str], None]) -> TypeResult:
    step(f"{message_type}: generating {messages} messages")
    data = build_interchange(message_type, messages)
    text = data.decode("latin-1")
    tally = parse_and_map(data)
    check("parse+map", (tally.documents, tally.errors), (messages, 0))
    segments = count_segments(data)
    expected: dict[str, object] = {"pydifact": messages, "ours": tally, "tokenizer": segments}
    sides: dict[str, Callable[[], object]] = {
        "pydifact": lambda: pydifact_messages(text),
        "ours": lambda: parse_and_map(data),
        "tokenizer": lambda: count_segments(data),
    }
    pydifact_version = version("pydifact")
    results = {side: TimedSide(side, _LABELS[side].format(version=pydifact_version))
               for side in sides}
    for run in range(1, runs + 1):
        for side, call in sides.items():  # interleaved, so drift hits every side alike
            step(f"{message_type} run {run}/{runs}: {side}")
            seconds, result = timed(call)
            check(side, result, expected[side])
            results[side].seconds.append(seconds)
    return TypeResult(message_type, len(data), messages, segments, tally.lines, tally.warnings,
                      results)


# -- peak memory --------------------------------------------------------------------------------

# The child reports its peak RSS as VmHWM, the high-water mark of its own address space. Its
# ru_maxrss will not do: Linux carries the maximum over from the parent across fork and execve,
# so a child of this process (hundreds of MB after pydifact's runs) would report the parent's.
_RSS_SCRIPT = """\
import json, resource, sys, time
from pathlib import Path
from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, TimedSide, check, timed
from gateway.domain.documents import Document
from mappings.registry import read_documents

def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024

imported = peak_mb()
documents = errors = 0
start = time.perf_counter()
for result in read_documents(Path(sys.argv[1])):
    if isinstance(result, Document):
        documents += 1
    elif result.is_error:
        errors += 1
seconds = time.perf_counter() - start
print(json.dumps({"documents": documents, "errors": errors, "seconds": seconds,
                  "import_mb": imported, "peak_mb": peak_mb()}))
"""


@dataclass(frozen=True, slots=True)
class MemoryResult:
    file_mb: float
    messages: int
    seconds: float
    import_rss_mb: float
    peak_rss_mb: float

    @property
    def under_limit(self) -> bool:
        return self.peak_rss_mb < RSS_LIMIT_MB


def measure_memory(memory_mb: int, step: Callable[[str], None]) -> MemoryResult:
    """Parse+map a DESADV of about `memory_mb` MB in a fresh interpreter; its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder:
        path = Path(folder) / "desadv.edi"
        step(f"memory: writing a {memory_mb} MB DESADV")
        messages = write_interchange(path, "DESADV", memory_mb * MB)
        size = path.stat().st_size
        step(f"memory: parse+map of {size / MB:.0f} MB in a subprocess")
        completed = subprocess.run([sys.executable, "-P", "-c", _RSS_SCRIPT, str(path)],
                                   capture_output=True, text=True, check=False)
    if completed.returncode:
        raise BenchmarkError(f"the memory run failed:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    check("memory parse+map", (report["documents"], report["errors"]), (messages, 0))
    return MemoryResult(size / MB, messages, report["seconds"], report["import_mb"],
                        report["peak_mb"])


# -- the report ---------------------------------------------------------------------------------


def _side_json(result: TimedSide, type_result: TypeResult) -> dict[str, Any]:
    median = result.median
    return {
        "label": result.label,
        "seconds": result.seconds,
        "median_s": median,
        "mb_per_s": type_result.size / MB / median,
        "messages_per_s": type_result.messages / median,
        "ratio": type_result.ratio(result.name),
    }


def _type_json(result: TypeResult) -> dict[str, Any]:
    return {
        "file_mb": result.size / MB,
        "messages": result.messages,
        "segments": result.segments,
        "lines": result.lines,
        "warnings": result.warnings,
        "sides": {side: _side_json(r, result) for side, r in result.sides.items()},
        "ratio": result.ratio("ours"),
        "meets_target": result.ratio("ours") >= TARGET_RATIO,
    }


def results_json(results: list[TypeResult], memory: MemoryResult | None,
                 runs: int) -> dict[str, Any]:
    return {
        "build": current_build().as_json(),
        "runs": runs,
        "target_ratio": TARGET_RATIO,
        "types": {r.message_type: _type_json(r) for r in results},
        "memory": None if memory is None else {
            "file_mb": memory.file_mb, "messages": memory.messages, "seconds": memory.seconds,
            "import_rss_mb": memory.import_rss_mb, "peak_rss_mb": memory.peak_rss_mb,
            "limit_mb": RSS_LIMIT_MB, "under_limit": memory.under_limit,
        },
    }


def _ratio_cell(result: TypeResult, side: str) -> str:
    if side == "pydifact":
        return "1.0x"
    ratio = result.ratio(side)
    if side == "tokenizer":
        return f"{ratio:.1f}x (info)"
    mark = "[green]≥ 10x ✓[/green]" if ratio >= TARGET_RATIO else "[red]< 10x ✗[/red]"
    return f"{ratio:.1f}x {mark}"


def speed_table(results: list[TypeResult], runs: int) -> Table:
    table = Table(title=(f"gateway bench parse, {current_build().label}: median of {runs} "
                         "run(s) per side"),
                  title_justify="left", caption=_CAPTION, caption_justify="left")
    for column in ("interchange", "side", "median s", "MB/s", "msgs/s", "vs pydifact"):
        table.add_column(column, justify="left" if column in ("interchange", "side") else "right")
    for result in results:
        names = (result.message_type, f"{result.messages:,} msgs, {result.size / MB:.1f} MB",
                 f"{result.segments:,} segments")
        for index, side in enumerate(result.sides.values()):
            table.add_row(names[index] if index < len(names) else "", side.label,
                          f"{side.median:.3f}", f"{result.size / MB / side.median:.2f}",
                          f"{result.messages / side.median:,.0f}", _ratio_cell(result, side.name),
                          end_section=index == len(result.sides) - 1)
    return table


def memory_line(memory: MemoryResult) -> str:
    verdict = ("[green]under ✓[/green]" if memory.under_limit else "[red]over ✗[/red]")
    return (f"peak memory: parse+map of a {memory.file_mb:.1f} MB DESADV "
            f"({memory.messages:,} messages, {memory.file_mb / memory.seconds:.1f} MB/s) "
            f"in a fresh interpreter: peak RSS {memory.peak_rss_mb:.1f} MB "
            f"(after imports {memory.import_rss_mb:.1f} MB); limit {RSS_LIMIT_MB:.0f} MB: "
            f"{verdict}")


def run_parse_benchmark(messages: int, runs: int, memory_mb: int, as_json: bool) -> None:
    """Generate the interchanges, time both sides, measure peak memory, print the result."""
    if messages < 1 or runs < 1 or memory_mb < 0:
        raise ValueError("messages and runs must be at least 1, memory_mb at least 0")
    steps = len(MESSAGE_TYPES) * (1 + 3 * runs) + (2 if memory_mb else 0)
    with Progress(console=Console(stderr=True), transient=True, disable=as_json) as progress:
        task = progress.add_task("bench parse", total=steps)
        step = _stepper(progress, task)
        results = [_bench_type(t, messages, runs, step) for t in MESSAGE_TYPES]
        memory = measure_memory(memory_mb, step) if memory_mb else None
    if as_json:
        print(json.dumps(results_json(results, memory, runs), indent=2))
        return
    console = Console()
    console.print(speed_table(results, runs))
    if memory is not None:
        console.print(memory_line(memory))


def _stepper(progress: Progress, task: TaskID) -> Callable[[str], None]:
    started = False

    def step(description: str) -> None:
        nonlocal started
        progress.update(task, description=description, advance=1 if started else 0)
        started = True

    return step
