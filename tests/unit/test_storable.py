"""What a database refuses, found in a canonical document before it is written (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from sqlalchemy import String, Table

from gateway.domain.documents import Document, DocumentKind, Item, Line, SourceFormat
from gateway.domain.storable import (
    DOCUMENT_WIDTHS,
    ITEM_WIDTHS,
    LINE_WIDTHS,
    ORDER_NUMBER_WIDTH,
    Refusal,
    printable,
    refused_values,
)
from gateway.persistence.models import (
    DocumentRow,
    ExceptionRow,
    OrderLineRow,
    PurchaseOrder,
    SupplierIdentity,
)


def response(*lines: Line, number: str = "R1") -> Document:
    return Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                    document_number=number, order_numbers=["PO1"], lines=list(lines))


def width(model: object, column: str) -> int:
    kind = cast(Table, model.__table__).c[column].type  # type: ignore[attr-defined]
    assert isinstance(kind, String)
    assert kind.length is not None
    return kind.length


def test_the_widths_are_those_of_the_columns_the_values_go_to() -> None:
    columns = {"document_number": width(DocumentRow, "document_number"),
               "message_type": width(DocumentRow, "message_type"),
               "sender_id": width(SupplierIdentity, "value")}
    assert columns == DOCUMENT_WIDTHS
    assert width(ExceptionRow, "order_number") == width(PurchaseOrder, "number") == (
        ORDER_NUMBER_WIDTH)
    columns = {"line_no": width(ExceptionRow, "line_no"),
               "order_number": width(ExceptionRow, "order_number"),
               "order_line_no": width(ExceptionRow, "line_no"),
               "unit": width(ExceptionRow, "actual")}
    assert columns == LINE_WIDTHS
    # A GTIN as sent may be anything a sheet's column holds: kept as wide as a part number.
    columns = {"buyer_part": width(OrderLineRow, "buyer_part"),
               "supplier_part": width(OrderLineRow, "supplier_part"),
               "gtin": width(OrderLineRow, "supplier_part")}
    assert columns == ITEM_WIDTHS


def test_a_document_a_database_stores_has_nothing_refused() -> None:
    line = Line("1", "PO1", "10", item=Item(gtin="4000862141404", supplier_part="ä-1"),
                quantity=Decimal("12345678901234567890123456"), price=Decimal("0.000000000001"))
    assert refused_values(response(line)) == []


def test_nul_and_lone_surrogates_are_refused_where_they_stand() -> None:
    found = refused_values(response(Line("1", "PO1", "1\x000"),
                                    Line("2", "PO1", "20", item=Item(buyer_part="A\udcff"))))
    assert [(r.line, r.field, r.refusal) for r in found] == [
        (1, "order_line_no", Refusal.CHARACTER), (2, "item buyer_part", Refusal.CHARACTER)]
    assert found[0].detail == ("line 1: order_line_no '1\\x000' holds a NUL character (at 2), "
                               "which cannot be stored")
    assert "'A\\udcff' holds a lone surrogate U+DCFF (at 2)" in found[1].detail


def test_over_long_ids_and_numbers_beyond_the_column_are_refused() -> None:
    found = refused_values(response(
        Line("1", "PO1", "10", quantity=Decimal("1" * 27)),
        Line("2", "PO1", "20", price=Decimal("0.0000000000001")),
        Line("3", "PO1", "30", quantity=Decimal("NaN")), number="N" * 71))
    assert [(r.line, r.field, r.refusal) for r in found] == [
        (None, "document_number", Refusal.LENGTH), (1, "quantity", Refusal.NUMBER),
        (2, "price", Refusal.NUMBER), (3, "quantity", Refusal.NUMBER)]
    assert found[0].detail.startswith("the document: document_number 'NNNN")
    assert found[0].detail.endswith("…' is 71 characters long, longer than the 70 kept")
    assert "more than 12 decimals" in found[2].detail


def test_printable_writes_refused_characters_as_escapes() -> None:
    text = "row 3: 'a\x00b'"
    assert printable(text) == "row 3: 'a\\x00b'"
    assert printable("x\ud800y") == "x\\ud800y"
    clean = "ä ok"
    assert printable(clean) is clean
