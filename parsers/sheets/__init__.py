"""Spreadsheets and delimited text (xlsx, xls, csv) as tables of cell values with located problems.

Syntax only: which column is an order number or a quantity is decided in `mappings/`.
"""

from parsers.sheets.delimited import read_csv, sniff_delimiter
from parsers.sheets.errors import (
    CorruptWorkbookError,
    SheetProblem,
    SheetProblemCode,
    SpreadsheetError,
    UnsupportedWorkbookError,
    WorkbookTooLargeError,
)
from parsers.sheets.formats import read_spreadsheet
from parsers.sheets.model import CellValue, Row, Table
from parsers.sheets.workbook import SheetLimits, Workbook
from parsers.sheets.xls import read_xls
from parsers.sheets.xlsx import read_xlsx

__all__ = [
    "CellValue",
    "CorruptWorkbookError",
    "Row",
    "SheetLimits",
    "SheetProblem",
    "SheetProblemCode",
    "SpreadsheetError",
    "Table",
    "UnsupportedWorkbookError",
    "Workbook",
    "WorkbookTooLargeError",
    "read_csv",
    "read_spreadsheet",
    "read_xls",
    "read_xlsx",
    "sniff_delimiter",
]
