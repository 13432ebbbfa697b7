"""Spreadsheet rows -> order responses: headers, synonyms, cells, skipped and refused rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Line,
    LineStatus,
    SourceFormat,
    document_to_json,
)
from mappings.email import ColumnProfile, DateOrder, Field, NumberStyle, map_tables
from mappings.email.columns import column_index, column_letter, find_header
from mappings.email.text import LABELS, label_key
from mappings.email.values import Unreadable, decimal_of, read_date_cell
from parsers.errors import Problem, ProblemCode, Severity
from parsers.sheets.model import CellValue, Row, Table

PO = "4500012345"


def sheet(*rows: tuple[CellValue, ...], name: str = "Confirmations", source: str = "xlsx",
          hidden: tuple[int, ...] = ()) -> Table:
    return Table(name, source, tuple(Row(n, tuple(cells), n in hidden)
                                     for n, cells in enumerate(rows, 1)))


def documents(results: list[Document | Problem]) -> list[Document]:
    return [r for r in results if isinstance(r, Document)]


def problems(results: list[Document | Problem]) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem)]


def lines(results: list[Document | Problem]) -> dict[tuple[str | None, str | None], Line]:
    return {(line.order_number, line.order_line_no): line
            for document in documents(results) for line in document.lines}


ENGLISH = sheet(
    ("Order confirmation", None, None),
    ("ACME Ltd., supplier 4711", None, None),
    (),
    ("PO No.", "Line", "Item", "Ordered qty", "Confirmed qty", "Unit", "Delivery date",
     "Unit price", "Currency", "Status"),
    (PO, 10, "M-100", 100, 80, "pcs", 46361, 12.5, "EUR", "partially confirmed"),
    (PO, 20, "M-200", 50, 50.0, "EA", datetime(2026, 12, 5, 0, 0), Decimal("3.10"), "EUR",
     "Confirmed"),
    ("4500099999", 10, "M-300", 10, 0, "pcs", None, None, None, "rejected"),
    ("Total", None, None, 160, 130),
)


def test_english_sheet_below_a_title_block():
    results = map_tables((ENGLISH,), file="confirmations.xlsx")
    assert not problems(results)
    first, second = documents(results)
    assert (first.kind, first.source_format, first.message_type) == (
        DocumentKind.ORDER_RESPONSE, SourceFormat.SPREADSHEET, "SPREADSHEET")
    assert (first.order_numbers, second.order_numbers) == ([PO], ["4500099999"])
    assert first.file == "confirmations.xlsx"
    line10, line20 = first.lines
    assert (line10.line_no, line10.order_line_no, line10.item.ids[0].id) == ("1", "10", "M-100")
    assert (line10.quantity, line10.ordered_quantity, line10.unit) == (
        Decimal(80), Decimal(100), "PCE")
    assert line10.delivery_date == date(2026, 12, 5)
    assert (line10.price, line10.currency, line10.status) == (
        Decimal("12.5"), "EUR", LineStatus.CHANGED)
    assert (line20.quantity, line20.delivery_date, line20.price) == (
        Decimal(50), date(2026, 12, 5), Decimal("3.10"))
    assert line20.status is LineStatus.ACCEPTED
    assert second.lines[0].status is LineStatus.REJECTED
    assert first.status is DocumentStatus.CHANGED
    json = document_to_json(first)
    assert json["lines"][0]["quantity"] == "80"
    assert json["lines"][0]["price"] == "12.5"


def test_german_sheet_with_decimal_comma_text_cells():
    table = sheet(
        ("Bestell-Nr.", "Pos.", "Artikelnummer", "Bestätigte Menge", "Einheit", "Liefertermin",
         "Einzelpreis", "Währung", "Bemerkung"),
        (PO, "10", "A-1", "1.000", "Stück", "05.12.2026", "1.234,50", "EUR", "bestätigt"),
        (PO, "20", "A-2", "12,5", "Stk", "5. Dezember 2026", "3,10", "EUR", "nicht lieferbar"),
        source="csv", name="antwort.csv")
    found = lines(map_tables((table,)))
    assert (found[(PO, "10")].quantity, found[(PO, "10")].price) == (
        Decimal(1000), Decimal("1234.50"))
    assert found[(PO, "10")].status is LineStatus.ACCEPTED
    assert found[(PO, "20")].quantity == Decimal("12.5")
    assert found[(PO, "20")].status is LineStatus.REJECTED


def test_chinese_sheet_with_full_width_header_and_currency_in_the_header():
    table = sheet(
        ("采购订单号", "项次", "物料号", "确认数量", "单位", "交期", "单价\uff08元\uff09", "备注"),
        (PO, "10", "W-1", "\uff18\uff10", "件", "2026年12月5日", "12.50", "确认"),
        (PO, "20", "W-2", "1,000", "个", "2026/12/07", "1.5", "拒绝"),
        source="csv", name="回复.csv")
    found = lines(map_tables((table,)))
    assert (found[(PO, "10")].quantity, found[(PO, "10")].unit) == (Decimal(80), "PCE")
    assert found[(PO, "10")].currency == "CNY"
    assert found[(PO, "10")].status is LineStatus.ACCEPTED
    assert found[(PO, "20")].quantity == Decimal(1000)  # Chinese sheet: decimal point
    assert found[(PO, "20")].status is LineStatus.REJECTED


@pytest.mark.parametrize(("name", "field"), [
    ("PO number", Field.ORDER_NUMBER), ("Order No", Field.ORDER_NUMBER),
    ("Bestellnummer", Field.ORDER_NUMBER), ("Bestell-Nr.", Field.ORDER_NUMBER),
    ("采购订单号", Field.ORDER_NUMBER), ("订单号", Field.ORDER_NUMBER),
    ("Pos", Field.ORDER_LINE), ("Position", Field.ORDER_LINE), ("行号", Field.ORDER_LINE),
    ("项次", Field.ORDER_LINE), ("Material", Field.ITEM), ("Artikelnummer", Field.ITEM),
    ("物料号", Field.ITEM), ("料号", Field.ITEM), ("QTY", Field.QUANTITY),
    ("Menge", Field.QUANTITY), ("数量", Field.QUANTITY),
    ("bestätigte  Menge", Field.CONFIRMED_QUANTITY), ("确认数量", Field.CONFIRMED_QUANTITY),
    ("Einheit", Field.UNIT), ("单位", Field.UNIT), ("Ship date", Field.DELIVERY_DATE),
    ("Lieferdatum", Field.DELIVERY_DATE), ("交货日期", Field.DELIVERY_DATE),
    ("交期", Field.DELIVERY_DATE), ("Preis", Field.PRICE), ("单价", Field.PRICE),
    ("Währung", Field.CURRENCY), ("币种", Field.CURRENCY), ("Bemerkung", Field.REMARK),
    ("备注", Field.REMARK), ("Status", Field.STATUS), ("Qty (pcs)", Field.QUANTITY),
])
def test_column_synonyms(name, field):
    assert LABELS[label_key(name)][0] is field


def test_hidden_blank_and_open_rows_are_skipped_with_remarks():
    table = sheet(
        ("PO", "Line", "Qty", "Status"),
        (PO, 10, 5, "ok"),
        (None, None, "", None),
        (PO, 20, 6, "ok"),
        (PO, 30, 7, "pending"),
        hidden=(4,))
    results = map_tables((table,))
    [document] = documents(results)
    assert [line.order_line_no for line in document.lines] == ["10"]
    details = [w.detail for w in document.warnings]
    assert details == [
        "sheet 'Confirmations' row 4: the row is hidden in the sheet; it is not read",
        "sheet 'Confirmations' row 5: status 'pending' says the line is not answered yet; "
        "the row is not read"]
    assert [w.segment for w in document.warnings] == [4, 5]


@pytest.mark.parametrize("word", ["Total", "Summe", "合计", "Subtotal"])
def test_total_rows_are_not_lines(word):
    table = sheet(("PO", "Line", "Qty"), (PO, 10, 5), (word, None, 5))
    results = map_tables((table,))
    assert not problems(results)
    assert len(documents(results)[0].lines) == 1


def test_unreadable_row_is_located_and_the_other_rows_go_on():
    table = sheet(
        ("PO", "Line", "Qty", "Delivery date"),
        *((PO, n * 10, 5, "2026-12-05") for n in range(1, 13)),
        (PO, 130, "five", "2026-02-30"),
        (PO, 140, 5, "2026-12-05"))
    results = map_tables((table,))
    assert len(lines(results)) == 13
    [problem] = problems(results)
    assert (problem.severity, problem.code, problem.segment) == (
        Severity.ERROR, ProblemCode.INVALID_NUMBER, 14)
    assert problem.detail == (
        "sheet 'Confirmations' row 14: column C ('Qty'): 'five' is not a quantity; "
        "column D ('Delivery date'): '2026-02-30' does not exist in the calendar; "
        "the row is not read")


def test_ambiguous_date_refuses_the_row_unless_the_profile_says():
    table = sheet(("PO", "Line", "Qty", "Delivery date"), (PO, 10, 5, "05/12/2026"))
    results = map_tables((table,))
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.AMBIGUOUS_VALUE
    hinted = map_tables((table,), profile=ColumnProfile(date_order=DateOrder.MONTH_FIRST))
    assert lines(hinted)[(PO, "10")].delivery_date == date(2026, 5, 12)


def test_ambiguous_thousands_in_a_sheet_without_language_or_evidence():
    # English and German column names alike: neither language decides; nothing else does.
    table = sheet(("PO", "Position", "Menge"), (PO, 10, "1.000"), source="csv", name="x.csv")
    results = map_tables((table,))
    [problem] = problems(results)
    assert problem.code is ProblemCode.AMBIGUOUS_VALUE
    assert problem.detail.startswith("'x.csv' row 2: column C ('Menge'): '1.000' is 1000 with")
    english = sheet(("PO", "Pos", "Qty"), (PO, 10, "1.000"), source="csv", name="x.csv")
    assert lines(map_tables((english,)))[(PO, "10")].quantity == Decimal("1.000")
    styled = map_tables((table,), profile=ColumnProfile(number_style=NumberStyle.DECIMAL_COMMA))
    assert lines(styled)[(PO, "10")].quantity == Decimal(1000)


def test_unambiguous_numbers_in_the_sheet_decide_the_style():
    table = sheet(("PO", "Pos", "Qty", "Price"), (PO, 10, "1.000", "2,50"), (PO, 20, "3", "1,25"))
    assert lines(map_tables((table,)))[(PO, "10")].quantity == Decimal(1000)


def test_unknown_status_refuses_the_row():
    table = sheet(("PO", "Line", "Qty", "Status"), (PO, 10, 5, "on hold"), (PO, 20, 5, "OK"))
    results = map_tables((table,))
    assert list(lines(results)) == [(PO, "20")]
    assert problems(results)[0].code is ProblemCode.INVALID_CODE


def test_status_and_remark_that_contradict_refuse_the_row():
    table = sheet(("PO", "Line", "Qty", "Status", "Remark"), (PO, 10, 5, "confirmed",
                                                              "cannot deliver"))
    results = map_tables((table,))
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.CONFLICTING_VALUES


def test_row_without_order_number_uses_the_title_block_or_is_refused():
    titled = sheet((f"Purchase order {PO}",), (), ("Line", "Qty"), (10, 5))
    assert list(lines(map_tables((titled,)))) == [(PO, "10")]
    untitled = sheet(("Line", "Qty"), (10, 5))
    results = map_tables((untitled,))
    assert not documents(results)
    assert problems(results)[0].code is ProblemCode.MISSING_VALUE


def test_split_delivery_rows_are_kept_exact_repeats_counted_once():
    table = sheet(("PO", "Line", "Qty", "Delivery date"),
                  (PO, 10, 50, "2026-12-05"), (PO, 10, 30, "2027-01-10"),
                  (PO, 10, 30, "2027-01-10"))
    [document] = documents(map_tables((table,)))
    assert [line.quantity for line in document.lines] == [Decimal(50), Decimal(30)]
    assert [w.code for w in document.warnings] == [ProblemCode.SKIPPED_ROW.value]


def test_generic_qty_and_date_are_the_request_when_confirmed_columns_exist():
    table = sheet(("PO", "Line", "Qty", "Confirmed qty", "Delivery date", "Confirmed date"),
                  (PO, 10, 100, 80, "2026-12-01", "2026-12-05"))
    line = lines(map_tables((table,)))[(PO, "10")]
    assert (line.quantity, line.ordered_quantity) == (Decimal(80), Decimal(100))
    assert (line.delivery_date, line.requested_delivery_date) == (
        date(2026, 12, 5), date(2026, 12, 1))


def test_profile_names_columns_fixes_letters_and_the_header_row():
    table = sheet(("Lieferant: ACME",), ("Ref", "Pos", "Zusage", "KW-Datum"),
                  (PO, 10, 8, "2026-12-05"))
    assert not documents(map_tables((table,)))
    profile = ColumnProfile(names={"Ref": Field.ORDER_NUMBER, "KW-Datum": Field.DELIVERY_DATE},
                            columns={Field.CONFIRMED_QUANTITY: "C"}, header_row=2)
    line = lines(map_tables((table,), profile=profile))[(PO, "10")]
    assert (line.quantity, line.delivery_date) == (Decimal(8), date(2026, 12, 5))


def test_header_with_most_known_columns_wins():
    table = sheet(("PO", "Qty"), ("PO", "Line", "Qty", "Delivery date"), (PO, 10, 5, None))
    header = find_header(table, None)
    assert header is not None
    assert header.row is not None
    assert header.row.number == 2


def test_sheet_without_a_header_is_reported():
    notes = sheet(("How to fill in this sheet",), ("Thank you",), name="Notes")
    results = map_tables((notes,))
    [problem] = problems(results)
    assert (problem.severity, problem.code) == (Severity.ERROR, ProblemCode.NOTHING_READABLE)
    assert "sheet 'Notes'" in problem.detail
    with_data = map_tables((notes, sheet(("PO", "Line", "Qty"), (PO, 10, 5))))
    assert len(documents(with_data)) == 1
    assert problems(with_data)[0].severity is Severity.WARNING


def test_row_that_answers_nothing_is_not_a_confirmation():
    table = sheet(("PO", "Line", "Confirmed qty", "Confirmed date"), (PO, 10, None, None))
    results = map_tables((table,))
    assert not documents(results)
    remark, error = problems(results)
    assert (remark.severity, remark.code, remark.segment) == (
        Severity.WARNING, ProblemCode.SKIPPED_ROW, 2)
    assert (error.severity, error.code) == (Severity.ERROR, ProblemCode.NOTHING_READABLE)


def test_repeated_header_rows_are_skipped():
    table = sheet(("PO", "Line", "Qty"), (PO, 10, 5), ("PO", "Line", "Qty"), (PO, 20, 6))
    results = map_tables((table,))
    assert not problems(results)
    assert len(lines(results)) == 2


@pytest.mark.parametrize(("cell", "expected"), [
    (46361, date(2026, 12, 5)),
    (46361.5, date(2026, 12, 5)),
    (Decimal(46361), date(2026, 12, 5)),
    (20261205, date(2026, 12, 5)),
    (datetime(2026, 12, 5, 14, 0), date(2026, 12, 5)),
    (date(2026, 12, 5), date(2026, 12, 5)),
    ("05.12.2026", date(2026, 12, 5)),
    ("", None), (None, None),
])
def test_date_cells(cell, expected):
    assert read_date_cell(cell, None) == expected


@pytest.mark.parametrize("cell", [59, 60, 61, True, "soon", 12.5])
def test_date_cells_refused(cell):
    assert isinstance(read_date_cell(cell, None), Unreadable)


def test_excel_serials_after_the_fake_leap_day_count_from_1899_12_30():
    # Day 60 is Excel's 29 February 1900; 36526 is 2000-01-01 only if day 60 is skipped.
    assert read_date_cell(36526, None) == date(2000, 1, 1)


@pytest.mark.parametrize(("number", "text"), [
    (12.5, "12.5"), (0.1, "0.1"), (80.0, "80"), (3, "3"), (Decimal("3.10"), "3.10"),
    (1.15, "1.15")])
def test_number_cells_are_exact_decimals(number, text):
    assert str(decimal_of(number)) == text


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27)] == ["A", "Z", "AA", "AB"]
    assert [column_index(x) for x in ("A", "Z", "AA", "ab")] == [0, 25, 26, 27]


def test_every_column_name_names_one_field():
    # Building the table raises when one name is given to two fields; check it stays so.
    assert all(isinstance(field, Field) for field, _ in LABELS.values())
    assert LABELS[label_key("Bestell-Nr.")][0] is Field.ORDER_NUMBER


# -- status cells that do not commit ---------------------------------------------------------

@pytest.mark.parametrize("status", ["nicht bestätigt", "nicht bestaetigt", "cannot confirm",
                                    "未确认", "待定", "offen", "pending", "TBD", "无法确认",
                                    "not OK", "OK?", "will confirm next week", "稍后确认"])
def test_a_status_cell_that_does_not_commit_is_never_an_acceptance(status: str) -> None:
    results = map_tables((sheet(("PO", "Line", "Confirmed qty", "Status"),
                                (PO, 10, 100, status)),))
    # Pending: skipped with a remark; anything else: refused with its place.
    assert lines(results) == {}
    assert problems(results)


@pytest.mark.parametrize("remark", ["cannot confirm yet", "Termin nicht möglich", "无法确认",
                                    "will confirm next week", "确认时间待我们通知后"])
def test_a_remark_that_does_not_commit_refuses_the_row(remark: str) -> None:
    results = map_tables((sheet(("PO", "Line", "Confirmed qty", "Remark"),
                                (PO, 10, 100, remark)),))
    assert lines(results) == {}
    [problem] = problems(results)
    assert problem.code is ProblemCode.UNREADABLE_TEXT
    assert "row 2" in problem.detail


def test_a_row_commits_through_a_confirmed_column_and_not_through_a_generic_one() -> None:
    """"Confirmed qty" says the supplier commits; "Qty" alone with no status says nothing."""
    confirmed = map_tables((sheet(("PO", "Line", "Confirmed qty"), (PO, 10, 100)),))
    generic = map_tables((sheet(("PO", "Line", "Qty"), (PO, 10, 100)),))
    assert lines(confirmed)[(PO, "10")].status is LineStatus.ACCEPTED
    assert lines(generic)[(PO, "10")].status is None
