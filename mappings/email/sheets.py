"""Spreadsheet rows (xlsx, csv, HTML tables, tables typed in an email) -> order responses.

Each table's header is found by its column names (`columns.find_header`); every row below it
is one answered order line, like an ORDRSP line. Rows are left out, with a located remark, when
hidden or still open ("pending", "offen", "待确认"); blank rows, subtotal and total rows and
repeated header rows are left out silently. A row with a value that cannot be read with
confidence is refused as a whole (a located error) while the other rows go on: a confirmation
missing its date would otherwise confirm the date the buyer asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from gateway.domain.documents import (
    Document,
    Item,
    ItemId,
    Line,
    LineStatus,
    SourceFormat,
)
from mappings.email.answers import Findings, LineAnswer, Origin, Place, build_documents
from mappings.email.columns import ColumnProfile, Header, find_header
from mappings.email.commitment import Doubt, judge
from mappings.email.statements import order_numbers_in
from mappings.email.text import label_key, shorten
from mappings.email.values import (
    DateOrder,
    NumberStyle,
    Status,
    Unreadable,
    currency_code,
    decimal_of,
    find_status,
    read_date_cell,
    read_number,
    read_number_cell,
    read_quantity_text,
    read_status,
    split_amount,
    style_evidence,
    unit_code,
)
from mappings.email.vocabulary import PENDING, TOTAL_WORDS, Field, Language
from parsers.errors import Problem, ProblemCode, Severity
from parsers.sheets.model import CellValue, Row, Table

SHEET_MESSAGE_TYPE = "SPREADSHEET"
_T = TypeVar("_T")
_TOTAL_KEYS = frozenset(label_key(word) for word in TOTAL_WORDS)
_LANGUAGE_STYLE = {Language.GERMAN: NumberStyle.DECIMAL_COMMA,
                   Language.ENGLISH: NumberStyle.DECIMAL_POINT,
                   Language.CHINESE: NumberStyle.DECIMAL_POINT}
_NUMBER_FIELDS = (Field.QUANTITY, Field.CONFIRMED_QUANTITY, Field.ORDERED_QUANTITY, Field.PRICE,
                  Field.LINE_AMOUNT)


def map_tables(tables: tuple[Table, ...], *, profile: ColumnProfile | None = None,
               file: str | None = None) -> list[Document | Problem]:
    """The order responses the rows of `tables` state, one per order number, then located
    problems (errors: a row or table not read; warnings: remarks when no document is left)."""
    findings = Findings()
    unread = []
    for table in tables:
        header = find_header(table, profile)
        if header is None:
            unread.append(table)
            continue
        read_table(table, header, findings, TableReading.of(table, header, profile))
    severity = Severity.WARNING if len(unread) < len(tables) else Severity.ERROR
    for table in unread:
        findings.problems.append(Problem(
            severity, ProblemCode.NOTHING_READABLE,
            f"{table_label(table)}: no header row naming an order number or line and a "
            f"quantity, date or status in its first rows; the {_kind(table)} is not read"))
    results = build_documents(findings, Origin(SourceFormat.SPREADSHEET, SHEET_MESSAGE_TYPE,
                                               file, schedules=True))
    if not any(isinstance(r, Document) for r in results) and not findings.problems:
        results.append(Problem(Severity.ERROR, ProblemCode.NOTHING_READABLE,
                               "no row of the file answers an order line"))
    return results


@dataclass(frozen=True, slots=True)
class TableReading:
    """How to read the rows of one table."""

    date_order: DateOrder | None
    number_style: NumberStyle | None
    default_order: str | None

    @classmethod
    def of(cls, table: Table, header: Header, profile: ColumnProfile | None,
           default_order: str | None = None, number_style: NumberStyle | None = None,
           ) -> TableReading:
        profile = profile or ColumnProfile()
        style = profile.number_style or number_style or _evidence(table, header) or (
            _LANGUAGE_STYLE.get(header.language) if header.language else None)
        order = profile.order_number or _title_order(table, header) or default_order
        return cls(profile.date_order, style, order)


def _evidence(table: Table, header: Header) -> NumberStyle | None:
    columns = [header.columns[f] for f in _NUMBER_FIELDS if f in header.columns]
    texts = [row.cells[i] for row in table.rows for i in columns if i < len(row.cells)]
    return style_evidence(" ".join(t for t in texts if isinstance(t, str)))


def _title_order(table: Table, header: Header) -> str | None:
    """The one order number a title block above the header names ("PO 4500012345")."""
    if header.row is None:
        return None
    above = [c for row in table.rows if row.number < header.row.number for c in row.cells
             if isinstance(c, str)]
    numbers = set(order_numbers_in(" ".join(above)))
    return numbers.pop() if len(numbers) == 1 else None


_WORKBOOKS = frozenset({"xlsx", "xls"})


def table_label(table: Table) -> str:
    if table.source in _WORKBOOKS:
        return f"sheet {table.name!r}"
    if table.source == "html":
        return f"{table.name} in the email body"
    if table.source == "text":
        return "the table in the email body"
    return repr(table.name)


def row_place(table: Table, row: Row) -> Place:
    if table.source == "text":
        return Place(f"line {row.number} of the email body", row.number)
    if table.source == "html":
        return Place(f"{table.name} row {row.number} in the email body", row.number)
    return Place(f"{table_label(table)} row {row.number}", row.number)


def _kind(table: Table) -> str:
    return ("sheet" if table.source in _WORKBOOKS else "table" if table.source != "csv"
            else "file")


def read_table(table: Table, header: Header, findings: Findings, reading: TableReading) -> None:
    """Every row below the header, as answered lines, refusals and remarks in `findings`."""
    start = header.row.number if header.row is not None else 0
    for row in table.rows:
        if row.number <= start or _is_blank(row):
            continue
        place = row_place(table, row)
        if row.hidden:
            findings.note(place, ProblemCode.SKIPPED_ROW,
                          "the row is hidden in the sheet; it is not read")
            continue
        if _is_total(row, header) or _repeats_header(row, header.row):
            continue
        read_row(row, header, reading, place, findings)


def _repeats_header(row: Row, header: Row | None) -> bool:
    """The header row again (a sheet printed with its header on every page): the same names
    cell for cell, compared until the first that differs."""
    if header is None or len(row.cells) != len(header.cells):
        return False
    for mine, theirs in zip(row.cells, header.cells, strict=True):
        if _key(mine) != _key(theirs):
            return False
    return True


def _key(cell: CellValue) -> str:
    return label_key(cell) if isinstance(cell, str) else ""


def _is_blank(row: Row) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row.cells)


def _is_total(row: Row, header: Header) -> bool:
    order = header.columns.get(Field.ORDER_NUMBER)
    line = header.columns.get(Field.ORDER_LINE)
    for index, cell in enumerate(row.cells):
        if isinstance(cell, str) and label_key(cell) in _TOTAL_KEYS:
            return True
        if index in (order, line) and isinstance(cell, str) and label_key(cell).startswith(
                tuple(_TOTAL_KEYS)):
            return True
    return False


class _Cells:
    """The cells of one row by field, and what could not be read in them."""

    def __init__(self, row: Row, header: Header) -> None:
        self.row = row
        self.header = header
        self.columns = header.columns
        self.unreadable: list[tuple[str, Unreadable]] = []

    def cell(self, field_: Field | None) -> CellValue:
        index = self.columns.get(field_) if field_ is not None else None
        if index is None or index >= len(self.row.cells):
            return None
        return self.row.cells[index]

    def text(self, field_: Field | None) -> str | None:
        return cell_text(self.cell(field_))

    def column(self, field_: Field) -> str:
        return self.header.describe(field_)

    def value(self, field_: Field | None, value: _T | Unreadable | None) -> _T | None:
        if isinstance(value, Unreadable):
            assert field_ is not None
            self.unreadable.append((self.column(field_), value))
            return None
        return value


def cell_text(cell: CellValue) -> str | None:
    """A cell as the text a person reads in it (`4500012345`, not `4500012345.0`)."""
    if cell is None:
        return None
    if isinstance(cell, str):
        return cell.strip() or None
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, int | float | Decimal):
        return format(decimal_of(cell), "f")
    return cell.isoformat()


def _pick(header: Header, specific: Field, generic: Field) -> tuple[Field | None, Field | None]:
    """The column the supplier answers in, and the one repeating the buyer's request."""
    if specific in header.columns:
        return specific, generic if generic in header.columns else None
    return (generic if generic in header.columns else None), None


def read_row(row: Row, header: Header, reading: TableReading, place: Place,
             findings: Findings) -> None:
    """One row as an answered line (or a refusal, or a remark) in `findings`."""
    cells = _Cells(row, header)
    quantity_field, ordered_field = _pick(header, Field.CONFIRMED_QUANTITY, Field.QUANTITY)
    date_field, requested_field = _pick(header, Field.CONFIRMED_DATE, Field.DELIVERY_DATE)
    ordered_field = Field.ORDERED_QUANTITY if Field.ORDERED_QUANTITY in header.columns else (
        ordered_field)
    requested_field = Field.REQUESTED_DATE if Field.REQUESTED_DATE in header.columns else (
        requested_field)
    quantity, unit = _quantity(cells, quantity_field, reading)
    ordered, _ = _quantity(cells, ordered_field, reading)
    price, price_currency = _amount(cells, Field.PRICE, reading)
    amount, _ = _amount(cells, Field.LINE_AMOUNT, reading)
    line = Line(
        order_number=cells.text(Field.ORDER_NUMBER) or reading.default_order,
        order_line_no=cells.text(Field.ORDER_LINE),
        item=_item(cells),
        status=None,
        quantity=quantity,
        unit=cells.value(Field.UNIT, _unit(cells)) or unit,
        ordered_quantity=ordered,
        delivery_date=_date(cells, date_field, reading),
        requested_delivery_date=_date(cells, requested_field, reading),
        price=price,
        currency=cells.value(Field.CURRENCY, _currency(cells)) or price_currency
        or header.currency,
        line_amount=amount,
    )
    status = _status(cells)
    if status == PENDING:
        said = cells.text(Field.STATUS) or cells.text(Field.REMARK) or ""
        findings.note(place, ProblemCode.SKIPPED_ROW,
                      f"status {shorten(said)!r} says the line is not answered yet; the row is "
                      "not read", line.order_number)
        return
    if cells.unreadable:
        first = cells.unreadable[0][1]
        detail = "; ".join(f"{where}: {u.reason}" for where, u in cells.unreadable)
        findings.refuse(place, first.code, f"{detail}; the row is not read")
        return
    line.status = status if isinstance(status, LineStatus) else _committed(header, cells)
    _settle(line, place, findings)


# What, said in a remark, undoes a row ("Teillieferung möglich" is no doubt; "ca. 500" is
# in the quantity column's reading, not here).
_UNDOING = frozenset({Doubt.NEGATION, Doubt.DOUBLE_NEGATION, Doubt.QUESTION, Doubt.LATER,
                      Doubt.CONDITION, Doubt.HEDGE})


def _committed(header: Header, cells: _Cells) -> LineStatus | None:
    """A row without a status word is accepted when it fills a column whose name commits
    ("Confirmed qty", "Bestätigte Menge", "确认交期"); otherwise its values alone are no
    confirmation, and it has no status."""
    filled = (cells.text(f) for f in (Field.CONFIRMED_QUANTITY, Field.CONFIRMED_DATE)
              if f in header.columns)
    return LineStatus.ACCEPTED if any(filled) else None


def _settle(line: Line, place: Place, findings: Findings) -> None:
    if not line.order_number:
        findings.refuse(place, ProblemCode.MISSING_VALUE,
                        "no order number in the row or above the table; the row is not read")
    elif not line.order_line_no and not (line.item.gtin or line.item.buyer_part
                                         or line.item.supplier_part or line.item.ids):
        findings.refuse(place, ProblemCode.MISSING_VALUE,
                        "the row names no order line and no item; the row is not read")
    elif (line.quantity is None and line.delivery_date is None and line.status is None
          and line.price is None):
        findings.note(place, ProblemCode.SKIPPED_ROW,
                      "no quantity, date, price or status: the line is not answered here",
                      line.order_number)
    else:
        findings.lines.append(LineAnswer(line, place))


def _quantity(cells: _Cells, field_: Field | None, reading: TableReading
              ) -> tuple[Decimal | None, str | None]:
    cell = cells.cell(field_)
    if isinstance(cell, str) and cell.strip():
        value, unit = read_quantity_text(cell, reading.number_style)
        return cells.value(field_, value), unit
    return cells.value(field_, read_number_cell(cell, reading.number_style)), None


def _amount(cells: _Cells, field_: Field, reading: TableReading
            ) -> tuple[Decimal | None, str | None]:
    cell = cells.cell(field_)
    if isinstance(cell, str) and cell.strip():
        number, currency = split_amount(cell)
        return cells.value(field_, read_number(number, reading.number_style)), currency
    return cells.value(field_, read_number_cell(cell, reading.number_style)), None


def _date(cells: _Cells, field_: Field | None, reading: TableReading) -> date | None:
    return cells.value(field_, read_date_cell(cells.cell(field_), reading.date_order))


def _unit(cells: _Cells) -> str | Unreadable | None:
    text = cells.text(Field.UNIT)
    return unit_code(text) if text else None


def _currency(cells: _Cells) -> str | Unreadable | None:
    text = cells.text(Field.CURRENCY)
    if text is None:
        return None
    code = currency_code(text)
    if code is None:
        return Unreadable(ProblemCode.INVALID_CODE, f"{shorten(text)!r} is not a currency")
    return code


def _item(cells: _Cells) -> Item:
    generic = cells.text(Field.ITEM)
    return Item(gtin=cells.text(Field.GTIN), buyer_part=cells.text(Field.BUYER_PART),
                supplier_part=cells.text(Field.SUPPLIER_PART),
                description=cells.text(Field.DESCRIPTION),
                ids=[ItemId(generic, None)] if generic else [])


def _status(cells: _Cells) -> Status | None:
    """The status column, else a status phrase in the remarks; both, and they disagree:
    the row cannot be read."""
    stated = cells.value(Field.STATUS, read_status(cells.text(Field.STATUS) or ""))
    remark_text = cells.text(Field.REMARK)
    remark = find_status(remark_text) if remark_text else None
    doubt = judge(remark_text) if remark_text and remark is None else None
    if doubt is not None and doubt.doubt in _UNDOING:
        # "cannot confirm", "nicht möglich", "无法确认" in the remarks: whatever the other
        # columns say, the row is not a confirmation.
        cells.unreadable.append((cells.column(Field.REMARK), Unreadable(
            ProblemCode.UNREADABLE_TEXT, f"{shorten(remark_text or '')!r} {doubt.reason()}")))
        return None
    if stated is not None and remark is not None and remark != stated:
        cells.unreadable.append((cells.column(Field.REMARK), Unreadable(
            ProblemCode.CONFLICTING_VALUES,
            f"{shorten(remark_text or '')!r} contradicts the status {cells.text(Field.STATUS)!r}")))
        return None
    return stated or remark
