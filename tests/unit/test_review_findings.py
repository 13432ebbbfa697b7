"""Review findings in the pure reconciliation rules (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway.domain.discrepancies import DiscrepancyCode
from gateway.domain.documents import Document, DocumentKind, Item, Line, LineStatus, SourceFormat
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.reconciliation import reconcile
from gateway.domain.tolerances import ToleranceProfile

C = DiscrepancyCode
TODAY = date(2026, 11, 26)
NEED = date(2026, 12, 5)
LATE = date(2026, 12, 12)
PROFILE = ToleranceProfile(name="acme", version=2, qty_under_pct=Decimal(5))
GTIN = "4000862141404"


def orders(*lines: OrderLine) -> dict[str, Order]:
    return {"PO1": Order("PO1", "SUP1", "buyer@example.com", lines)}


def ordered(line_no: str = "10", **kw: object) -> OrderLine:
    fields: dict[str, object] = {"unit": "PCE", "price": Decimal("12.50"),
                                 "requested_date": NEED, "gtin": GTIN}
    fields.update(kw)
    return OrderLine("PO1", line_no, Decimal(100), **fields)  # type: ignore[arg-type]


def said(qty: str, when: date | None, line_no: str = "1", order_line_no: str | None = "10",
         status: LineStatus | None = None) -> Line:
    return Line(line_no=line_no, order_number="PO1", order_line_no=order_line_no,
                item=Item(gtin=GTIN), status=status, quantity=Decimal(qty), unit="PCE",
                delivery_date=when, price=Decimal("12.50"))


def document(kind: DocumentKind, *lines: Line, function: str = "9") -> Document:
    message = "ORDRSP" if kind is DocumentKind.ORDER_RESPONSE else "DESADV"
    return Document(kind, SourceFormat.EDIFACT, message, document_number="D1",
                    function_code=function, order_numbers=["PO1"], lines=list(lines))


def test_despatch_without_a_date_clears_no_date_exception() -> None:
    """A despatch line with no expected delivery evaluates no date rule, so it must not
    resolve DATE_LATE / DATE_EARLY raised by the confirmation."""
    confirmed_late = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(100),
                             confirmed_date=LATE)
    outcome = reconcile(document(DocumentKind.DESPATCH_ADVICE, said("100", None)),
                        orders(confirmed_late), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert "DATE_LATE|PO1|10" not in outcome.cleared
    assert "DATE_EARLY|PO1|10" not in outcome.cleared


def test_a_confirmation_after_despatch_keeps_the_despatch_state() -> None:
    """A (replacing) response restating a line already shipped in full: the line stays
    `despatched`; `confirm` sets CONFIRMED/CHANGED whatever was shipped."""
    shipped = ordered(state=LineState.DESPATCHED, confirmed_quantity=Decimal(100),
                      confirmed_date=NEED, confirmed_price=Decimal("12.50"),
                      despatched_quantity=Decimal(100))
    outcome = reconcile(document(DocumentKind.ORDER_RESPONSE, said("100", NEED,
                                                                   status=LineStatus.ACCEPTED),
                                 function="5"),
                        orders(shipped), PROFILE, TODAY)
    assert outcome.lines[("PO1", "10")].state is LineState.DESPATCHED


def test_a_line_confirmed_in_two_schedules_is_not_short() -> None:
    """60 on the need date and 40 a week later, both naming order line 10: 100 are
    confirmed. The second confirmation replaces the first instead of adding to it (despatch
    lines do add up), so the buyer sees QTY_SHORT 40 of 100, high."""
    outcome = reconcile(document(DocumentKind.ORDER_RESPONSE,
                                 said("60", NEED, status=LineStatus.CHANGED),
                                 said("40", LATE, line_no="2", status=LineStatus.CHANGED)),
                        orders(ordered()), PROFILE, TODAY)
    assert C.QTY_SHORT not in [d.code for d in outcome.discrepancies]
    assert outcome.lines[("PO1", "10")].confirmed_quantity == Decimal(100)


def test_two_lines_with_the_same_number_up_to_leading_zeros_are_not_guessed() -> None:
    """Line numbers are compared without leading zeros; when "10" and "010" both exist the
    first is taken silently. Nothing is guessed: it is AMBIGUOUS_LINE."""
    outcome = reconcile(document(DocumentKind.ORDER_RESPONSE,
                                 said("100", NEED, status=LineStatus.ACCEPTED,
                                      order_line_no="0010")),
                        orders(ordered("10"), ordered("010")), PROFILE, TODAY)
    assert [d.code for d in outcome.discrepancies] == [C.AMBIGUOUS_LINE]
    assert outcome.lines == {}
