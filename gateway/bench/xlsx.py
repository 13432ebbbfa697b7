"""`gateway bench xlsx`: a supplier's xlsx confirmation mapped, against openpyxl reading it.

The target (issue): a 10,000-row xlsx confirmation maps at no less than 80% of openpyxl's
read-only row rate on the same file, measured side by side in one run.

- **baseline**: openpyxl `load_workbook(read_only=True, data_only=True)` and every row's
  values (`iter_rows(values_only=True)`): the least any program that reads the sheet does.
- **ours**: the whole path a received spreadsheet takes (`mappings.registry.read_stream`, as for
  an attachment or an uploaded file): the values, hidden rows, merged ranges and formulas read
  (`parsers.sheets.read_spreadsheet`), the header found and every row mapped to canonical order
  responses (`mappings.email.files.workbook_results`). Split into read and map for information.

The workbook is synthetic, seeded and written with openpyxl's write-only mode, shaped like the
confirmations suppliers send: a title block with merged cells above a header row of the usual
column names, then one row per order line, 5-20 lines per order, the delivery date a date cell.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version
from typing import Any

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from rich.console import Console
from rich.table import Table

from gateway.bench.build import current_build
from gateway.bench.common import ReadTally, TimedSide, check, tally, timed
from mappings.email.files import workbook_results
from mappings.registry import read_stream
from parsers.sheets import Workbook, read_spreadsheet

TARGET_RATIO = 0.8
SEED = 1127
FILE_NAME = "confirmation.xlsx"
SHEET_NAME = "Confirmation"

# -- the synthetic confirmation ----------------------------------------------------------------

COLUMNS = ("PO number", "Line", "Item", "Description", "Confirmed qty", "Unit", "Delivery date",
           "Unit price", "Currency", "Status")
_LAST_COLUMN = "J"  # COLUMNS[-1]
# The title block: merged over the table's width, then a blank row, then the header.
_TITLE = ("Order confirmation", "Bench Supplies Ltd, Industriestrasse 12, 70565 Stuttgart",
          "Confirmed on 27 November 2026 by the sales office")
HEADER_ROW = len(_TITLE) + 2
_DESCRIPTIONS = (
    "Hex bolt M8x40 zinc plated", "Cable tie 200 mm black UV", "Washer DIN 125 A2 M10",
    "Safety shoe S3 size 42", "Pipe clamp 1/2 inch rubber lined", "Nitrile gloves L box 100",
    "Sicherheitsschuh Größe 44", "Kugellager 6204 2RS", "Étiquette thermique 100x150",
    "Drill bit HSS 6.5 mm", "Hose 3/8 inch 20 m reel", "Circuit breaker B16 1P",
)
_UNITS = ("PCE", "PCE", "PCE", "pcs", "box", "m")
_STATUSES = ("confirmed", "confirmed", "confirmed", "confirmed", "confirmed", "confirmed",
             "changed", "partial", "rejected")
_FIRST_DELIVERY = date(2026, 12, 1)


def confirmation_rows(rows: int, seed: int = SEED) -> Iterator[tuple[object, ...]]:
    """`rows` order lines as cell values, orders of 5-20 lines, seeded."""
    rng = random.Random(seed)
    order = 4500_000_000
    written = 0
    while written < rows:
        order += rng.randint(1, 40)
        delivery = _FIRST_DELIVERY + timedelta(days=rng.randrange(120))
        for line in range(1, min(rng.randint(5, 20), rows - written) + 1):
            status = rng.choice(_STATUSES)
            quantity = 0 if status == "rejected" else rng.randint(1, 500)
            yield (str(order), line * 10, f"SP-{rng.randrange(100_000):05d}",
                   rng.choice(_DESCRIPTIONS), quantity, rng.choice(_UNITS),
                   delivery + timedelta(days=rng.choice((0, 0, 0, 7, 14))),
                   rng.randrange(5, 50_000) / 100, "EUR", status)
            written += 1


def build_confirmation(rows: int = 10_000, seed: int = SEED) -> bytes:
    """The workbook a supplier would send, as bytes (openpyxl's write-only mode)."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    for number, title in enumerate(_TITLE, 1):
        sheet.append([title])
        sheet.merged_cells.add(f"A{number}:{_LAST_COLUMN}{number}")
    sheet.append([])
    sheet.append(list(COLUMNS))
    for values in confirmation_rows(rows, seed):
        sheet.append(list(values))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the timed sides ---------------------------------------------------------------------------


def openpyxl_rows(data: bytes) -> int:
    """The baseline: every row's values of every sheet, read-only, counted."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(1 for sheet in book.worksheets if isinstance(sheet, ReadOnlyWorksheet)
                   for _ in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def read_and_map(data: bytes) -> ReadTally:
    """Ours: the registry's path for a received .xlsx, to canonical documents."""
    return tally(read_stream(io.BufferedReader(io.BytesIO(data)), FILE_NAME))


def read_only(data: bytes) -> Workbook:
    """Ours, the reading half: values, hidden rows, merged ranges, formulas."""
    return read_spreadsheet(data, FILE_NAME)


def map_only(workbook: Workbook) -> ReadTally:
    """Ours, the mapping half: header, rows to canonical documents."""
    return tally(workbook_results(workbook, FILE_NAME, None, "sheet"))


@dataclass(slots=True)
class XlsxResult:
    rows: int
    size: int
    tally: ReadTally
    sides: dict[str, TimedSide]
    runs: int

    def rate(self, side: str) -> float:
        """Data rows per second."""
        return self.rows / self.sides[side].median

    @property
    def ratio(self) -> float:
        """Ours against the baseline, in rows per second (1.0: as fast)."""
        return self.sides["openpyxl"].median / self.sides["ours"].median

    @property
    def meets_target(self) -> bool:
        return self.ratio >= TARGET_RATIO


def run_sides(data: bytes, rows: int, runs: int,
              step: Callable[[str], None] = lambda _: None) -> XlsxResult:
    """Time every side `runs` times, alternating, after checking each reads the whole file."""
    expected_rows = HEADER_ROW + rows
    check("openpyxl", openpyxl_rows(data), expected_rows)
    ours = read_and_map(data)
    check("ours (lines, errors)", (ours.lines, ours.errors), (rows, 0))
    workbook = read_only(data)
    sides: dict[str, tuple[Callable[[], object], object]] = {
        "openpyxl": (lambda: openpyxl_rows(data), expected_rows),
        "ours": (lambda: read_and_map(data), ours),
        "read": (lambda: len(read_only(data).tables[0].rows), len(workbook.tables[0].rows)),
        "map": (lambda: map_only(workbook), ours),
    }
    labels = {"openpyxl": f"openpyxl {version('openpyxl')} read-only",
              "ours": "ours read+map", "read": "  of which read", "map": "  of which map"}
    results = {name: TimedSide(name, labels[name]) for name in sides}
    for run in range(1, runs + 1):
        order = list(sides) if run % 2 else list(reversed(sides))  # drift hits every side
        for name in order:
            step(f"run {run}/{runs}: {name}")
            call, expected = sides[name]
            seconds, result = timed(call)
            check(name, result, expected)
            results[name].seconds.append(seconds)
    return XlsxResult(rows, len(data), ours, results, runs)


# -- the report --------------------------------------------------------------------------------

_CAPTION = ("openpyxl: load_workbook(read_only=True, data_only=True) + iter_rows(values_only=True)"
            "; ours: read_stream of the .xlsx to canonical Documents (read: read_spreadsheet; "
            "map: header + rows to Documents, informative). rows/s counts data rows.")


def results_json(result: XlsxResult) -> dict[str, Any]:
    return {
        "build": current_build().as_json(),
        "runs": result.runs,
        "rows": result.rows,
        "file_bytes": result.size,
        "documents": result.tally.documents,
        "lines": result.tally.lines,
        "warnings": result.tally.warnings,
        "sides": {name: {"label": side.label, "seconds": side.seconds, "median_s": side.median,
                         "rows_per_s": result.rate(name)}
                  for name, side in result.sides.items()},
        "ratio": result.ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": result.meets_target,
    }


def _ratio_cell(result: XlsxResult, name: str) -> str:
    if name == "openpyxl":
        return "1.00"
    ratio = result.sides["openpyxl"].median / result.sides[name].median
    if name != "ours":
        return f"{ratio:.2f} (info)"
    mark = ("[green]≥ 0.8 ✓[/green]" if result.meets_target else "[red]< 0.8 ✗[/red]")
    return f"{ratio:.2f} {mark}"


def speed_table(result: XlsxResult) -> Table:
    table = Table(title=(f"gateway bench xlsx, {current_build().label}: median of "
                         f"{result.runs} run(s) per side"),
                  title_justify="left", caption=_CAPTION, caption_justify="left")
    for column in ("workbook", "side", "median s", "rows/s", "vs openpyxl"):
        table.add_column(column, justify="left" if column in ("workbook", "side") else "right")
    names = (f"{result.rows:,} rows, {result.size / 1024:,.0f} KiB",
             f"{result.tally.documents:,} orders, {result.tally.lines:,} lines")
    for index, (name, side) in enumerate(result.sides.items()):
        table.add_row(names[index] if index < len(names) else "", side.label,
                      f"{side.median:.3f}", f"{result.rate(name):,.0f}",
                      _ratio_cell(result, name))
    return table


def run_xlsx_benchmark(rows: int, runs: int, as_json: bool) -> None:
    """Generate the workbook, time both sides alternately, print the result."""
    if rows < 1 or runs < 1:
        raise ValueError("rows and runs must be at least 1")
    console = Console(stderr=True)
    with console.status("bench xlsx", spinner="dots") as status:
        status.update(f"writing a {rows:,}-row confirmation")
        data = build_confirmation(rows)
        result = run_sides(data, rows, runs, lambda text: status.update(text))
    if as_json:
        print(json.dumps(results_json(result), indent=2))
        return
    Console().print(speed_table(result))
