"""Delimited text files (CSV, RFC 4180, and the semicolon, tab and bar variants spreadsheet
programs write) as one table.

The encoding, in this order: the one the caller knows (an email part's charset, a supplier's
profile), a byte-order mark (UTF-8; UTF-16 is what Excel's "Unicode Text" writes), UTF-8, else
`fallback_encoding` (Windows-1252 unless the caller names another, e.g. GB18030 for a supplier in
China whose Excel writes the ANSI code page), with a warning. No statistical guessing: detectors
mistake short GBK files for Korean and German ones for Central European (tried with
charset-normalizer on sample supplier files), and a wrong guess is worse than a stated fallback.

The delimiter is the one of `,` `;` tab `|` that splits the first records into the same number
of fields most consistently (ties: the most fields, then that order); a file where none splits
anything is one column. Quoted fields may hold delimiters, doubled quotes and line breaks;
`Row.number` is the physical line on which a record starts, as an editor shows it. Cells are text,
the empty field is None, trailing empty fields and rows are dropped. A field longer than the csv
module's limit (128 KiB) ends the table there with a located error.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from parsers.errors import Severity
from parsers.mime.charsets import WINDOWS_1252, DecodedText, decode_labelled, decode_unlabelled
from parsers.sheets.errors import SheetProblem, SheetProblemCode, WorkbookTooLargeError
from parsers.sheets.model import CellValue, Row, Table
from parsers.sheets.workbook import SheetLimits, Workbook, trim_cells

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 50


def read_csv(data: bytes, name: str, *, encoding: str | None = None,
             fallback_encoding: str = WINDOWS_1252, delimiter: str | None = None,
             limits: SheetLimits | None = None) -> Workbook:
    """A delimited text file as one `Table` named `name` (see the module docstring)."""
    limits = limits or SheetLimits()
    if len(data) > limits.max_file_bytes:
        raise WorkbookTooLargeError(f"the file has {len(data)} bytes, more than the "
                                    f"{limits.max_file_bytes} accepted")
    problems: list[SheetProblem] = []
    decoded = _decode(data, encoding, fallback_encoding)
    if decoded.note:
        problems.append(SheetProblem(Severity.WARNING, SheetProblemCode.ENCODING_ASSUMED,
                                     decoded.note, name))
    text = decoded.text.removeprefix("\ufeff")
    chosen = delimiter or sniff_delimiter(text)
    rows = _records(text, chosen, name, limits, problems)
    return Workbook((Table(name=name, source="csv", rows=rows),), tuple(problems))


def _decode(data: bytes, encoding: str | None, fallback: str) -> DecodedText:
    if encoding is None:
        return decode_unlabelled(data, fallback)
    decoded = decode_labelled(data, encoding)
    if decoded.note is None:
        return decoded
    # The caller's encoding is wrong for these bytes: fall back as for a file without one.
    unlabelled = decode_unlabelled(data, fallback)
    return DecodedText(unlabelled.text, unlabelled.codec,
                       f"the bytes are not {encoding}; read as {unlabelled.codec}")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records most consistently (module docstring)."""
    head = "\n".join(text.splitlines()[: _SNIFF_RECORDS * 4])
    best, best_score = ",", (0.0, 1)
    for candidate in DELIMITERS:
        counts = [len(record) for record in _first_records(head, candidate) if record]
        if not counts:
            continue
        fields, times = Counter(counts).most_common(1)[0]
        score = (times / len(counts), fields)
        if fields > 1 and score > best_score:
            best, best_score = candidate, score
    return best


def _first_records(head: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader):
            if number >= _SNIFF_RECORDS:
                return
            yield record
    except csv.Error:
        return


def _records(text: str, delimiter: str, name: str, limits: SheetLimits,
             problems: list[SheetProblem]) -> tuple[Row, ...]:
    rows: list[Row] = []
    cells_read = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    first_line = 1
    try:
        for record in reader:
            cells_read += len(record)
            if cells_read > limits.max_cells:
                raise WorkbookTooLargeError(f"more than {limits.max_cells} cells; the file "
                                            "is refused")
            rows.append(Row(first_line, trim_cells([_cell(value) for value in record])))
            first_line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(SheetProblem(Severity.ERROR, SheetProblemCode.MALFORMED_CSV,
                                     f"the file cannot be read past this line: {exc}", name,
                                     first_line))
    while rows and not rows[-1].cells:
        rows.pop()
    return tuple(rows)


def _cell(value: str) -> CellValue:
    return value if value else None
