"""What reading a spreadsheet or CSV file gives: its tables and its located problems, and the
limits that keep an untrusted file from exhausting memory (DESIGN.md section 7, point 5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from parsers.sheets.errors import SheetProblem
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
    sizes an xlsx archive declares for its members), `max_members` (archive members) or
    `max_cells` (cells read, over all sheets) a file is refused with `WorkbookTooLargeError`."""

    max_file_bytes: int = 50 * MiB
    max_uncompressed_bytes: int = 200 * MiB
    max_members: int = 10_000
    max_cells: int = 5_000_000


def trim_cells(cells: Sequence[CellValue]) -> tuple[CellValue, ...]:
    """A row's cells without the empty (None) cells after its last value."""
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    return tuple(cells[:end])
