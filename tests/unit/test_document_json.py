"""`document_to_json`, the JSON contract of `gateway parse --json`: values as the supplier wrote
them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.documents import (
    Document,
    DocumentKind,
    Line,
    Package,
    SourceFormat,
    document_to_json,
)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("12.50"), "12.50"),
    (Decimal("127"), "127"),
    (Decimal("-0.5"), "-0.5"),
    # Where str() would write an exponent, the JSON does not.
    (Decimal("1E+3"), "1000"),
    (Decimal("2.5E+2"), "250"),
    (Decimal("1E-7"), "0.0000001"),
    (Decimal("0.00000012"), "0.00000012"),
])
def test_decimals_are_written_in_plain_notation(value: Decimal, text: str) -> None:
    document = Document(DocumentKind.DESPATCH_ADVICE, SourceFormat.EDIFACT, "DESADV",
                        lines=[Line(line_no="1", quantity=value, price=value,
                                    packages=[Package("340001200000000017", value)])])
    line = document_to_json(document)["lines"][0]
    assert (line["quantity"], line["price"], line["packages"][0]["quantity"]) == (text,) * 3


def test_absent_values_are_null_and_dates_iso() -> None:
    document = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                        document_date=date(2026, 12, 5),
                        lines=[Line(line_no="1", delivery_date=date(2027, 1, 31))])
    out = document_to_json(document)
    line = out["lines"][0]
    assert out["document_date"] == "2026-12-05"
    assert out["despatch_date"] is None
    assert line["delivery_date"] == "2027-01-31"
    assert [line[key] for key in ("quantity", "ordered_quantity", "price", "line_amount",
                                  "requested_delivery_date", "best_before_date")] == [None] * 6
    assert line["packages"] == []
    assert out["warnings"] == []
