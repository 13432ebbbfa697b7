"""Tables as read from a spreadsheet, a CSV file or an HTML table in an email body.

A table is syntax only: rows of cell values with their position as the user sees it (sheet name
and 1-based row number), so an unreadable row can be reported where a person would look for it.
What a column means (order number, quantity, date ...) is decided in `mappings/`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

# What a cell can hold once read: text, a number exactly as stored, a date or time the file typed
# as such (xlsx cells formatted as dates), a boolean, or nothing. CSV cells are always text.
CellValue = str | int | float | Decimal | datetime | date | time | bool | None


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its number in the sheet or file (from 1, as shown to a user) and its cells,
    leftmost first. A row the author hid in the spreadsheet says so."""

    number: int
    cells: tuple[CellValue, ...]
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """The rows of one sheet, CSV file or HTML table, and where they came from.

    `name` is the sheet name (xlsx), the file name (csv) or `table N` (HTML, from 1); `source`
    says which kind ("xlsx", "csv", "html")."""

    name: str
    source: str
    rows: tuple[Row, ...]
