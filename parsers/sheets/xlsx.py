"""xlsx workbooks (Office Open XML, ECMA-376 / ISO/IEC 29500) as tables, with openpyxl.

The archive is checked before openpyxl opens it: member count and the uncompressed sizes the
zip directory declares are held against `SheetLimits`. Python's `zipfile` stops inflating a member
at its declared size (and fails its CRC check if there was more), so the declared sizes bound
what reading can allocate: a zip bomb is refused, not inflated.

The workbook parts (sheet names and states, styles, the date system) are read by openpyxl in
read-only mode, whose warnings become located problems; the shared strings table is read by
`worksheet.read_shared_strings`, against the limits (openpyxl keeps every string it holds), and
the sheets are not sized by openpyxl (without a `dimension` element it parses the whole sheet to
find one). Each worksheet part is then
read in one streaming pass (`worksheet.py`): openpyxl's own row reader builds a Python object per
XML element and cell, several times the cost of the values themselves, and read-only mode does
not expose hidden rows, merged ranges or formulas without a result, which would need a second
pass over the same XML. The values are typed as openpyxl types them.

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
from collections.abc import Sequence
from io import BytesIO

from lxml import etree
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.xml.constants import SHARED_STRINGS

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
from parsers.sheets.worksheet import (
    SheetLayout,
    WorkbookStyles,
    read_shared_strings,
    read_worksheet,
)

# Errors openpyxl, zipfile and the XML parsers raise on a malformed workbook (openpyxl does not
# wrap them); all of them mean "this file is not a readable xlsx".
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, InvalidFileException, etree.LxmlError,
                ElementTree.ParseError, KeyError, ValueError, TypeError, IndexError,
                AttributeError, EOFError, OSError)
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
    cells_read = visited = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = _BoundedExcelReader(data, limits)
        reader.read()
        book = reader.wb
        try:
            styles = _styles(book)
            for sheet in book.worksheets:
                if not isinstance(sheet, ReadOnlyWorksheet):
                    continue
                state = SheetReading(sheet.title, limits, cells_read, cells_visited=visited)
                tables.append(_read_sheet(sheet, archive, styles, state))
                problems.extend(state.problems)
                cells_read, visited = state.cells_read, state.cells_visited
        finally:
            book.close()
    problems[:0] = (SheetProblem(Severity.WARNING, SheetProblemCode.READER_WARNING,
                                 str(item.message)) for item in caught)
    return Workbook(tuple(tables), tuple(problems))


class _UnsizedWorksheet(ReadOnlyWorksheet):
    """openpyxl's read-only sheet, without its size: openpyxl looks for the `dimension` element
    by parsing the sheet's XML up to the end of `sheetData` when there is none, an object per
    element (4.9 million empty cells took half a minute). The rows are read by `worksheet.py`,
    every one, whatever the dimension says."""

    def _get_size(self) -> None:
        return


class _BoundedExcelReader(ExcelReader):
    """openpyxl's workbook reader (what `load_workbook` runs, read-only), but the shared
    strings are read against the limits (`read_shared_strings`) and the sheets are not sized."""

    def __init__(self, data: bytes, limits: SheetLimits) -> None:
        super().__init__(BytesIO(data), read_only=True, data_only=True, keep_links=False)
        self.limits = limits

    def read_strings(self) -> None:
        for part in self.package.Override:  # what `Manifest.find` looks through
            if part.ContentType == SHARED_STRINGS:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = read_shared_strings(source, self.limits)
                return

    def read_worksheets(self) -> None:
        for sheet, relation in self.parser.find_sheets():
            if relation.target not in self.valid_files:
                continue
            # As openpyxl's own `read_worksheets` does (its stubs disagree with it).
            if "chartsheet" in relation.Type:
                self.read_chartsheet(sheet, relation)  # type: ignore[arg-type]
                continue
            worksheet = _UnsizedWorksheet(self.wb, sheet.name, relation.target,
                                          self.shared_strings)
            worksheet.sheet_state = sheet.state or "visible"
            self.wb._sheets.append(worksheet)  # type: ignore[attr-defined]


def _styles(book: OpenpyxlWorkbook) -> WorkbookStyles:
    """The number formats of the workbook's cell styles (ECMA-376 Part 1, 18.8.30 numFmt: ids
    below 164 are built in), and which of them openpyxl's stylesheet reader found to be dates
    and durations. openpyxl keeps these on the workbook without a public name; its read-only
    worksheets read them from there too."""
    custom: list[str] = list(getattr(book, "_number_formats", ()))
    formats = []
    for style in getattr(book, "_cell_styles", ()):
        number_format = int(style.numFmtId)
        if number_format < BUILTIN_FORMATS_MAX_SIZE:
            formats.append(BUILTIN_FORMATS.get(number_format, "General"))
        else:
            index = number_format - BUILTIN_FORMATS_MAX_SIZE
            formats.append(custom[index] if index < len(custom) else "General")
    return WorkbookStyles(book.epoch, frozenset(getattr(book, "_date_formats", ())),
                          frozenset(getattr(book, "_timedelta_formats", ())), tuple(formats))


def _read_sheet(sheet: ReadOnlyWorksheet, archive: zipfile.ZipFile, styles: WorkbookStyles,
                state: SheetReading) -> Table:
    if sheet.sheet_state != "visible":
        state.note(SheetProblemCode.HIDDEN_SHEET,
                   f"sheet {sheet.title!r} is {sheet.sheet_state}; read all the same")
    # Where the sheet's part is and the workbook's shared strings (openpyxl hands both to its
    # read-only sheets, not to the workbook).
    path = getattr(sheet, "_worksheet_path", None)
    strings: Sequence[str] = getattr(sheet, "_shared_strings", ())
    layout = SheetLayout()
    if isinstance(path, str):
        with archive.open(path.lstrip("/")) as source:
            layout = read_worksheet(source, strings, styles, state)
    for reference in layout.uncached:
        column, row, _, _ = range_boundaries(reference)
        state.note(SheetProblemCode.NO_CACHED_VALUE, (
            f"cell {reference} holds a formula saved without its result (the program that "
            "wrote the file did not calculate it); read as empty"), row, column)
    fill_merges(state, layout.merges)
    return _table(sheet.title, state.rows, layout.hidden_rows)


def _table(name: str, rows: list[list[CellValue]], hidden: frozenset[int]) -> Table:
    trimmed = [Row(number, trim_cells(cells), number in hidden)
               for number, cells in enumerate(rows, 1)]
    while trimmed and not trimmed[-1].cells:
        trimmed.pop()
    return Table(name=name, source="xlsx", rows=tuple(trimmed))

