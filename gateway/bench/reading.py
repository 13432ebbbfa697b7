"""`gateway bench reading`: the email body reader is linear in the body, and hostile messages are
refused in bounded time and memory.

The targets (issue): time(1 MiB body) / time(100 KiB body) is at most 12 for every body shape,
each side the median of `--runs` runs; and each hostile message below is refused, with the limit
it went past, in under 2 s and 100 MB of memory beyond what the reader holds before it starts.

- **bodies**: the body reader (`map_email_body`) on one line of `Lieferung 1.5 2,5 ` repeated
  (it took 29 s for 100 KiB when style evidence searched all the text before each number; now
  the whole-text passes run and the line is refused by its length), the same text in
  72-character lines (each line a statement the reader tries), and a realistic reply:
  greetings, statements about order lines in English and German, a quoted original.
- **hostile messages**: each read whole, as received (`read_email_message`: MIME, attachments,
  sheets), in a process of its own, timed, its peak resident memory taken before and after
  (`getrusage`): an xlsx of 8 million shared strings (as declared, and declaring one), an xlsx
  of 4.9 million empty cells, and emails of 2,000 and 4,000 MIME parts.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gateway.bench.build import current_build
from gateway.bench.common import BenchmarkError, TimedSide, timed

TARGET_RATIO = 12.0
TARGET_SECONDS = 2.0
TARGET_EXTRA_MB = 100.0
SMALL, LARGE = 100 * 1024, 1024 * 1024
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# -- bodies ------------------------------------------------------------------------------------

_PATHOLOGICAL_UNIT = "Lieferung 1.5 2,5 "
_REPLY_LINES = (
    "PO {order} line {line}: {qty} pcs, delivery 2026-12-{day:02d}",
    "Pos. {line2}: {qty}.000 Stück, Liefertermin {day:02d}.12.2026",
    "line {line3} confirmed, price 12.50 EUR",
    "Bestellung {order} Position {line4}: Menge {qty} Stück, Preis 7,25 EUR",
    "",
)


def pathological_body(size: int) -> str:
    """One line of `Lieferung 1.5 2,5 ` repeated to `size` characters."""
    return (_PATHOLOGICAL_UNIT * (size // len(_PATHOLOGICAL_UNIT) + 1))[:size]


def pathological_lines(size: int) -> str:
    """The same text in lines of four units (72 characters): each line is a statement the
    reader tries, where one megabyte on one line is refused by its length."""
    line = _PATHOLOGICAL_UNIT * 4 + "\n"
    return (line * (size // len(line) + 1))[:size]


def realistic_body(size: int) -> str:
    """A reply of `size` characters: a greeting, statements about lines of several orders in
    English and German, a closing, then the buyer's quoted order."""
    head = "Dear Ms Hoffmann,\n\nthank you for your orders, we confirm as follows:\n\n"
    tail = "\nBest regards\nJan de Vries\n\n> From: Sabine Hoffmann\n> Sent: Monday\n> PO\n"
    lines: list[str] = []
    length = len(head) + len(tail)
    block = 0
    while length < size:
        order = 4500_000_000 + block // 20
        values = {"order": order, "line": 10 * (block % 20) + 10, "qty": 10 + block % 90,
                  "day": 1 + block % 28, "line2": 10 * (block % 20) + 11,
                  "line3": 10 * (block % 20) + 12, "line4": 10 * (block % 20) + 13}
        for template in _REPLY_LINES:
            line = template.format(**values) + "\n"
            lines.append(line)
            length += len(line)
        block += 1
    return (head + "".join(lines))[:size - len(tail)] + tail


_BODIES: dict[str, Callable[[int], str]] = {"pathological": pathological_body,
                                            "pathological lines": pathological_lines,
                                            "realistic": realistic_body}


def read_body(text: str) -> int:
    """The body reader on one body: how many documents and problems it gave."""
    from mappings.email.body import map_email_body

    return len(map_email_body(text))


@dataclass(slots=True)
class BodyResult:
    """One body shape at both sizes."""

    shape: str
    small: TimedSide
    large: TimedSide

    @property
    def ratio(self) -> float:
        return self.large.median / self.small.median

    @property
    def meets_target(self) -> bool:
        return self.ratio <= TARGET_RATIO


def time_bodies(runs: int, step: Callable[[str], None] = lambda _: None) -> list[BodyResult]:
    """Each shape at 100 KiB and 1 MiB, `runs` times each, alternating the sizes."""
    results = []
    for shape, make in _BODIES.items():
        texts = {SMALL: make(SMALL), LARGE: make(LARGE)}
        sides = {size: TimedSide(shape, f"{size // 1024} KiB") for size in texts}
        for run in range(1, runs + 1):
            for size in (texts if run % 2 else reversed(texts)):
                step(f"{shape} body, run {run}/{runs}, {size // 1024} KiB")
                seconds, _ = timed(partial(read_body, texts[size]))
                sides[size].seconds.append(seconds)
        results.append(BodyResult(shape, sides[SMALL], sides[LARGE]))
    return results


# -- hostile messages --------------------------------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml'
    '"/></Types>')
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_RELATIONSHIPS}/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}" xmlns:r="'
             f'{_RELATIONSHIPS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
             '</sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet"'
    f' Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_RELATIONSHIPS}/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>')


def workbook(rows: bytes, strings: bytes, declared: int) -> bytes:
    """A minimal xlsx: one sheet of `rows` (`row` elements), a shared strings table of
    `strings` (`si` elements) declaring `declared` strings."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}"><sheetData>'
             ).encode() + rows + b"</sheetData></worksheet>"
    table = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_NS}" count="{declared}" '
             f'uniqueCount="{declared}">').encode() + strings + b"</sst>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def shared_strings_workbook(strings: int, declared: int | None = None) -> bytes:
    """`strings` one-letter shared strings, the table declaring `declared` (default: as many)."""
    return workbook(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                    b"<si><t>a</t></si>" * strings, strings if declared is None else declared)


def empty_cells_workbook(cells: int, per_row: int = 16_384) -> bytes:
    """`cells` empty cells (`<c/>`, no reference), `per_row` to a row."""
    rows = []
    for number, start in enumerate(range(0, cells, per_row), 1):
        rows.append(b'<row r="%d">' % number + b"<c/>" * min(per_row, cells - start)
                    + b"</row>")
    return workbook(b"".join(rows), b"", 0)


def email_with_workbook(data: bytes, filename: str = "AB_4500012345.xlsx") -> bytes:
    mail = EmailMessage()
    mail["From"] = "orders@supplier.example"
    mail["Subject"] = "Order confirmation 4500012345"
    mail.set_content("Please find our order confirmation attached.")
    mail.add_attachment(data, maintype="application", subtype=_XLSX_TYPE.split("/")[1],
                        filename=filename)
    return bytes(mail)


def many_parts_email(parts: int) -> bytes:
    """An email of `parts` inline HTML parts, each a small table."""
    out = [b"From: orders@supplier.example\r\nSubject: Confirmation\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=PART\r\n\r\n"]
    for number in range(parts):
        out.append(b"--PART\r\nContent-Type: text/html\r\n\r\n<table><tr><td>PO</td><td>Line"
                   b"</td><td>Qty</td></tr><tr><td>4500012345</td><td>%d</td><td>5</td></tr>"
                   b"</table>\r\n" % number)
    out.append(b"--PART--\r\n")
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class HostileCase:
    """A hostile message and the words its refusal must hold."""

    name: str
    build: Callable[[], bytes]
    refusal: str


CASES = (
    HostileCase("xlsx, 8 million shared strings",
                lambda: email_with_workbook(shared_strings_workbook(8_000_000)),
                "declares 8000000 strings"),
    HostileCase("xlsx, 8 million shared strings declaring 1",
                lambda: email_with_workbook(shared_strings_workbook(8_000_000, declared=1)),
                "shared strings table holds more than"),
    HostileCase("xlsx, 4.9 million empty cells",
                lambda: email_with_workbook(empty_cells_workbook(4_900_000)),
                "empty ones counted"),
    HostileCase("email, 2,000 MIME parts", lambda: many_parts_email(2_000),
                "more than 500 MIME parts"),
    HostileCase("email, 4,000 MIME parts", lambda: many_parts_email(4_000),
                "more than 500 MIME parts"),
)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    input_bytes: int
    seconds: float
    extra_mb: float
    refusal: str

    @property
    def meets_target(self) -> bool:
        return self.seconds < TARGET_SECONDS and self.extra_mb < TARGET_EXTRA_MB


def measure_case(path: str) -> dict[str, Any]:
    """In the measuring process: read the message at `path` as received; its seconds, the
    growth of the peak resident memory while reading, and its errors."""
    from mappings.email.message import read_email_message
    from mappings.registry import reader_for
    from parsers.errors import Problem

    raw = Path(path).read_bytes()
    before = memory_kb("VmRSS")
    start = time.perf_counter()
    reading = read_email_message(raw, "hostile.eml", readers=reader_for)
    seconds = time.perf_counter() - start
    peak = memory_kb("VmHWM")
    errors = [r.detail for r in reading.results if isinstance(r, Problem) and r.is_error]
    return {"seconds": seconds, "extra_kb": max(0, peak - before), "errors": errors}


def memory_kb(field: str) -> int:
    """`VmRSS` (resident now) or `VmHWM` (its peak) of this process, in KiB, from
    /proc/self/status (Linux; proc(5)). The peak after reading less the resident memory before
    is an upper bound of what reading added. Not `getrusage`: its peak survives `exec`, so a
    child started from a big parent reports the parent's."""
    status = Path("/proc/self/status")
    if not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in status.read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise BenchmarkError(f"/proc/self/status has no {field}")


def run_case(case: HostileCase, directory: Path) -> CaseResult:
    """One case in a fresh process (imports and the input loaded before the measurement)."""
    raw = case.build()
    path = directory / "message.eml"
    path.write_bytes(raw)
    code = ("import json, gateway.bench.reading as bench, mappings.email.message;"
            f"print(json.dumps(bench.measure_case({str(path)!r})))")
    done = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise BenchmarkError(f"{case.name}: the measuring process failed: {done.stderr[-2000:]}")
    measured = json.loads(done.stdout)
    refusal = next((e for e in measured["errors"] if case.refusal in e), None)
    if refusal is None:
        raise BenchmarkError(f"{case.name}: not refused with {case.refusal!r}; errors: "
                             f"{measured['errors']!r}")
    return CaseResult(case.name, len(raw), measured["seconds"], measured["extra_kb"] / 1024,
                      refusal)


def run_cases(step: Callable[[str], None] = lambda _: None) -> list[CaseResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-reading-") as directory:
        for case in CASES:
            step(case.name)
            results.append(run_case(case, Path(directory)))
    return results


# -- the report --------------------------------------------------------------------------------


def results_json(bodies: list[BodyResult], cases: list[CaseResult], runs: int) -> dict[str, Any]:
    return {
        "build": current_build().as_json(),
        "runs": runs,
        "bodies": [{"shape": b.shape, "small_bytes": SMALL, "large_bytes": LARGE,
                    "small_seconds": b.small.seconds, "large_seconds": b.large.seconds,
                    "small_median_s": b.small.median, "large_median_s": b.large.median,
                    "ratio": b.ratio, "meets_target": b.meets_target} for b in bodies],
        "target_ratio": TARGET_RATIO,
        "cases": [{"name": c.name, "input_bytes": c.input_bytes, "seconds": c.seconds,
                   "extra_mb": c.extra_mb, "refusal": c.refusal,
                   "meets_target": c.meets_target} for c in cases],
        "target_seconds": TARGET_SECONDS,
        "target_extra_mb": TARGET_EXTRA_MB,
    }


def _mark(good: bool) -> str:
    return "[green]✓[/green]" if good else "[red]✗[/red]"


def body_table(bodies: list[BodyResult], runs: int) -> Table:
    table = Table(title=(f"gateway bench reading, {current_build().label}: the body reader, "
                         f"median of {runs} run(s)"), title_justify="left")
    for column in ("body", "100 KiB s", "1 MiB s", "1 MiB / 100 KiB"):
        table.add_column(column, justify="left" if column == "body" else "right")
    for body in bodies:
        table.add_row(body.shape, f"{body.small.median:.3f}", f"{body.large.median:.3f}",
                      f"{body.ratio:.1f} {_mark(body.meets_target)} (≤ {TARGET_RATIO:g})")
    return table


def case_table(cases: list[CaseResult]) -> Table:
    table = Table(title="hostile messages, each read whole in a process of its own",
                  title_justify="left", caption=(
                      f"target: refused under {TARGET_SECONDS:g} s and {TARGET_EXTRA_MB:g} MB "
                      "of peak memory beyond the process before reading"),
                  caption_justify="left")
    for column in ("message", "KiB", "seconds", "extra MB", "refused with"):
        table.add_column(column, justify="right" if column in ("KiB", "seconds", "extra MB")
                         else "left")
    for case in cases:
        refusal = case.refusal if len(case.refusal) <= 70 else case.refusal[:69] + "…"
        table.add_row(case.name, f"{case.input_bytes / 1024:,.0f}",
                      f"{case.seconds:.2f} {_mark(case.seconds < TARGET_SECONDS)}",
                      f"{case.extra_mb:.1f} {_mark(case.extra_mb < TARGET_EXTRA_MB)}", refusal)
    return table


def run_reading_benchmark(runs: int, as_json: bool) -> None:
    if runs < 1:
        raise ValueError("runs must be at least 1")
    console = Console(stderr=True)
    with console.status("bench reading", spinner="dots") as status:
        bodies = time_bodies(runs, lambda text: status.update(text))
        cases = run_cases(lambda text: status.update(text))
    if as_json:
        print(json.dumps(results_json(bodies, cases, runs), indent=2))
        return
    out = Console()
    out.print(body_table(bodies, runs))
    out.print(case_table(cases))
