"""A supplier's `reading` table in the partner file: checked strictly, turned into the
`ColumnProfile` the email and spreadsheet readers apply; a message's supplier found from its
header alone, before it is read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.domain.documents import Document
from gateway.errors import ConfigurationError
from gateway.services.partners import read_partner_file
from gateway.services.reading_profiles import (
    reading_from_mapping,
    reading_to_json,
    stored_reading,
)
from mappings.email import ColumnProfile, DateOrder, Field, NumberStyle
from mappings.registry import preview_message, read_message
from parsers.errors import Problem, ProblemCode

TOML = """
[[suppliers]]
code = "NORDHOLM"
name = "Nordholm Components AB"

[suppliers.reading]
date_order = "month_first"
number_style = "decimal_comma"
header_row = 4

[suppliers.reading.columns]
"Bestell-Nr Kunde" = "order_number"
"Menge bestätigt" = "quantity"

[suppliers.reading.letters]
delivery_date = "f"
"""
YAML = """
suppliers:
  - code: NORDHOLM
    name: Nordholm Components AB
    reading:
      date_order: month_first
      number_style: decimal_comma
      header_row: 4
      columns: {"Bestell-Nr Kunde": order_number, "Menge bestätigt": quantity}
      letters: {delivery_date: f}
"""
EXPECTED = ColumnProfile(
    names={"Bestell-Nr Kunde": Field.ORDER_NUMBER, "Menge bestätigt": Field.QUANTITY},
    columns={Field.DELIVERY_DATE: "F"}, header_row=4, date_order=DateOrder.MONTH_FIRST,
    number_style=NumberStyle.DECIMAL_COMMA)


@pytest.mark.parametrize(("name", "text"), [("p.toml", TOML), ("p.yaml", YAML)])
def test_the_reading_table_becomes_a_column_profile(tmp_path: Path, name: str,
                                                    text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    [entry] = read_partner_file(tmp_path / name)["suppliers"]
    assert reading_from_mapping("NORDHOLM", entry["reading"]) == EXPECTED


def test_the_stored_form_reads_back_the_same() -> None:
    stored = reading_to_json(EXPECTED)
    assert stored == {"date_order": "month_first", "number_style": "decimal_comma",
                      "header_row": 4, "letters": {"delivery_date": "F"},
                      "columns": {"Bestell-Nr Kunde": "order_number",
                                  "Menge bestätigt": "quantity"}}
    assert reading_from_mapping("NORDHOLM", stored) == EXPECTED
    assert stored_reading("NORDHOLM", None) is None
    assert stored_reading("NORDHOLM", {}) is None  # an empty table changes nothing


FIELDS = ("order_number, order_line, item, buyer_part, supplier_part, gtin, description, "
          "quantity, confirmed_quantity, ordered_quantity, unit, delivery_date, confirmed_date, "
          "requested_date, price, currency, line_amount, status, remark")


@pytest.mark.parametrize(
    ("reading", "message"),
    [(["day_first"], "supplier ACME: reading must be a table with the keys date_order, "
                     "number_style, header_row, columns, letters"),
     ({"date_oder": "day_first"}, "supplier ACME: reading: unknown keys ['date_oder']; "
                                  "allowed: date_order, number_style, header_row, columns, "
                                  "letters"),
     ({"date_order": "dd/mm/yyyy"}, "supplier ACME: reading.date_order = 'dd/mm/yyyy' is not "
                                    "one of: day_first, month_first"),
     ({"number_style": "german"}, "supplier ACME: reading.number_style = 'german' is not one "
                                  "of: decimal_point, decimal_comma"),
     ({"columns": {"Menge": "qty"}}, "supplier ACME: reading.columns 'Menge': 'qty' is not a "
                                     f"field; fields: {FIELDS}"),
     ({"columns": ["Menge"]}, "supplier ACME: reading.columns must be a table, not list"),
     ({"columns": {"--": "quantity"}}, "supplier ACME: reading.columns: '--' is not a header "
                                       "text"),
     ({"columns": {"Menge": "quantity", "MENGE.": "price"}},
      "supplier ACME: reading.columns: 'Menge' and 'MENGE.' are the same header"),
     ({"letters": {"qty": "F"}}, f"supplier ACME: reading.letters: 'qty' is not a field; "
                                 f"fields: {FIELDS}"),
     ({"letters": {"quantity": "F1"}}, "supplier ACME: reading.letters.quantity = 'F1' is not "
                                       "a column letter (A to XFD)"),
     ({"letters": {"quantity": "XFE"}}, "reading.letters.quantity = 'XFE' is not a column"),
     ({"letters": {"quantity": 6}}, "reading.letters.quantity = 6 is not a column letter"),
     ({"letters": {"quantity": "F", "price": "f"}},
      "supplier ACME: reading.letters: column F is given to both quantity and price"),
     # The TOML slip of writing header_row below [suppliers.reading.letters].
     ({"letters": {"quantity": "F", "header_row": 4}},
      "supplier ACME: reading.letters: 'header_row' is not a field"),
     ({"header_row": 0}, "supplier ACME: reading.header_row = 0 is not a row number "
                         "(1 to 1048576)"),
     ({"header_row": "4"}, "reading.header_row = '4' is not a row number"),
     ({"header_row": True}, "reading.header_row = True is not a row number")],
)
def test_mistakes_name_the_supplier_and_the_key(reading: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        reading_from_mapping("ACME", reading)
    assert message in str(raised.value)


def email(body: str, sender: str = "orders@alves.example") -> bytes:
    return (f"From: Alves <{sender}>\r\nTo: buyer@brenner-antrieb.example\r\n"
            f"Subject: PO 4500030002\r\nMessage-ID: <x@alves.example>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def test_a_preview_reads_only_what_decides_the_supplier() -> None:
    edifact = b"UNA:+.? 'UNB+UNOC:3+4012345000009:14+5400000000001:14+261126:0900+1'"
    assert preview_message(edifact, "x.edi").per_supplier is False
    preview = preview_message(email("From: someone@else.example\r\n"), "reply.eml")
    assert (preview.per_supplier, preview.sender_addresses) == (True, ("orders@alves.example",))
    assert preview_message(b"PO;Line;Qty\r\n", "conf.csv").sender_addresses == ()
    assert preview_message(b"PO;Line;Qty\r\n", "conf.csv").per_supplier is True


def test_an_email_body_is_read_with_the_suppliers_profile() -> None:
    raw = email("PO 4500030002 line 10: 1.000 pcs, delivery 05/12/2026")
    profile = ColumnProfile(date_order=DateOrder.DAY_FIRST,
                            number_style=NumberStyle.DECIMAL_COMMA)
    [document] = read_message(raw, "reply.eml", profile).results
    assert isinstance(document, Document)
    [line] = document.lines
    assert (line.quantity, line.delivery_date) == (Decimal(1000), date(2026, 12, 5))
    # Without it, 05/12/2026 may be either date: refused, never guessed.
    unread = read_message(raw, "reply.eml").results
    assert not any(isinstance(r, Document) for r in unread)
    assert ProblemCode.AMBIGUOUS_VALUE in {r.code for r in unread if isinstance(r, Problem)}
