"""Real PEPPOL and OASIS order/response pairs of the shared corpus, end to end on SQLite and
PostgreSQL: the UBL orders imported with `gateway orders import`'s reader, the responses
archived and processed like any other message, and the exceptions a buyer sees are the ones
the responses call for, and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.persistence.models import ExceptionRow, OrderLineRow
from gateway.services.ingest import Intake, archive, process
from gateway.services.orders import import_lines, read_order_file
from tests.conftest import require_corpus
from tests.integration.conftest import transactions

NOW = datetime(2013, 7, 2, 9, 0, tzinfo=UTC)
TODAY = date(2013, 7, 2)
PARTNERS = {
    "profiles": {"strict": {"qty_under_pct": 0, "date_late_warning_days": 0,
                            "date_late_error_days": 2, "price_pct": 0}},
    "suppliers": [
        # PEPPOL UC1 and UC4: the seller's party id (ICD 0192) is its endpoint too.
        {"code": "SNOW", "name": "The Supplier AB", "emails": ["orders@supplier.example"],
         "edi_ids": [{"id": "987654325", "qualifier": "0192"}],
         "buyer_contact": "anna@buyer.example", "profile": "strict"},
        # OASIS: the order names the seller by its own id, the response by its GLN.
        {"code": "MODERNA", "name": "Moderna Produkter AB",
         "edi_ids": [{"id": "SellerPartyID123"}, {"id": "7302347231111", "qualifier": "GLN"}],
         "buyer_contact": "anna@buyer.example", "profile": "strict"},
    ],
}


@pytest.fixture
def sessions(engine: Engine) -> object:
    return transactions(engine, PARTNERS, NOW)


def import_order(sessions: object, path: Path) -> None:
    lines, errors = read_order_file(path)
    assert errors == []
    assert lines
    with sessions() as session:  # type: ignore[operator]
        import_lines(session, lines, path.name, NOW)


def ingest(sessions: object, path: Path, supplier: str | None = None) -> list[str]:
    """Archive and process `path` as an API upload (by `supplier`'s token, when given)."""
    with sessions() as session:  # type: ignore[operator]
        message_id = archive(session, Intake(path.read_bytes(), "api", "api:supplier",
                                             path.name, supplier), NOW).message_id
    with sessions() as session:  # type: ignore[operator]
        report = process(session, message_id, TODAY, NOW)
    assert report.state.value == "reconciled", report.reason
    return sorted(d.code.value for d in report.discrepancies)


def open_codes(sessions: object) -> list[tuple[str, str | None]]:
    with sessions() as session:  # type: ignore[operator]
        rows = session.execute(select(ExceptionRow.code, ExceptionRow.line_no)
                               .where(ExceptionRow.state == "open")).all()
    return sorted((code, line) for code, line in rows)


def test_peppol_uc4_response_changes_quantity_and_price(sessions: object) -> None:
    corpus = require_corpus()
    import_order(sessions, corpus / "ubl_order/peppol_UC4_Order.xml")
    codes = ingest(sessions, corpus / "ubl_orderresponse/peppol_UC4_Order_response.xml")
    assert codes == ["PRICE_CHANGED", "QTY_OVER"]
    assert open_codes(sessions) == [("PRICE_CHANGED", "1"), ("QTY_OVER", "1")]


def test_peppol_uc1_response_accepts_rejects_and_changes(sessions: object) -> None:
    corpus = require_corpus()
    import_order(sessions, corpus / "ubl_order/peppol_UC1_Order.xml")
    # The example's seller endpoint is the buyer's GLN (a slip in the PEPPOL sample): the
    # sender is known from the upload's token instead.
    codes = ingest(sessions, corpus / "ubl_orderresponse/peppol_UC1_Order_response.xml",
                   supplier="SNOW")
    with sessions() as session:  # type: ignore[operator]
        states = dict(session.execute(select(OrderLineRow.line_no, OrderLineRow.state)).all())
    assert codes == ["LINE_REJECTED"]
    assert states["2"] == "rejected"
    assert states["1"] == "confirmed"


def test_oasis_simple_response_accepts_the_order(sessions: object) -> None:
    corpus = require_corpus()
    import_order(sessions, corpus / "ubl_order/oasis_UBL-Order-2.1-Example.xml")
    response = corpus / "ubl_orderresponse/oasis_UBL-OrderResponseSimple-2.1-Example.xml"
    codes = ingest(sessions, response)
    assert codes == []
    assert open_codes(sessions) == []
