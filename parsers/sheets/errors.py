"""Problems found in a spreadsheet or CSV file, located by sheet, row and column, and the errors
that refuse a file outright.

Exception tree (under the parsers' root, `parsers.errors.ParseError`)::

    ParseError
    └── SpreadsheetError            a file that cannot be read as a table at all
        ├── CorruptWorkbookError    not a readable xlsx or xls (bad zip or OLE2, broken parts)
        ├── UnsupportedWorkbookError    xlsb, ods, Excel 95, a password-protected workbook
        └── WorkbookTooLargeError   past a configured limit (uncompressed size, parts, cells)

Anything wrong inside a readable file (a formula without a cached value, an error cell, a guessed
encoding) is a `SheetProblem`, and the tables are still returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from parsers.errors import ParseError, ProblemCode, Severity


class SheetProblemCode(StrEnum):
    """What was wrong with a spreadsheet, stable for scripts and tests."""

    NO_CACHED_VALUE = "NO_CACHED_VALUE"
    ERROR_VALUE = "ERROR_VALUE"
    HIDDEN_SHEET = "HIDDEN_SHEET"
    READER_WARNING = "READER_WARNING"
    ENCODING_ASSUMED = "ENCODING_ASSUMED"
    MALFORMED_CSV = "MALFORMED_CSV"
    CORRUPT_WORKBOOK = "CORRUPT_WORKBOOK"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    TOO_LARGE = "TOO_LARGE"


@dataclass(frozen=True, slots=True)
class SheetProblem:
    """A located problem: the sheet (or file) name, the row number as the user sees it, the
    column letter (xlsx) or number (csv, from 1), and what, in plain words."""

    severity: Severity
    code: SheetProblemCode
    detail: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, str | int | None]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "code": self.code.value, "severity": self.severity.value, "detail": self.detail}


class SpreadsheetError(ParseError):
    """A file that cannot be read as a table at all. Not retryable."""

    sheet_code: ClassVar[SheetProblemCode] = SheetProblemCode.CORRUPT_WORKBOOK
    # The nearest code of the parsers' shared list, for callers that report any ParseError.
    generic_code: ClassVar[ProblemCode] = ProblemCode.UNDECODABLE_BYTES

    def __init__(self, detail: str) -> None:
        super().__init__(self.generic_code, detail)

    def as_sheet_problem(self, sheet: str | None = None) -> SheetProblem:
        return SheetProblem(Severity.ERROR, self.sheet_code, self.detail, sheet)


class CorruptWorkbookError(SpreadsheetError):
    """Not a readable xlsx or xls: a broken zip archive or OLE2 file, a missing or malformed
    part or record."""


class UnsupportedWorkbookError(SpreadsheetError):
    """A spreadsheet format the readers do not read: xlsb, ods, Excel 5.0/95, an encrypted
    workbook, an OLE2 file that holds no workbook."""

    sheet_code = SheetProblemCode.UNSUPPORTED_FORMAT
    generic_code = ProblemCode.UNSUPPORTED_SYNTAX


class WorkbookTooLargeError(SpreadsheetError):
    """Past a configured limit: refused before it can exhaust memory."""

    sheet_code = SheetProblemCode.TOO_LARGE
    generic_code = ProblemCode.UNSUPPORTED_SYNTAX
