"""What reading a spreadsheet or CSV file gives: its tables and its located problems, and the
limits that keep an untrusted file from exhausting memory (docs/architecture.md, "Caps and
limits")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl.utils.cell import get_column_letter

from parsers.errors import Severity
from parsers.sheets.errors import SheetProblem, SheetProblemCode, WorkbookTooLargeError
from parsers.sheets.model import CellValue, Table

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Workbook:
    """Every sheet of a workbook as a `Table` (a CSV file gives one), and what was wrong."""

    tables: tuple[Table, ...]
    problems: tuple[SheetProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class SheetLimits:
    """Past `max_file_bytes` (the file as received), `max_uncompressed_bytes` (the sum of the
    sizes an xlsx archive declares for its members), `max_members` (archive members),
    `max_cells` (cells read, over all sheets), `max_cell_elements` (cells an xlsx sheet's XML
    holds, empty ones too, over all sheets: counted a row at a time, before the row's cells are
    looked at), `max_shared_strings` (strings of an xlsx shared strings table, as declared or
    as read) or `max_string_chars` (their characters) a file is refused with
    `WorkbookTooLargeError`."""

    max_file_bytes: int = 50 * MiB
    max_uncompressed_bytes: int = 200 * MiB
    max_members: int = 10_000
    max_cells: int = 5_000_000
    max_cell_elements: int = 2_000_000
    max_shared_strings: int = 500_000
    max_string_chars: int = 32 * MiB


def trim_cells(cells: Sequence[CellValue]) -> tuple[CellValue, ...]:
    """A row's cells without the empty (None) cells after its last value."""
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    return tuple(cells[:end])


@dataclass
class SheetReading:
    """One sheet being read (mutable, for the readers): its rows in order from row 1, its
    problems, and the cells read so far in the whole workbook, held against the limit."""

    name: str
    limits: SheetLimits
    cells_read: int
    rows: list[list[CellValue]] = field(default_factory=list)
    problems: list[SheetProblem] = field(default_factory=list)
    cells_visited: int = 0

    def note(self, code: SheetProblemCode, detail: str, row: int | None = None,
             column: int | None = None, severity: Severity = Severity.WARNING) -> None:
        letter = get_column_letter(column) if column else None
        self.problems.append(SheetProblem(severity, code, detail, self.name, row, letter))

    def visit(self, elements: int, row: int) -> None:
        """Count a row's cell elements before they are looked at (an empty cell costs a
        parser as much as a full one)."""
        self.cells_visited += elements
        if self.cells_visited > self.limits.max_cell_elements:
            raise WorkbookTooLargeError(
                f"sheet {self.name!r} row {row}: more than {self.limits.max_cell_elements} "
                "cells (empty ones counted) in the workbook; it is refused")

    def count(self, cells: int) -> None:
        self.cells_read += cells
        if self.cells_read > self.limits.max_cells:
            raise WorkbookTooLargeError(f"more than {self.limits.max_cells} cells; the "
                                        "workbook is refused")


def fill_merges(state: SheetReading, merges: Sequence[tuple[int, int, int, int]]) -> None:
    """Repeat each merged range's top-left value over the range (min_col, min_row, max_col,
    max_row, from 1), clipped to the rows read and the widest row, so that a range over whole
    columns allocates nothing past the data."""
    width = max((len(row) for row in state.rows), default=0)
    for min_col, min_row, max_col, max_row in merges:
        if min_row > len(state.rows) or min_col > width:
            continue
        top = state.rows[min_row - 1]
        value = top[min_col - 1] if min_col <= len(top) else None
        if value is None:
            continue
        last_row, last_col = min(max_row, len(state.rows)), min(max_col, width)
        state.count((last_row - min_row + 1) * (last_col - min_col + 1))
        for cells in state.rows[min_row - 1:last_row]:
            cells.extend([None] * (last_col - len(cells)))
            cells[min_col - 1:last_col] = [value] * (last_col - min_col + 1)
