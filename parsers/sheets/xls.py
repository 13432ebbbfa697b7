"""Legacy Excel 97-2003 workbooks (.xls, BIFF8 in an OLE2 compound file) as tables, with
python-calamine for the cell values.

The records are read first (`biff.py`): that refuses an encrypted workbook, an encrypted xlsx
(also an OLE2 file), Excel 5.0/95 and OLE2 files that hold no workbook (.doc, .msg) with what to
send instead; it holds each sheet's extent against `SheetLimits.max_cells` before calamine, which
allocates a sheet from A1 to its last cell, is handed the file; and it finds what calamine does
not report: hidden rows, and error cells (calamine gives an error value as an empty cell).

Values as calamine types them: text; numbers as the file stores them (an integer kept in an RK
record is an `int`, any other number a `float`: `4500012345` is usually `4500012345.0`); a cell
formatted as a date is a `date`, a `datetime` when it holds a time of day, a `time` below one
day; a duration format ([h]:mm) is its text (`1 day, 12:00:00`), as in the xlsx reader;
booleans. A formula gives the result the writing program saved with it (BIFF8 always saves one).
Error values and the empty string are None, each error with a located problem. Merged ranges
repeat their top-left value and hidden rows are flagged, as in the xlsx reader; hidden and very
hidden sheets are read and reported. Only worksheets are read (chart, macro and dialog sheets
hold no rows). Trailing empty cells and rows are dropped.

Not seen: comments, data validation lists, the number format itself (a number formatted as text
or with a thousands separator is the number), and rich text runs (the text only).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import python_calamine

from parsers.sheets.biff import SheetLayout, read_layouts, workbook_stream
from parsers.sheets.errors import (
    CorruptWorkbookError,
    SheetProblem,
    SheetProblemCode,
    WorkbookTooLargeError,
)
from parsers.sheets.model import CellValue, Row, Table
from parsers.sheets.workbook import SheetLimits, SheetReading, Workbook, fill_merges, trim_cells

# What calamine's `to_python` gives for a cell ("" for an empty or error cell).
_CalamineCell = int | float | str | bool | time | date | datetime | timedelta


def read_xls(data: bytes, limits: SheetLimits | None = None) -> Workbook:
    """Every worksheet of a legacy .xls workbook as a `Table` named after its sheet.

    Raises `UnsupportedWorkbookError` for an encrypted workbook or another OLE2 file,
    `WorkbookTooLargeError` past `limits`, `CorruptWorkbookError` for anything unreadable."""
    limits = limits or SheetLimits()
    if len(data) > limits.max_file_bytes:
        raise WorkbookTooLargeError(f"the file has {len(data)} bytes, more than the "
                                    f"{limits.max_file_bytes} accepted")
    layouts = read_layouts(workbook_stream(data))
    extent = sum(layout.cells for layout in layouts.values())
    if extent > limits.max_cells:
        raise WorkbookTooLargeError(f"the sheets span {extent} cells, more than the "
                                    f"{limits.max_cells} accepted")
    try:
        return _read_workbook(data, layouts, limits)
    except python_calamine.CalamineError as exc:
        raise CorruptWorkbookError(f"the file is not a readable Excel 97-2003 workbook (.xls): "
                                   f"{exc}") from exc


def _read_workbook(data: bytes, layouts: dict[str, SheetLayout],
                   limits: SheetLimits) -> Workbook:
    tables: list[Table] = []
    problems: list[SheetProblem] = []
    cells_read = 0
    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
        for metadata in book.sheets_metadata:
            # pyo3 enums compare by value, are not hashable, and are new objects each time.
            if metadata.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            state = SheetReading(metadata.name, limits, cells_read)
            if metadata.visible != python_calamine.SheetVisibleEnum.Visible:
                state.note(SheetProblemCode.HIDDEN_SHEET, f"sheet {metadata.name!r} is "
                           f"{_visibility(metadata.visible)}; read all the same")
            sheet = book.get_sheet_by_name(metadata.name)
            layout = layouts.get(metadata.name, SheetLayout())
            tables.append(_read_sheet(sheet, layout, state))
            problems.extend(state.problems)
            cells_read = state.cells_read
    return Workbook(tuple(tables), tuple(problems))


def _read_sheet(sheet: python_calamine.CalamineSheet, layout: SheetLayout,
                state: SheetReading) -> Table:
    # From A1, so that a row's index is its Excel row number (calamine starts at the first
    # cell with a value unless told not to).
    for cells in sheet.to_python(skip_empty_area=False):
        state.count(len(cells))
        state.rows.append([_value(cell) for cell in cells])
    for (row, column), error in sorted(layout.errors.items()):
        state.note(SheetProblemCode.ERROR_VALUE, f"error value {error} in the cell; read as "
                   "empty", row, column)
    # calamine gives ((first row, first column), (last row, last column)) from 0.
    fill_merges(state, [(first[1] + 1, first[0] + 1, last[1] + 1, last[0] + 1)
                        for first, last in sheet.merged_cell_ranges or ()])
    rows = [Row(number, trim_cells(cells), number in layout.hidden_rows)
            for number, cells in enumerate(state.rows, 1)]
    while rows and not rows[-1].cells:
        rows.pop()
    return Table(name=sheet.name, source="xls", rows=tuple(rows))


def _visibility(visible: python_calamine.SheetVisibleEnum) -> str:
    if visible == python_calamine.SheetVisibleEnum.VeryHidden:
        return "very hidden (only a macro can show it)"
    return "hidden"


def _value(cell: _CalamineCell) -> CellValue:
    if isinstance(cell, timedelta):
        return str(cell)  # a duration format ([h]:mm); the model holds no durations
    return None if cell == "" else cell  # "": an empty cell, or an error (from the records)
