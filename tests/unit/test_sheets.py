"""Spreadsheets and CSV files read into tables: parsers/sheets."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest
import xlwt

from parsers.errors import ParseError, Severity
from parsers.sheets import (
    CorruptWorkbookError,
    Row,
    SheetLimits,
    SheetProblemCode,
    UnsupportedWorkbookError,
    WorkbookTooLargeError,
    read_csv,
    read_spreadsheet,
    read_xls,
    read_xlsx,
    sniff_delimiter,
)

SHEET_XML = "xl/worksheets/sheet1.xml"


def _save(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite(data: bytes, member: str, edit) -> bytes:
    """The same archive with one member's text changed: openpyxl never writes the cached result
    of a formula, Excel and LibreOffice do, so the tests write it into the XML themselves."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == member:
                content = edit(content.decode()).encode()
            target.writestr(info.filename, content)
    return out.getvalue()


def _order_book() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Lines"
    sheet.append(["PO", "Line", "Qty", "Total", "Delivery", "Booked at"])
    sheet.append(["4500012345", 10, 2, "=C2*5", date(2026, 12, 5),
                  datetime(2026, 11, 20, 14, 30)])
    sheet["E2"].number_format = "yyyy-mm-dd"
    sheet["F2"].number_format = "yyyy-mm-dd hh:mm"
    sheet["A3"] = "4500012346"
    sheet.merge_cells("A3:A4")
    sheet["B3"], sheet["B4"] = 10, 20
    sheet["D3"] = "=C3*5"
    sheet["A5"] = "internal note"
    sheet.row_dimensions[5].hidden = True
    sheet["A7"] = "end"
    sheet["H7"] = None
    second = book.create_sheet("Notes")
    second["B2"] = "see sheet Lines"
    second.sheet_state = "hidden"
    data = _save(book)
    return _rewrite(data, SHEET_XML, lambda xml: xml.replace(
        "<f>C2*5</f><v></v>", "<f>C2*5</f><v>10</v>"))


def test_xlsx_reads_every_sheet_with_excel_row_numbers():
    workbook = read_xlsx(_order_book())

    assert [table.name for table in workbook.tables] == ["Lines", "Notes"]
    lines = workbook.tables[0]
    assert lines.source == "xlsx"
    assert lines.rows[0] == Row(1, ("PO", "Line", "Qty", "Total", "Delivery", "Booked at"))
    assert lines.rows[-1].number == 7
    notes = workbook.tables[1]
    assert notes.rows == (Row(1, ()), Row(2, (None, "see sheet Lines")))


def test_xlsx_formula_gives_its_cached_value_or_none_with_a_problem():
    workbook = read_xlsx(_order_book())
    lines = workbook.tables[0]

    assert lines.rows[1].cells[3] == 10
    assert lines.rows[2].cells == ("4500012346", 10)  # D3: None, trimmed
    uncached = [p for p in workbook.problems if p.code is SheetProblemCode.NO_CACHED_VALUE]
    assert [(p.sheet, p.row, p.column) for p in uncached] == [("Lines", 3, "D")]


def test_xlsx_dates_are_dates_and_datetimes_by_their_format():
    cells = read_xlsx(_order_book()).tables[0].rows[1].cells

    assert cells[4] == date(2026, 12, 5)
    assert type(cells[4]) is date
    assert cells[5] == datetime(2026, 11, 20, 14, 30)


def test_xlsx_merged_range_repeats_its_top_left_value():
    rows = read_xlsx(_order_book()).tables[0].rows

    assert rows[2].cells[:2] == ("4500012346", 10)
    assert rows[3].cells[:2] == ("4500012346", 20)


def test_xlsx_hidden_rows_are_flagged_and_empty_rows_kept_in_place():
    rows = read_xlsx(_order_book()).tables[0].rows

    assert [row.number for row in rows if row.hidden] == [5]
    assert rows[4] == Row(5, ("internal note",), hidden=True)
    assert rows[5] == Row(6, ())


def test_xlsx_hidden_sheet_is_read_and_reported():
    problems = read_xlsx(_order_book()).problems

    hidden = [p for p in problems if p.code is SheetProblemCode.HIDDEN_SHEET]
    assert [(p.sheet, p.severity) for p in hidden] == [("Notes", Severity.WARNING)]


def test_xlsx_error_value_is_none_with_a_located_problem():
    book = openpyxl.Workbook()
    book.active["B2"] = "x"
    data = _rewrite(_save(book), SHEET_XML, lambda xml: xml.replace(
        '<c r="B2" t="inlineStr"><is><t>x</t></is></c>', '<c r="B2" t="e"><v>#N/A</v></c>'))

    workbook = read_xlsx(data)

    assert workbook.tables[0].rows == ()  # the only value was the error; nothing is left
    [problem] = workbook.problems
    assert (problem.code, problem.row, problem.column) == (SheetProblemCode.ERROR_VALUE, 2, "B")


def test_xlsx_merge_over_whole_columns_is_clipped_to_the_data():
    book = openpyxl.Workbook()
    book.active["A1"] = "header"
    book.active["B2"] = "x"
    data = _rewrite(_save(book), SHEET_XML, lambda xml: xml.replace(
        "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/>'
        "</mergeCells>"))

    rows = read_xlsx(data).tables[0].rows

    assert rows == (Row(1, ("header", "header")), Row(2, ("header", "header")))


def test_xlsx_declared_uncompressed_size_past_the_limit_is_refused():
    data = _order_book()
    with pytest.raises(WorkbookTooLargeError, match="unpacks to"):
        read_xlsx(data, SheetLimits(max_uncompressed_bytes=1000))


def test_xlsx_zip_bomb_is_refused_before_inflating():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(SHEET_XML, b"<" + b" " * (20 * 1024 * 1024) + b"/>")
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    with pytest.raises(WorkbookTooLargeError):
        read_xlsx(bomb, SheetLimits(max_uncompressed_bytes=10 * 1024 * 1024))


def test_xlsx_cell_limit_refuses_the_file():
    with pytest.raises(WorkbookTooLargeError, match="cells"):
        read_xlsx(_order_book(), SheetLimits(max_cells=10))


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", b"PK\x03\x04" + bytes(100)])
def test_corrupt_xlsx_is_a_parse_error_with_a_clear_message(data):
    with pytest.raises(CorruptWorkbookError, match="not a readable xlsx") as caught:
        read_spreadsheet(data, "confirmation.xlsx")
    assert isinstance(caught.value, ParseError)
    assert caught.value.as_problem().is_error


def test_zip_without_workbook_is_not_an_xlsx():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    with pytest.raises(CorruptWorkbookError, match="holds no workbook"):
        read_xlsx(out.getvalue())


def test_broken_sheet_xml_is_a_corrupt_workbook():
    data = _rewrite(_save(openpyxl.Workbook()), SHEET_XML, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(CorruptWorkbookError):
        read_xlsx(data)


def test_broken_xls_and_encrypted_workbooks_are_refused_with_what_to_do():
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    with pytest.raises(CorruptWorkbookError, match=r"not a readable Excel 97-2003 workbook"):
        read_spreadsheet(ole2 + b"Workbook", "order.xls")
    encrypted = ole2 + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(UnsupportedWorkbookError, match="password"):
        read_spreadsheet(encrypted, "order.xlsx")


def test_xlsb_and_ods_are_refused():
    for member, content, what in (("xl/workbook.bin", b"", "xlsb"),
                                  ("mimetype", b"application/vnd.oasis.opendocument."
                                   b"spreadsheet", "ods")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(member, content)
        with pytest.raises(UnsupportedWorkbookError, match=f"\\.{what}"):
            read_xlsx(out.getvalue())


def test_openpyxl_warnings_become_problems_not_warnings():
    data = _rewrite(_order_book(), "xl/styles.xml", lambda xml: re.sub(
        r"<cellStyles.*?</cellStyles>", "", xml, flags=re.S))
    data = _rewrite(data, "[Content_Types].xml", lambda xml: xml.replace(
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>',
        ""))

    workbook = read_xlsx(data)  # filterwarnings=error: a leaked warning fails the test

    readers = [p for p in workbook.problems if p.code is SheetProblemCode.READER_WARNING]
    assert readers
    assert "style" in readers[0].detail.lower()


def _without_dimension(xml: str) -> str:
    """The sheet without its <dimension> (optional, ECMA-376 Part 1, 18.3.1.35), so that
    the cells written into it below are not outside the range it declares."""
    return re.sub(r"<dimension [^>]*/>", "", xml)


def _with_shared_strings(data: bytes, strings: list[str]) -> bytes:
    """The archive with a shared-string table, as Excel and LibreOffice write one."""
    table = "".join(f"<si>{item}</si>" for item in strings)
    data = _rewrite(data, "[Content_Types].xml", lambda xml: xml.replace("</Types>", (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')))
    data = _rewrite(data, "xl/_rels/workbook.xml.rels", lambda xml: xml.replace(
        "</Relationships>", '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        target.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/'
                        f'spreadsheetml/2006/main">{table}</sst>')
    return out.getvalue()


def test_xlsx_cell_types_are_read_as_written():
    book = openpyxl.Workbook()
    book.active["A1"] = "placeholder"
    cells = ('<c r="A1" t="s"><v>1</v></c><c r="B1" t="str"><f>A1</f><v>via formula</v></c>'
             '<c r="C1" t="b"><v>1</v></c><c r="D1" t="d"><v>2026-12-05T08:30:00</v></c>'
             '<c r="E1" t="inlineStr"><is><r><t>Best</t></r><r><rPr><b/></rPr><t>ätigt</t></r>'
             '<rPh sb="0" eb="1"><t>reading aid</t></rPh></is></c>'
             '<c r="F1"><v>1.5E3</v></c><c r="G1"><v>4500012345</v></c>'
             '<c r="H1" t="s"><v>0</v></c>')
    data = _rewrite(_save(book), SHEET_XML, lambda xml: re.sub(
        r'<row r="1".*?</row>', f'<row r="1">{cells}</row>', _without_dimension(xml)))
    data = _with_shared_strings(data, ["<t></t>", "<r><t>PO </t></r><r><t>number</t></r>"])

    [row] = read_xlsx(data).tables[0].rows

    assert row.cells == ("PO number", "via formula", True, datetime(2026, 12, 5, 8, 30),
                         "Bestätigt", 1500.0, 4500012345)
    assert [type(cell) for cell in row.cells[5:]] == [float, int]


def test_xlsx_rows_and_cells_without_a_reference_follow_the_previous_ones():
    book = openpyxl.Workbook()
    book.active["A1"] = "x"
    data = _rewrite(_save(book), SHEET_XML, lambda xml: re.sub(
        r'<row r="1".*?</row>', '<row r="2"><c r="B2"><v>1</v></c><c><v>2</v></c></row>'
        '<row><c><v>3</v></c></row><row r="1"><c><v>9</v></c></row>', _without_dimension(xml)))

    rows = read_xlsx(data).tables[0].rows

    # Row 1 after row 3 is out of order: skipped, as openpyxl's reader skips it.
    assert rows == (Row(1, ()), Row(2, (None, 1, 2)), Row(3, (3,)))


def test_xlsx_stale_dimension_hides_no_cells():
    # The <dimension> element is a hint the writing program may get wrong; openpyxl's
    # read-only rows stop at it, the values past it are read all the same.
    data = _rewrite(_order_book(), SHEET_XML, lambda xml: re.sub(
        r'<dimension ref="[^"]*"/>', '<dimension ref="A1:B2"/>', xml))

    rows = read_xlsx(data).tables[0].rows

    assert rows[1].cells[:3] == ("4500012345", 10, 2)
    assert rows[-1] == Row(7, ("end",))


def test_xlsx_unsupported_extensions_are_reported_as_openpyxl_reported_them():
    data = _rewrite(_order_book(), SHEET_XML, lambda xml: xml.replace("</worksheet>", (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"/></extLst></worksheet>')))

    problems = read_xlsx(data).problems

    assert [p.detail for p in problems if p.code is SheetProblemCode.READER_WARNING] == [
        "Data Validation extension is not supported and will be removed"]


# CSV -------------------------------------------------------------------------------------


def test_csv_semicolons_quotes_and_embedded_newlines_keep_physical_line_numbers():
    data = (b'PO;Qty;Remark\r\n4500012345;80;"two\r\nlines; with ""quotes"""\r\n'
            b"\r\n4500012346;;x\r\n\r\n")

    workbook = read_csv(data, "confirm.csv")

    [table] = workbook.tables
    assert (table.name, table.source) == ("confirm.csv", "csv")
    assert table.rows == (
        Row(1, ("PO", "Qty", "Remark")),
        Row(2, ("4500012345", "80", 'two\r\nlines; with "quotes"')),
        Row(4, ()),
        Row(5, ("4500012346", None, "x")),
    )
    assert workbook.problems == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b,c\n1,2,3\n", ","),
    ("a;b;c\n1,5;2,5;3\n4;5;6\n", ";"),
    ("a\tb\n1\t2\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ('name,remark\n"Smith; John","a;b;c"\n"Doe; Jane","d;e;f"\n', ","),
    ("only one column\nsecond\n", ","),
])
def test_delimiter_is_the_most_consistent_split(text, expected):
    assert sniff_delimiter(text) == expected


def test_csv_utf8_with_bom_and_chinese_headers():
    data = "\ufeff采购订单号,数量,交货日期\n4500012345,80,2026-12-05\n".encode()

    workbook = read_csv(data, "f.csv")

    assert workbook.tables[0].rows[0].cells == ("采购订单号", "数量", "交货日期")
    assert workbook.problems == ()


def test_csv_utf16_from_excel_unicode_text():
    data = "\ufeffPO\tQty\n4500012345\t80\n".encode("utf-16-le")

    rows = read_csv(data, "f.txt").tables[0].rows

    assert rows[1].cells == ("4500012345", "80")


def test_csv_not_utf8_falls_back_to_windows_1252_with_a_warning():
    data = "Bestellung;Menge;Bemerkung\n1;2;Größe “M” €\n".encode("cp1252")

    workbook = read_csv(data, "f.csv")

    assert workbook.tables[0].rows[1].cells[2] == "Größe “M” €"
    [problem] = workbook.problems
    assert problem.code is SheetProblemCode.ENCODING_ASSUMED
    assert problem.severity is Severity.WARNING
    assert "windows-1252" in problem.detail


def test_csv_fallback_encoding_for_a_supplier_known_to_send_gbk():
    data = "采购订单号,数量\n4500012345,80\n".encode("gbk")

    workbook = read_csv(data, "f.csv", fallback_encoding="gb18030")

    assert workbook.tables[0].rows[0].cells == ("采购订单号", "数量")
    assert "gb18030" in workbook.problems[0].detail


def test_csv_encoding_hint_is_used_and_a_wrong_hint_is_reported():
    data = "订单,数量\n1,2\n".encode("gbk")
    assert read_csv(data, "f.csv", encoding="GB2312").tables[0].rows[0].cells == ("订单", "数量")
    assert read_csv(data, "f.csv", encoding="GB2312").problems == ()

    wrong = read_csv("Größe;1\n".encode("cp1252"), "f.csv", encoding="utf-8")
    assert wrong.tables[0].rows[0].cells == ("Größe", "1")
    [problem] = wrong.problems
    assert problem.detail == "the bytes are not utf-8; read as windows-1252"


def test_csv_field_past_the_csv_limit_is_a_located_error_and_earlier_rows_stay():
    data = b"a,b\n1,2\n3," + b"x" * 200_000 + b"\n"

    workbook = read_csv(data, "f.csv")

    assert [row.number for row in workbook.tables[0].rows] == [1, 2]
    [problem] = workbook.problems
    assert (problem.code, problem.row, problem.is_error) == (
        SheetProblemCode.MALFORMED_CSV, 3, True)


def test_csv_limits():
    with pytest.raises(WorkbookTooLargeError):
        read_csv(b"a,b\n" * 10, "f.csv", limits=SheetLimits(max_cells=5))
    with pytest.raises(WorkbookTooLargeError):
        read_csv(b"a,b\n" * 10, "f.csv", limits=SheetLimits(max_file_bytes=5))


def test_read_spreadsheet_picks_the_reader_by_content_not_name():
    assert read_spreadsheet(_order_book(), "order.csv").tables[0].source == "xlsx"
    assert read_spreadsheet(b"a;b\n1;2\n", "order.xlsx").tables[0].rows[1].cells == ("1", "2")


# xls -------------------------------------------------------------------------------------
# Legacy workbooks are written with xlwt (a test dependency: no maintained library writes
# BIFF8); xlwt keeps an integral number below 2**29 in an RK record (read as int), any other
# in a NUMBER record (read as float), as Excel does.


def _xls(book: xlwt.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _legacy_order_book() -> bytes:
    book = xlwt.Workbook()
    lines = book.add_sheet("Lines")
    for column, title in enumerate(["PO", "Line", "Qty", "Delivery", "Booked at", "Slot",
                                    "Ok", "Price", "Lead time"]):
        lines.write(0, column, title)
    lines.write(1, 0, "4500012345")
    lines.write(1, 1, 10)
    lines.write(1, 2, 4500012345)
    lines.write(1, 3, date(2026, 12, 5), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    lines.write(1, 4, datetime(2026, 11, 20, 14, 30),
                xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm"))
    lines.write(1, 5, time(14, 30), xlwt.easyxf(num_format_str="hh:mm"))
    lines.write(1, 6, True)
    lines.write(1, 7, 12.5)
    lines.write(1, 8, 1.5, xlwt.easyxf(num_format_str="[h]:mm"))
    lines.write_merge(2, 3, 0, 0, "4500012346")
    lines.write(2, 1, 10)
    lines.row(2).set_cell_error(2, "#DIV/0!")
    lines.write(3, 1, 20)
    lines.write(3, 3, "")
    lines.write(4, 0, "internal note")
    lines.row(4).hidden = True
    lines.write(6, 0, "end")
    book.add_sheet("Empty")
    notes = book.add_sheet("Notes")
    notes.write(1, 1, "see sheet Lines")
    notes.visibility = 1  # hidden
    return _xls(book)


def test_xls_reads_every_sheet_with_typed_values_and_excel_row_numbers():
    workbook = read_xls(_legacy_order_book())

    assert [(t.name, t.source) for t in workbook.tables] == [
        ("Lines", "xls"), ("Empty", "xls"), ("Notes", "xls")]
    lines, empty, notes = workbook.tables
    assert lines.rows[1] == Row(2, ("4500012345", 10, 4500012345.0, date(2026, 12, 5),
                                    datetime(2026, 11, 20, 14, 30), time(14, 30), True, 12.5,
                                    "1 day, 12:00:00"))
    assert type(lines.rows[1].cells[1]) is int
    assert type(lines.rows[1].cells[3]) is date
    assert lines.rows[-1] == Row(7, ("end",))
    assert empty.rows == ()
    assert notes.rows == (Row(1, ()), Row(2, (None, "see sheet Lines")))


def test_xls_merges_hidden_rows_and_sheets_as_in_xlsx():
    workbook = read_xls(_legacy_order_book())
    rows = workbook.tables[0].rows

    assert rows[2].cells == ("4500012346", 10)  # C3 holds an error: None, trimmed
    assert rows[3].cells == ("4500012346", 20)  # D4 is the empty string: None, trimmed
    assert [row.number for row in rows if row.hidden] == [5]
    assert rows[5] == Row(6, ())
    hidden = [p for p in workbook.problems if p.code is SheetProblemCode.HIDDEN_SHEET]
    assert [(p.sheet, p.detail) for p in hidden] == [("Notes", "sheet 'Notes' is hidden; read "
                                                      "all the same")]


def test_xls_error_value_is_none_with_a_located_problem():
    [problem] = [p for p in read_xls(_legacy_order_book()).problems
                 if p.code is SheetProblemCode.ERROR_VALUE]
    assert (problem.sheet, problem.row, problem.column) == ("Lines", 3, "C")
    assert "#DIV/0!" in problem.detail


def test_read_spreadsheet_reads_an_xls_whatever_its_name():
    workbook = read_spreadsheet(_legacy_order_book(), "order.csv")
    assert workbook.tables[0].rows[0].cells[:2] == ("PO", "Line")


def test_xls_cell_far_away_is_refused_before_it_is_allocated():
    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    sheet.write(0, 0, "a")
    sheet.write(65535, 255, "z")  # a 6 KB file; calamine would fill 16.7 million cells
    with pytest.raises(WorkbookTooLargeError, match="span 16777216 cells"):
        read_xls(_xls(book))


def test_xls_limits():
    data = _legacy_order_book()
    with pytest.raises(WorkbookTooLargeError, match="bytes"):
        read_xls(data, SheetLimits(max_file_bytes=1000))
    with pytest.raises(WorkbookTooLargeError, match="cells"):
        read_xls(data, SheetLimits(max_cells=20))


@pytest.mark.parametrize("cut", [1000, 3000])
def test_corrupt_xls_is_a_corrupt_workbook(cut):
    data = _legacy_order_book()
    with pytest.raises(CorruptWorkbookError, match=r"\(\.xls\)") as caught:
        read_spreadsheet(data[:cut], "order.xls")
    assert caught.value.as_problem().is_error


def test_ole2_file_without_a_workbook_is_refused_with_what_to_send():
    data = _legacy_order_book()
    # The directory entry renamed, as a Word file's "WordDocument" stream would be.
    document = data.replace("Workbook".encode("utf-16-le"), "WordDocu".encode("utf-16-le"))
    with pytest.raises(UnsupportedWorkbookError, match="no workbook in it"):
        read_xls(document)


def test_encrypted_xls_is_refused_with_the_password_message():
    data = _legacy_order_book()
    codepage = b"\x42\x00\x02\x00\xb0\x04"  # CODEPAGE 1200 (UTF-16), in the globals
    assert data.count(codepage) == 1
    # FILEPASS (RC4) in its place: what Excel writes before the encrypted records.
    encrypted = data.replace(codepage, b"\x2f\x00\x02\x00\x01\x00")
    with pytest.raises(UnsupportedWorkbookError, match="password"):
        read_spreadsheet(encrypted, "order.xls")
