"""Spreadsheet files (xlsx, csv) -> order responses, with every problem located.

A file is read into tables (`parsers.sheets`), the tables are mapped (`sheets.map_tables`), and
what the reader found wrong (a formula without a cached value, a guessed encoding) is reported
as a `Problem` whose detail says where: "sheet 'Confirmations' row 14 column C: ...".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO

from gateway.domain.documents import Document
from mappings.email.columns import ColumnProfile
from mappings.email.sheets import map_tables
from parsers.errors import Problem, ProblemCode
from parsers.sheets import (
    SheetLimits,
    SheetProblem,
    SheetProblemCode,
    Workbook,
    read_csv,
    read_xlsx,
)

Result = Document | Problem

# The nearest code of the shared list (README: the JSON contract) for each spreadsheet problem.
_CODES: dict[SheetProblemCode, ProblemCode] = {
    SheetProblemCode.NO_CACHED_VALUE: ProblemCode.MISSING_VALUE,
    SheetProblemCode.ERROR_VALUE: ProblemCode.INVALID_NUMBER,
    SheetProblemCode.HIDDEN_SHEET: ProblemCode.SKIPPED_ROW,
    SheetProblemCode.READER_WARNING: ProblemCode.ASSUMED_VALUE,
    SheetProblemCode.ENCODING_ASSUMED: ProblemCode.ASSUMED_VALUE,
    SheetProblemCode.MALFORMED_CSV: ProblemCode.UNSUPPORTED_SYNTAX,
    SheetProblemCode.CORRUPT_WORKBOOK: ProblemCode.UNDECODABLE_BYTES,
    SheetProblemCode.UNSUPPORTED_FORMAT: ProblemCode.UNSUPPORTED_SYNTAX,
    SheetProblemCode.TOO_LARGE: ProblemCode.UNSUPPORTED_SYNTAX,
}


def read_workbook_file(stream: BinaryIO, name: str, *,
                       profile: ColumnProfile | None = None,
                       limits: SheetLimits | None = None) -> Iterator[Result]:
    """An xlsx workbook. Another zip archive (docx, ods, xlsb) or a legacy .xls is refused
    with a `SpreadsheetError` saying what it is and how to send it instead."""
    limits = limits or SheetLimits()
    data = stream.read(limits.max_file_bytes + 1)
    yield from workbook_results(read_xlsx(data, limits), name, profile, "sheet")


def read_csv_file(stream: BinaryIO, name: str, *, table_name: str | None = None,
                  encoding: str | None = None, profile: ColumnProfile | None = None,
                  limits: SheetLimits | None = None) -> Iterator[Result]:
    """A delimited text file; `encoding` is what the sender declared (an email part's
    charset), else UTF-8, else Windows-1252 with a warning."""
    limits = limits or SheetLimits()
    data = stream.read(limits.max_file_bytes + 1)
    table = table_name or PurePath(name).name
    yield from workbook_results(read_csv(data, table, encoding=encoding, limits=limits), name,
                                profile, "file")


def workbook_results(workbook: Workbook, file: str, profile: ColumnProfile | None,
                     kind: str) -> Iterator[Result]:
    """The reader's problems, then the documents and problems of the mapped tables. `kind`
    names a table in a problem's place: "sheet" (xlsx) or "file" (csv)."""
    yield from (sheet_problem(problem, kind) for problem in workbook.problems)
    yield from map_tables(workbook.tables, profile=profile, file=file)


def sheet_problem(problem: SheetProblem, kind: str = "sheet") -> Problem:
    """A spreadsheet reader's problem in the shared form, its place written into the detail."""
    place = " ".join(part for part in (
        f"{kind} {problem.sheet!r}" if problem.sheet else "",
        f"row {problem.row}" if problem.row is not None else "",
        f"column {problem.column}" if problem.column else "") if part)
    detail = f"{place}: {problem.detail}" if place else problem.detail
    return Problem(problem.severity, _CODES[problem.code], detail, segment=problem.row)
