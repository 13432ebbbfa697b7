"""The limits of an xlsx workbook are held before what they bound is allocated: the shared
strings table against the count it declares and the strings read, a sheet's cells (empty ones
too) a row at a time; and empty cells never reach Python."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from openpyxl.reader.strings import read_string_table
from openpyxl.worksheet import _reader as openpyxl_sheet_reader

from gateway.bench.reading import empty_cells_workbook, shared_strings_workbook, workbook
from parsers.sheets import SheetLimits, WorkbookTooLargeError, read_xlsx
from parsers.sheets import worksheet as worksheet_module
from parsers.sheets.worksheet import read_shared_strings

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _count_strings_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    read: list[int] = []
    original = worksheet_module._inline_text

    def counting(element: object) -> str:
        read.append(1)
        return original(element)  # type: ignore[arg-type]

    monkeypatch.setattr(worksheet_module, "_inline_text", counting)
    return read


def test_a_table_declaring_more_strings_than_the_limit_is_refused_before_one_is_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read = _count_strings_read(monkeypatch)
    with pytest.raises(WorkbookTooLargeError, match=r"declares 300 strings \(uniqueCount\), "
                                                    "more than the 100 accepted"):
        read_xlsx(shared_strings_workbook(300), SheetLimits(max_shared_strings=100))
    assert len(read) <= 1  # the first string's end is where the declared count is seen


def test_a_table_holding_more_strings_than_it_declares_is_refused_at_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read = _count_strings_read(monkeypatch)
    with pytest.raises(WorkbookTooLargeError, match="holds more than 100 strings"):
        read_xlsx(shared_strings_workbook(5000, declared=1), SheetLimits(max_shared_strings=100))
    assert len(read) == 101


def test_a_table_past_the_characters_limit_is_refused() -> None:
    data = workbook(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                    b"<si><t>" + b"x" * 600 + b"</t></si>" * 1, 1)
    with pytest.raises(WorkbookTooLargeError, match="or 500 characters"):
        read_xlsx(data, SheetLimits(max_string_chars=500))


def test_shared_strings_read_as_openpyxl_reads_them() -> None:
    table = (f'<sst xmlns="{_NS}" count="5" uniqueCount="5">'
             "<si><t>PO number</t></si><si><t xml:space=\"preserve\"> 80 pcs </t></si>"
             "<si><r><t>Liefer</t></r><r><rPr><b/></rPr><t>termin</t></r></si>"
             "<si><t>交货</t><rPh sb=\"0\" eb=\"1\"><t>jiaohuo</t></rPh></si>"
             "<si><t>a_x005F_x000D_b</t></si><si/></sst>").encode()
    ours = read_shared_strings(io.BytesIO(table), SheetLimits())
    assert ours == list(read_string_table(io.BytesIO(table)))
    assert ours[:3] == ["PO number", " 80 pcs ", "Liefertermin"]


def test_empty_cells_count_against_the_limit_a_row_at_a_time() -> None:
    with pytest.raises(WorkbookTooLargeError,
                       match=r"sheet 'Sheet1' row 2: more than 1000 cells \(empty ones counted"):
        read_xlsx(empty_cells_workbook(5000, per_row=600), SheetLimits(max_cell_elements=1000))


def test_empty_cells_never_reach_python(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_at: list[str | None] = []
    original = worksheet_module._WorksheetReader._value

    def counting(self: object, cell: object, reference: str | None, *rest: int) -> object:
        looked_at.append(reference)
        return original(self, cell, reference, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(worksheet_module._WorksheetReader, "_value", counting)
    empties = b"".join(b'<c r="%s1" s="1"/>' % column.encode() for column in ("A", "B", "D"))
    rows = (b'<row r="1">' + empties + b'<c r="C1" t="s"><v>0</v></c>'
            b'<c r="E1"><v>7</v></c><c r="F1" t="e"/></row>')
    data = workbook(rows, b"<si><t>PO</t></si>", 1)
    book = read_xlsx(data)
    assert book.tables[0].rows[0].cells == (None, None, "PO", None, 7)
    assert looked_at == ["C1", "E1", "F1"]  # an error type alone is still reported
    [problem] = book.problems
    assert problem.column == "F"


def test_cells_without_a_reference_keep_their_columns_among_empty_ones() -> None:
    rows = b'<row r="1"><c/><c t="s"><v>0</v></c><c/><c/><c><v>5</v></c></row>'
    book = read_xlsx(workbook(rows, b"<si><t>PO</t></si>", 1))
    assert book.tables[0].rows[0].cells == (None, "PO", None, None, 5)


def test_a_sheet_is_not_parsed_to_find_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("openpyxl parsed the sheet for its dimension")

    monkeypatch.setattr(openpyxl_sheet_reader.WorkSheetParser, "parse_dimensions", refuse)
    book = read_xlsx(empty_cells_workbook(100))
    assert book.tables[0].rows == ()



def test_a_row_of_empty_cells_without_references_hands_no_cell_to_python() -> None:
    empty = etree.fromstring(f'<row xmlns="{_NS}"><c/><c/><c s="2"/></row>')
    assert list(worksheet_module._cells_to_read(empty)) == []
    # With something in it, every cell is walked: a cell's column is the previous one's + 1.
    mixed = etree.fromstring(f'<row xmlns="{_NS}"><c/><c/><c><v>5</v></c></row>')
    assert len(list(worksheet_module._cells_to_read(mixed))) == 3
    book = read_xlsx(workbook(b'<row r="1"><c/><c/><c/></row><row r="2"><c/><c/><c><v>5</v>'
                              b"</c></row>", b"", 0))
    assert [row.cells for row in book.tables[0].rows] == [(), (None, None, 5)]
