"""xlsx workbooks (Office Open XML, ECMA-376 / ISO/IEC 29500) as tables, with openpyxl.

The archive is checked before openpyxl opens it: member count and the uncompressed sizes the
zip directory declares are held against `SheetLimits`. Python's `zipfile` stops inflating a member
at its declared size (and fails its CRC check if there was more), so the declared sizes bound
what reading can allocate: a zip bomb is refused, not inflated.

Cell values come from openpyxl in read-only mode (rows are streamed, not kept as cell objects)
with `data_only=True`: a formula gives the result the writing program saved with it. Read-only
mode does not expose row heights, hidden rows or merged ranges, so one streaming pass over each
sheet's XML (lxml iterparse: no network, no entity expansion) collects hidden rows, merged ranges
and formulas saved without a result.

Values as a person sees them: a cell formatted as a date is a `date` (a `datetime` when the format
shows a time); an error value (#N/A, #DIV/0! ...) and a formula with no saved result are None with
a located problem; the empty string is None. A merged range repeats its top-left value into every
cell it covers: suppliers merge an order number over all of its line rows, or a heading over the
columns it names, and each row must read on its own, as it does to the eye. Trailing empty cells
of a row, and empty rows after the last row with a value, are dropped.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any

import openpyxl
from lxml import etree
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from parsers.errors import Severity
from parsers.sheets.biff import ENCRYPTED_STREAM_NAME, OLE2_SIGNATURE, PASSWORD_MESSAGE
from parsers.sheets.errors import (
    CorruptWorkbookError,
    SheetProblem,
    SheetProblemCode,
    UnsupportedWorkbookError,
    WorkbookTooLargeError,
)
from parsers.sheets.model import CellValue, Row, Table
from parsers.sheets.workbook import (
    SheetLimits,
    SheetReading,
    Workbook,
    fill_merges,
    trim_cells,
)

# Errors openpyxl, zipfile and the XML parsers raise on a malformed workbook (openpyxl does not
# wrap them); all of them mean "this file is not a readable xlsx".
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, InvalidFileException, etree.LxmlError,
                ElementTree.ParseError, KeyError, ValueError, TypeError, IndexError,
                AttributeError, EOFError, OSError)
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                           "#GETTING_DATA", "#SPILL!", "#CALC!"})


@dataclass(frozen=True, slots=True)
class _Layout:
    """What read-only openpyxl does not say about a sheet: from its XML."""

    hidden_rows: frozenset[int] = frozenset()
    merges: tuple[tuple[int, int, int, int], ...] = ()  # min_col, min_row, max_col, max_row
    uncached: tuple[str, ...] = ()  # cell references


def read_xlsx(data: bytes, limits: SheetLimits | None = None) -> Workbook:
    """Every worksheet of an xlsx (or xlsm) workbook as a `Table` named after its sheet.

    Raises `UnsupportedWorkbookError` for xls, xlsb, ods and encrypted workbooks,
    `WorkbookTooLargeError` past `limits`, `CorruptWorkbookError` for anything unreadable."""
    limits = limits or SheetLimits()
    if len(data) > limits.max_file_bytes:
        raise WorkbookTooLargeError(f"the file has {len(data)} bytes, more than the "
                                    f"{limits.max_file_bytes} accepted")
    if data.startswith(OLE2_SIGNATURE):
        raise UnsupportedWorkbookError(_ole2_message(data))
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            _check_archive(archive, limits)
            return _read_workbook(data, archive, limits)
    except _READ_ERRORS as exc:
        raise CorruptWorkbookError(f"the file is not a readable xlsx workbook: "
                                   f"{type(exc).__name__}: {exc}") from exc


def _ole2_message(data: bytes) -> str:
    if ENCRYPTED_STREAM_NAME in data:
        return PASSWORD_MESSAGE
    return ("the file is an OLE2 compound file (a legacy .xls, a Word file ...), not an xlsx "
            "workbook: read it with read_xls or read_spreadsheet")


def _check_archive(archive: zipfile.ZipFile, limits: SheetLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise WorkbookTooLargeError(f"the xlsx archive has {len(members)} parts, more than "
                                    f"the {limits.max_members} accepted")
    declared = sum(member.file_size for member in members)
    if declared > limits.max_uncompressed_bytes:
        raise WorkbookTooLargeError(
            f"the xlsx archive unpacks to {declared} bytes, more than the "
            f"{limits.max_uncompressed_bytes} accepted (a compressed bomb or a huge sheet)")
    names = {member.filename for member in members}
    if "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        raise UnsupportedWorkbookError("binary Excel workbooks (.xlsb) are not read; save the "
                                       "file as .xlsx (Excel Workbook) and send it again")
    if "mimetype" in names and archive.read("mimetype").startswith(b"application/vnd.oasis"):
        raise UnsupportedWorkbookError("OpenDocument spreadsheets (.ods) are not read; save "
                                       "the file as .xlsx and send it again")
    raise CorruptWorkbookError("the zip archive holds no workbook (xl/workbook.xml): it is not "
                               "an xlsx file")


def _read_workbook(data: bytes, archive: zipfile.ZipFile, limits: SheetLimits) -> Workbook:
    tables: list[Table] = []
    problems: list[SheetProblem] = []
    cells_read = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        book = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True,
                                      keep_links=False)
        try:
            for sheet in book.worksheets:
                if not isinstance(sheet, ReadOnlyWorksheet):
                    continue
                state = SheetReading(sheet.title, limits, cells_read)
                tables.append(_read_sheet(sheet, archive, state))
                problems.extend(state.problems)
                cells_read = state.cells_read
        finally:
            book.close()
    problems[:0] = (SheetProblem(Severity.WARNING, SheetProblemCode.READER_WARNING,
                                 str(item.message)) for item in caught)
    return Workbook(tuple(tables), tuple(problems))


def _read_sheet(sheet: ReadOnlyWorksheet, archive: zipfile.ZipFile, state: SheetReading) -> Table:
    if sheet.sheet_state != "visible":
        state.note(SheetProblemCode.HIDDEN_SHEET,
                   f"sheet {sheet.title!r} is {sheet.sheet_state}; read all the same")
    path = getattr(sheet, "_worksheet_path", None)
    layout = _read_layout(archive, path) if isinstance(path, str) else _Layout()
    # Read-only iter_rows yields every row from 1, empty tuples for rows not in the file.
    # The typing stubs declare iter_rows for the writable Worksheet only.
    for number, cells in enumerate(sheet.iter_rows(), 1):  # type: ignore[misc]
        state.count(len(cells))
        state.rows.append([_value(cell, number, column, state)
                           for column, cell in enumerate(cells, 1)])
    for reference in layout.uncached:
        column, row, _, _ = range_boundaries(reference)
        state.note(SheetProblemCode.NO_CACHED_VALUE, (
            f"cell {reference} holds a formula saved without its result (the program that "
            "wrote the file did not calculate it); read as empty"), row, column)
    fill_merges(state, layout.merges)
    return _table(sheet.title, state.rows, layout.hidden_rows)


def _value(cell: Any, row: int, column: int, state: SheetReading) -> CellValue:
    value = cell.value
    if getattr(cell, "data_type", None) == "e" or (isinstance(value, str)
                                                   and value in _ERROR_VALUES):
        state.note(SheetProblemCode.ERROR_VALUE, f"error value {value} in the cell; read as "
                   "empty", row, column)
        return None
    if isinstance(value, datetime):
        return value.date() if is_datetime(cell.number_format) == "date" else value
    if isinstance(value, timedelta):
        return str(value)  # a duration format ([h]:mm); the model holds no durations
    if value == "":
        return None
    if isinstance(value, str | int | float | bool | date | time):
        return value
    return None if value is None else str(value)


def _read_layout(archive: zipfile.ZipFile, path: str) -> _Layout:
    """Hidden rows, merged ranges and formulas without a saved result, from the sheet's XML
    (ECMA-376 Part 1, 18.3.1.73 row, 18.3.1.55 mergeCell, 18.3.1.4 c)."""
    hidden: set[int] = set()
    merges: list[tuple[int, int, int, int]] = []
    uncached: list[str] = []
    row_number = 0
    with archive.open(path.lstrip("/")) as source:
        for _event, element in etree.iterparse(
                source, events=("end",), resolve_entities=False, no_network=True,
                load_dtd=False, huge_tree=False):
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag.endswith("}c"):
                if _formula_without_value(element) and element.get("r"):
                    uncached.append(str(element.get("r")))
            elif tag.endswith("}row"):
                row_number = int(element.get("r") or row_number + 1)
                if element.get("hidden") in ("1", "true"):
                    hidden.add(row_number)
                element.clear()
            elif tag.endswith("}mergeCell") and element.get("ref"):
                bounds = range_boundaries(str(element.get("ref")))
                if None not in bounds:
                    merges.append((int(bounds[0] or 0), int(bounds[1] or 0),
                                   int(bounds[2] or 0), int(bounds[3] or 0)))
    return _Layout(frozenset(hidden), tuple(merges), tuple(uncached))


def _formula_without_value(cell: etree._Element) -> bool:
    children = {child.tag.rsplit("}", 1)[-1]: child for child in cell
                if isinstance(child.tag, str)}
    if "f" not in children:
        return False
    value = children.get("v")
    return value is None or not (value.text or "")


def _table(name: str, rows: list[list[CellValue]], hidden: frozenset[int]) -> Table:
    trimmed = [Row(number, trim_cells(cells), number in hidden)
               for number, cells in enumerate(rows, 1)]
    while trimmed and not trimmed[-1].cells:
        trimmed.pop()
    return Table(name=name, source="xlsx", rows=tuple(trimmed))

