"""One worksheet part of an xlsx workbook, read in a single streaming pass: the cell values,
the hidden rows, the merged ranges and the formulas saved without a result.

The part is SpreadsheetML (ECMA-376 Part 1, 18.3): `worksheet/sheetData/row/c`, a row's `@r`
its 1-based number and `@hidden` whether the author hid it (18.3.1.73); a cell's `@r` its
reference (`B7`), `@t` its type, `@s` its style, `v` its value, `f` its formula and `is` an
inline string (18.3.1.4). Merged ranges come after the rows, in `mergeCells/mergeCell/@ref`
(18.3.1.55). Either `@r` may be left out: the row or cell then follows the previous one. The
optional `dimension` (18.3.1.35) is a hint the writing program may get wrong: every row and cell
of the part is read, also past it (where openpyxl's read-only rows stop).

Values are what openpyxl's read-only, data-only reader gives (the workbook parts, shared
strings and styles are still read with openpyxl; see `xlsx.py`), cell for cell:

- `n` (the default): an int, or a float when the text has `.` or an exponent; with a style
  whose number format is a date (`WorkbookStyles.date_styles`) the day it stands for in the
  workbook's date system (18.17.4), a `timedelta` for a duration format;
- `s`: the shared string at that index; `inlineStr`: the text of `is` (its runs joined,
  phonetic runs left out); `str` (a formula's text result): the text as written;
- `b`: a bool; `d`: an ISO 8601 date-time; `e`: an error value (#N/A ...).

libxml2 parses the part (no network, no entities, no huge-tree mode) and hands over only the
rows, merged ranges and extension lists; each row is released once read, so memory holds the
values, not the XML.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, cast

from lxml import etree
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import EXT_TYPES, SHEET_MAIN_NS

from parsers.sheets.errors import SheetProblemCode, WorkbookTooLargeError
from parsers.sheets.model import CellValue
from parsers.sheets.workbook import SheetLimits, SheetReading

_NS = f"{{{SHEET_MAIN_NS}}}"
_ROW, _CELL, _VALUE, _FORMULA = _NS + "row", _NS + "c", _NS + "v", _NS + "f"
_INLINE, _TEXT, _RUN = _NS + "is", _NS + "t", _NS + "r"
_MERGE, _EXTENSIONS, _EXTENSION = _NS + "mergeCell", _NS + "extLst", _NS + "ext"
_STRING = _NS + "si"
# Evaluated by libxml2, not one Python object per cell: whether a row has a cell without a
# reference (whose column is the previous cell's plus one, so every cell must be walked), and
# its cells that hold something (a value, formula or inline string; an error type alone is
# reported). Empty cells, which a writer may put by the million, are never handed over.
_XPATH_NS = {"s": SHEET_MAIN_NS}
_UNREFERENCED = etree.XPath("boolean(s:c[not(@r)])", namespaces=_XPATH_NS)
_FILLED = etree.XPath("s:c[* or @t='e']", namespaces=_XPATH_NS)
# openpyxl's reading of a `d` cell (its stub leaves the function unannotated).
_from_iso8601: Callable[[str], datetime | date | time | timedelta] = from_ISO8601
_TRUE = frozenset({"1", "true"})  # xsd:boolean
_DIGITS = "0123456789"
ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!"})


@dataclass(frozen=True, slots=True)
class WorkbookStyles:
    """What the workbook's styles part says about a cell's number: the styles whose number
    format is a date or a duration, each style's format code, and the date system."""

    epoch: datetime
    date_styles: frozenset[int] = frozenset()
    duration_styles: frozenset[int] = frozenset()
    formats: tuple[str, ...] = ()  # by style id

    def date_only(self, style: int) -> bool:
        """Whether the style shows a date without a time of day (`yyyy-mm-dd`)."""
        code = self.formats[style] if 0 <= style < len(self.formats) else "General"
        return is_datetime(code) == "date"


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """What a sheet says besides its values: hidden rows, merged ranges (min_col, min_row,
    max_col, max_row, from 1) and the cells holding a formula saved without its result."""

    hidden_rows: frozenset[int] = frozenset()
    merges: tuple[tuple[int, int, int, int], ...] = ()
    uncached: tuple[str, ...] = ()


def read_worksheet(source: IO[bytes], strings: Sequence[str], styles: WorkbookStyles,
                   state: SheetReading) -> SheetLayout:
    """The rows of one worksheet part into `state.rows` (index n-1 is row n, rows missing from
    the part are empty), its error cells noted in `state`, and what else it says."""
    reader = _WorksheetReader(strings, styles, state)
    for _event, element in etree.iterparse(
            source, events=("end",), tag=(_ROW, _MERGE, _EXTENSIONS), resolve_entities=False,
            no_network=True, load_dtd=False, huge_tree=False):
        if element.tag == _ROW:
            reader.row(element)
        elif element.tag == _MERGE:
            reader.merge(element.get("ref"))
        else:
            _warn_extensions(element)
        _release(element)
    return SheetLayout(frozenset(reader.hidden), tuple(reader.merges), tuple(reader.uncached))


def _release(element: etree._Element) -> None:
    """Drop a handled element and the siblings before it: the tree stays a few rows deep."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _warn_extensions(element: etree._Element) -> None:
    # openpyxl warns of every extension it cannot keep (data validation lists, conditional
    # formats, sparklines of Excel 2010+); the caller reports its warnings, so these as well.
    for extension in element.iterchildren(_EXTENSION):
        kind = EXT_TYPES.get((extension.get("uri") or "").upper(), "Unknown")
        warnings.warn(f"{kind} extension is not supported and will be removed", stacklevel=2)


@dataclass
class _WorksheetReader:
    strings: Sequence[str]
    styles: WorkbookStyles
    state: SheetReading
    hidden: set[int] = field(default_factory=set)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    uncached: list[str] = field(default_factory=list)
    last_row: int = 0
    # Caches: column letters to numbers, and (serial, style) to the date it stands for.
    columns: dict[str, int] = field(default_factory=dict)
    dates: dict[tuple[str, int], CellValue] = field(default_factory=dict)

    def row(self, element: etree._Element) -> None:
        number = _row_number(element.get("r"), self.last_row)
        if number <= self.last_row:
            return  # a row out of order: openpyxl's reader skips it too
        rows = self.state.rows
        rows.extend([] for _ in range(number - 1 - len(rows)))
        if element.get("hidden") in _TRUE:
            self.hidden.add(number)
        self.state.visit(len(element), number)
        cells: list[CellValue] = []
        column = 0
        for cell in _cells_to_read(element):
            reference = cell.get("r")
            column = self._column(reference) if reference else column + 1
            if not len(cell) and cell.get("t") != "e":
                continue  # nothing in it
            value = self._value(cell, reference, number, column)
            if value is None:
                continue
            if column > len(cells):
                cells.extend([None] * (column - 1 - len(cells)))
                cells.append(value)
            else:
                cells[column - 1] = value
        self.state.count(len(cells))
        rows.append(cells)
        self.last_row = number

    def _column(self, reference: str) -> int:
        letters = reference.rstrip(_DIGITS)
        column = self.columns.get(letters)
        if column is None:
            column = self.columns[letters] = column_index_from_string(letters)
        return column

    def _value(self, cell: etree._Element, reference: str | None, row: int,
               column: int) -> CellValue:
        kind = cell.get("t", "n")
        text: str | None = None
        inline: etree._Element | None = None
        formula = False
        for child in cell:
            tag = child.tag
            if tag == _VALUE:
                text = child.text
            elif tag == _INLINE:
                inline = child
            elif tag == _FORMULA:
                formula = True
        if formula and not text and reference:
            self.uncached.append(reference)
        if kind == "inlineStr":
            return self._text(_inline_text(inline) if inline is not None else None, row, column)
        if kind == "e":
            self._error(text, row, column)
            return None
        if not text:
            return None
        if kind == "n":
            return self._number(text, cell.get("s"), reference, row, column)
        if kind == "s":
            return self._text(self.strings[int(text)], row, column)
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return self._moment(_from_iso8601(text), _style(cell.get("s")))
        return self._text(text, row, column)  # "str": a formula's text result

    def _text(self, text: str | None, row: int, column: int) -> CellValue:
        if text in ERROR_VALUES:
            self._error(text, row, column)
            return None
        return text or None

    def _error(self, text: str | None, row: int, column: int) -> None:
        self.state.note(SheetProblemCode.ERROR_VALUE,
                        f"error value {text} in the cell; read as empty", row, column)

    def _number(self, text: str, style_text: str | None, reference: str | None, row: int,
                column: int) -> CellValue:
        number: int | float = (float(text) if "." in text or "E" in text or "e" in text
                               else int(text))
        style = _style(style_text)
        if style not in self.styles.date_styles:
            return number
        known = self.dates.get((text, style))
        if known is not None:
            return known
        try:
            moment = from_excel(number, self.styles.epoch,
                                timedelta=style in self.styles.duration_styles)
        except (OverflowError, ValueError):
            warnings.warn(f"Cell {reference} is marked as a date but the serial value {number} "
                          "is outside the limits for dates. The cell will be treated as an "
                          "error.", stacklevel=2)
            self._error("#VALUE!", row, column)
            return None
        value = self.dates[(text, style)] = self._moment(moment, style)
        return value

    def _moment(self, moment: datetime | date | time | timedelta, style: int) -> CellValue:
        if isinstance(moment, datetime):
            return moment.date() if self.styles.date_only(style) else moment
        if isinstance(moment, timedelta):
            return str(moment)  # a duration format ([h]:mm); the model holds no durations
        return moment

    def merge(self, reference: str | None) -> None:
        if not reference:
            return
        bounds = range_boundaries(reference)
        if None not in bounds:
            self.merges.append((int(bounds[0] or 0), int(bounds[1] or 0),
                                int(bounds[2] or 0), int(bounds[3] or 0)))


def _cells_to_read(row: etree._Element) -> Iterable[etree._Element]:
    filled = cast("list[etree._Element]", _FILLED(row))
    if filled and _UNREFERENCED(row):
        return row.iterchildren(_CELL)  # every cell, to count the columns
    return filled


def _style(text: str | None) -> int:
    return int(text) if text else 0


def _row_number(text: str | None, previous: int) -> int:
    if not text:
        return previous + 1
    try:
        return int(text)
    except ValueError:
        number = float(text)  # openpyxl accepts "7.0"; anything else is a broken part
        if not number.is_integer():
            raise
        return int(number)


def read_shared_strings(source: IO[bytes], limits: SheetLimits) -> list[str]:
    """The shared strings table (ECMA-376 Part 1, 18.4.9 `sst`), each `si` read as openpyxl
    reads it. The count the table declares (`uniqueCount`) is held against the limit before a
    string is read, and the strings are counted as they are read: a table past
    `max_shared_strings` strings or `max_string_chars` characters is refused before the next
    string is kept (openpyxl keeps every one, a Python object each)."""
    strings: list[str] = []
    characters = 0
    for _event, element in etree.iterparse(
            source, events=("end",), tag=_STRING, resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False):
        if not strings:
            table = element.getparent()  # `sst`, whose start tag is read by now
            _check_declared(table.get("uniqueCount") if table is not None else None, limits)
        # openpyxl drops the escape of an underscore (`_x005F_`) this way; so do we.
        text = _inline_text(element).replace("x005F_", "")
        characters += len(text)
        if len(strings) >= limits.max_shared_strings or characters > limits.max_string_chars:
            raise WorkbookTooLargeError(
                f"the shared strings table holds more than {limits.max_shared_strings} strings "
                f"or {limits.max_string_chars} characters; the workbook is refused")
        strings.append(text)
        _release(element)
    return strings


def _check_declared(declared: str | None, limits: SheetLimits) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limits.max_shared_strings:
        raise WorkbookTooLargeError(
            f"the shared strings table declares {declared} strings (uniqueCount), more than "
            f"the {limits.max_shared_strings} accepted; the workbook is refused")


def _inline_text(element: etree._Element) -> str:
    """An inline string's text: its `t`, else its runs' `t` joined (18.3.1.53, 18.4.4); the
    phonetic runs (`rPh`) are a reading aid, not the text."""
    plain = ""
    runs: list[str] = []
    for child in element:
        if child.tag == _TEXT:
            plain = child.text or ""
        elif child.tag == _RUN:
            runs.append(child.findtext(_TEXT) or "")
    return plain + "".join(runs)
