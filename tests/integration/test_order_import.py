"""Importing open orders: the supplier each order names is found in the partner directory by
its code, an EDI id or an email address, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionRow, OrderLineRow, PurchaseOrder
from gateway.services.ingest import Intake, archive, process
from gateway.services.orders import ImportedLine, import_lines, read_order_file
from gateway.services.partners import read_partner_file
from tests.integration import test_ingest as ingest_case
from tests.integration.conftest import transactions
from tests.integration.test_ingest import (
    ORDERS_CSV,
    import_orders,
    ingest,
    line_10,
    ordrsp,
    sessions,
)

__all__ = ["sessions"]

NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)
TODAY = date(2025, 3, 12)
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
KESTREL = {"code": "KESTREL", "name": "Kestrel Components B.V.",
           "emails": ["orders@kestrel.example"], "domains": ["kestrel.example"],
           "edi_ids": [{"id": "8719992000012", "qualifier": "14"}],
           "buyer_contact": "buyer@nordlicht.example"}


def partners(*extra: dict[str, Any]) -> dict[str, Any]:
    demo = read_partner_file(SAMPLES / "demo" / "partners.toml")
    return {**demo, "suppliers": [*demo["suppliers"], *extra]}


@pytest.fixture
def with_kestrel(engine: Engine) -> Any:
    return transactions(engine, partners(KESTREL), NOW)


def test_edifact_orders_take_the_partner_that_owns_the_nad_su_id(with_kestrel: Any) -> None:
    lines, errors = read_order_file(SAMPLES / "edifact" / "orders_d96a.edi")
    assert errors == []
    with with_kestrel() as session:
        report = import_lines(session, lines, "orders_d96a.edi", NOW)
        assert report.errors == []
        assert session.scalar(select(PurchaseOrder.supplier_code).where(
            PurchaseOrder.number == "4700003102")) == "KESTREL"
    raw = (SAMPLES / "edifact" / "ordrsp_changed_lines.edi").read_bytes()
    with with_kestrel() as session:
        archived = archive(session, Intake(raw, "cli", "as2:kestrel", "rsp.edi"), NOW)
    with with_kestrel() as session:
        result = process(session, archived.message_id, TODAY, NOW)
        assert result.state is MessageState.RECONCILED
        codes = set(session.scalars(select(ExceptionRow.code)))
        assert "UNKNOWN_ORDER" not in codes
        line_10 = session.scalar(select(OrderLineRow.state).join(PurchaseOrder).where(
            PurchaseOrder.number == "4700003102", OrderLineRow.line_no == "10"))
        assert line_10 == "confirmed"


def test_edifact_orders_of_an_unknown_nad_su_id_are_refused(engine: Engine) -> None:
    sessions = transactions(engine, partners(), NOW)
    lines, _ = read_order_file(SAMPLES / "edifact" / "orders_d96a.edi")
    with sessions() as session:
        report = import_lines(session, lines, "orders_d96a.edi", NOW)
        assert [(e.row, e.detail) for e in report.errors] == [(1, (
            "orders_d96a.edi: order 4700003102: NAD+SU of ORDERS 4700003102 (code list "
            "agency 9) '8719992000012' is no partner's code, EDI id or email address; the "
            "order is not imported (load the partner file first)"))]
        assert report.orders == set()
        assert session.scalar(select(PurchaseOrder.id)) is None


CSV = """order_number,line_no,quantity,unit,supplier_id
4500000001,10,5,PCE,8719992000012
4500000002,10,5,PCE,Orders@Kestrel.example
4500000003,10,5,PCE,KESTREL
4500000004,10,5,PCE,sales@kestrel.example
4500000005,10,5,PCE,
4500000006,10,5,PCE,NOBODY
4500000006,20,5,PCE,KESTREL
"""


def test_csv_supplier_id_is_a_code_an_edi_id_or_an_address(with_kestrel: Any,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    lines, errors = read_order_file(path)
    assert errors == []
    with with_kestrel() as session:
        report = import_lines(session, lines, path.name, NOW)
        assert [(e.row, e.detail) for e in report.errors] == [(7, (
            "export.csv: order 4500000006: supplier_id 'NOBODY' is no partner's code, EDI id "
            "or email address; the order is not imported (load the partner file first)"))]
        stored = dict(session.execute(
            select(PurchaseOrder.number, PurchaseOrder.supplier_code)).all())
    assert stored == {"4500000001": "KESTREL", "4500000002": "KESTREL",
                      "4500000003": "KESTREL", "4500000004": "KESTREL", "4500000005": None}


def test_values_the_database_refuses_are_row_errors(with_kestrel: Any, tmp_path: Path) -> None:
    """A NUL character or a number beyond NUMERIC(38, 12) fails the whole import on PostgreSQL
    (SQLite stores them): each is its row's error, the other rows are imported."""
    path = tmp_path / "export.csv"
    path.write_bytes(b"order_number,line_no,quantity,description,supplier_id\n"
                     b"4500000001,10,5,Hex bolt,KESTREL\n"
                     b"4500000001,20,5,Hex\x00nut,KESTREL\n"
                     b"4500000001,30,123456789012345678901234567890,Washer,KESTREL\n")
    lines, errors = read_order_file(path)
    assert errors == []
    with with_kestrel() as session:
        report = import_lines(session, lines, path.name, NOW)
        assert [(e.row, e.detail) for e in report.errors] == [
            (3, "description 'Hex\\x00nut' holds a NUL character (at 4), which cannot be "
                "stored"),
            (4, "quantity '123456789012345678901234567890' has more than 26 digits before "
                "the point")]
        assert session.scalars(select(OrderLineRow.line_no)).all() == ["10"]


def test_prices_with_more_than_six_decimals_are_kept_exactly(sessions: object,
                                                             tmp_path: Path) -> None:
    """ExactDecimal is exact text on SQLite and NUMERIC(24, 6) on PostgreSQL, which rounds
    silently: the price is kept exactly on both, so the same export re-imported is
    unchanged, not 'updated' every time with a new `requested` version."""
    csv = ORDERS_CSV.replace("12.50", "0.0012345")
    import_orders(sessions, tmp_path, csv)
    path = tmp_path / "again.csv"
    path.write_text(csv)
    lines, _ = read_order_file(path)
    with sessions() as session:  # type: ignore[operator]
        report = import_lines(session, lines, "again.csv", ingest_case.NOW)
        assert (report.updated, report.unchanged) == (0, 2)
        assert line_10(session).price == Decimal("0.0012345")


def test_an_over_long_value_in_one_order_row_does_not_sink_the_import(
        sessions: object) -> None:
    """A row that cannot be stored is reported, the others are imported (module docstring).
    PostgreSQL enforces VARCHAR lengths (currency 3, gtin 14), SQLite does not: the over-long
    row does not abort the whole transaction on PostgreSQL."""
    good = ImportedLine(2, "4500000009", "10", Decimal(5), currency="EUR")
    bad = ImportedLine(3, "4500000009", "20", Decimal(5), currency="EURO",
                       gtin="040008621414040")
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, [good, bad], "orders.csv", ingest_case.NOW)
    with sessions() as session:  # type: ignore[operator]
        assert session.scalar(select(func.count()).select_from(OrderLineRow)) >= 1
        assert session.scalar(select(PurchaseOrder.number)) == "4500000009"


def test_a_changed_order_quantity_is_no_longer_shown_as_confirmed(sessions: object,
                                                                 tmp_path: Path) -> None:
    """The supplier confirmed 100 as ordered; the ERP export now orders 120. Re-importing
    updates the quantity and the line is no longer shown `confirmed`: 100 confirmed is not
    what is now ordered."""
    import_orders(sessions, tmp_path)
    ingest(sessions, ordrsp("100", "RSP-1"))
    import_orders(sessions, tmp_path, ORDERS_CSV.replace("4500000001,10,100",
                                                         "4500000001,10,120"))
    with sessions() as session:  # type: ignore[operator]
        line = line_10(session)
        assert line.quantity == Decimal(120)
        assert line.state != "confirmed"
