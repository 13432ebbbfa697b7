"""Importing open orders: the supplier each order names is found in the partner directory by
its code, an EDI id or an email address, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from gateway.domain.messages import MessageState
from gateway.persistence.models import ExceptionRow, OrderLineRow, PurchaseOrder
from gateway.services.ingest import Intake, archive, process
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import read_partner_file
from tests.integration.conftest import transactions

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
