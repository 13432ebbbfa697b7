"""Which column of a table holds what: the header row, found by its column names.

The header is the row, among the first `HEADER_SCAN_ROWS`, that names the most known columns,
provided it names an order number or a line, and a quantity, date or status: a title block
above it ("Order confirmation", "PO 4500012345", a logo's alt text) is skipped. A supplier
whose sheet does not fit gets a `ColumnProfile`, which is data: its own column names, fixed
column letters, the header row, its date order and number style.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.email.text import LABELS, label_key, parenthesised
from mappings.email.values import DateOrder, NumberStyle, currency_code
from mappings.email.vocabulary import Field, Language
from parsers.sheets.model import Row, Table

HEADER_SCAN_ROWS = 30
_KEYS = frozenset({Field.ORDER_NUMBER, Field.ORDER_LINE})
_ANSWERS = frozenset({Field.QUANTITY, Field.CONFIRMED_QUANTITY, Field.STATUS,
                      Field.DELIVERY_DATE, Field.CONFIRMED_DATE})


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """How one supplier's sheets (and email tables) are laid out, where the defaults fail.

    `names` adds or overrides column names (`{"Liefer-KW": Field.DELIVERY_DATE}`), compared
    like the built-in ones (case, spaces and punctuation ignored). `columns` fixes columns by
    letter (`{Field.QUANTITY: "F"}`) and wins over names. `header_row` is the 1-based row number
    of the header; data starts below it. `date_order` reads `05/12/2026`; `number_style` reads
    `1.000`. `order_number` answers rows of a sheet without an order number column.
    """

    names: Mapping[str, Field] = field(default_factory=dict)
    columns: Mapping[Field, str] = field(default_factory=dict)
    header_row: int | None = None
    date_order: DateOrder | None = None
    number_style: NumberStyle | None = None
    order_number: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """The header of a table: its row (None when columns are fixed and no header row is
    given), the column index of each field, the currency a header names (`Price (EUR)`), and
    the language of the names."""

    row: Row | None
    columns: dict[Field, int]
    currency: str | None
    language: Language | None
    # How a column is named in a problem's detail: "column C ('Confirmed qty')" in a sheet,
    # "'Quantity' on line 8" in an email.
    names: dict[int, str] = field(default_factory=dict)
    by_letter: bool = True

    def describe(self, field_: Field) -> str:
        index = self.columns[field_]
        name = self.names.get(index)
        if not self.by_letter:
            return name or field_.value.replace("_", " ")
        return f"column {column_letter(index)} ({name!r})" if name else (
            f"column {column_letter(index)} ({field_.value.replace('_', ' ')})")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as a spreadsheet shows them)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_index(letter: str) -> int:
    index = 0
    for char in letter.strip().upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def find_header(table: Table, profile: ColumnProfile | None) -> Header | None:
    """The header of `table`, or None when no row names enough known columns."""
    profile = profile or ColumnProfile()
    names = {label_key(name): f for name, f in profile.names.items()}
    if profile.header_row is not None:
        row = next((r for r in table.rows if r.number == profile.header_row), None)
        header = _read_header(row, names, profile) if row is not None else None
        if header is not None or profile.columns:
            return header or Header(row, _fixed(profile), None, None)
        return None
    best: Header | None = None
    for row in table.rows[:HEADER_SCAN_ROWS]:
        header = _read_header(row, names, profile)
        if header is not None and _usable(header) and (
                best is None or len(header.columns) > len(best.columns)):
            best = header
    if best is None and profile.columns:
        return Header(None, _fixed(profile), None, None)
    return best


def header_of_row(row: Row, profile: ColumnProfile | None) -> Header | None:
    """The header `row` is, when it names an order number or line and an answer column."""
    profile = profile or ColumnProfile()
    names = {label_key(name): f for name, f in profile.names.items()}
    header = _read_header(row, names, profile)
    return header if header is not None and _usable(header) else None


def _fixed(profile: ColumnProfile) -> dict[Field, int]:
    return {f: column_index(letter) for f, letter in profile.columns.items()}


def _usable(header: Header) -> bool:
    found = header.columns.keys()
    return bool(found & _KEYS) and bool(found & _ANSWERS)


def _read_header(row: Row, names: dict[str, Field], profile: ColumnProfile) -> Header | None:
    columns: dict[Field, int] = {}
    labels: dict[int, str] = {}
    languages: dict[Language, int] = {}
    currency = None
    for index, cell in enumerate(row.cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        key = label_key(cell)
        known = LABELS.get(key)
        field_ = names.get(key) or (known[0] if known else None)
        if field_ is None:
            continue
        columns.setdefault(field_, index)
        labels[index] = cell.strip()
        for language in known[1] if known else ():
            languages[language] = languages.get(language, 0) + 1
        inside = parenthesised(cell)
        if field_ in (Field.PRICE, Field.LINE_AMOUNT) and inside:
            currency = currency_code(inside) or currency
    if not columns:
        return None
    columns.update(_fixed(profile))
    top = sorted(languages.items(), key=lambda item: -item[1])
    clear = bool(top) and (len(top) == 1 or top[0][1] > top[1][1])
    return Header(row, columns, currency, top[0][0] if clear else None, labels)
