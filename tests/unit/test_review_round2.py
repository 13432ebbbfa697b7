"""Second review of the pure reconciliation rules: wrong business outcomes (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway.domain.discrepancies import DiscrepancyCode, risk_score
from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    LineStatus,
    SourceFormat,
)
from gateway.domain.orders import LineState, Order, OrderLine
from gateway.domain.reconciliation import reconcile
from gateway.domain.silence import overdue
from gateway.domain.tolerances import Severity
from tests.unit.test_reconciliation import (
    NEED,
    PROFILE,
    TODAY,
    codes,
    despatch,
    order,
    ordered,
    response,
    said,
)

C = DiscrepancyCode
GTIN = "4000862141404"
GTIN2 = "4000862141411"


def confirmed(**kw: object) -> OrderLine:
    fields: dict[str, object] = {"state": LineState.CONFIRMED,
                                 "confirmed_quantity": Decimal(100), "confirmed_date": NEED,
                                 "confirmed_price": Decimal("12.50")}
    fields.update(kw)
    return ordered(**fields)


# -- prices ---------------------------------------------------------------------------------

def test_a_free_of_charge_line_that_gets_a_price_is_flagged() -> None:
    """Ordered at 0.00 (free sample / FOC), the supplier confirms 12.50 each: the buyer
    would be invoiced for something agreed free. `check_price` returns nothing when the
    ordered price is 0."""
    outcome = reconcile(response(said(price="12.50")), order(ordered(price=Decimal(0))),
                        PROFILE, TODAY)
    assert C.PRICE_CHANGED in codes(outcome)


# -- dates on a despatch ---------------------------------------------------------------------

def test_goods_arriving_on_the_need_date_are_not_late() -> None:
    """Confirmed 2 days early (within tolerance, accepted silently); the ASN says the goods
    arrive on the requested date. Measured against the early promise this is DATE_LATE."""
    early = confirmed(state=LineState.CHANGED, confirmed_date=date(2026, 12, 3))
    outcome = reconcile(despatch(said(status=None, when=NEED)), order(early), PROFILE, TODAY)
    assert C.DATE_LATE not in codes(outcome)


def test_goods_arriving_after_the_need_date_are_not_early() -> None:
    """Confirmed a week late (DATE_LATE open); the ASN says 12-09, still 4 days after the
    need date 12-05. Against the late promise it is raised as DATE_EARLY, next to the open
    DATE_LATE for the same line."""
    late = confirmed(state=LineState.CHANGED, confirmed_date=date(2026, 12, 13))
    outcome = reconcile(despatch(said(status=None, when=date(2026, 12, 9))), order(late),
                        PROFILE, TODAY)
    assert C.DATE_EARLY not in codes(outcome)


# -- despatch quantities ----------------------------------------------------------------------

def test_despatch_without_a_quantity_is_not_short_shipped() -> None:
    """A DESADV line whose quantity is missing/unreadable (None): the gateway reports
    SHORT_SHIPPED '0 PCE' of 100, a made-up figure, and marks the line partly despatched."""
    outcome = reconcile(despatch(said(None, status=None)), order(confirmed()), PROFILE, TODAY)
    assert C.SHORT_SHIPPED not in codes(outcome)
    assert C.OVER_SHIPPED not in codes(outcome)


def test_shipping_the_ordered_quantity_is_not_over_shipped() -> None:
    """Ordered 100, confirmed 96 (within the 5 % under tolerance, accepted silently), the
    supplier ships the full 100: OVER_SHIPPED medium, though exactly what was ordered came."""
    line = confirmed(state=LineState.CHANGED, confirmed_quantity=Decimal(96))
    outcome = reconcile(despatch(said("100", status=None)), order(line), PROFILE, TODAY)
    assert C.OVER_SHIPPED not in codes(outcome)


def test_a_second_despatch_does_not_clear_shipped_unconfirmed() -> None:
    """Never confirmed; ASN1 ships 60 (SHIPPED_UNCONFIRMED, line now partly despatched);
    ASN2 ships 40: the state is no longer OPEN so the rule passes and clears the key,
    although the supplier still has not confirmed the line."""
    first = reconcile(despatch(said("60", status=None)), order(ordered()), PROFILE, TODAY)
    assert C.SHIPPED_UNCONFIRMED in codes(first)
    after = first.lines[("PO1", "10")]
    second = reconcile(despatch(said("40", status=None), number="ASN2"), order(after),
                       PROFILE, TODAY)
    assert "SHIPPED_UNCONFIRMED|PO1|10" not in second.cleared


# -- responses ------------------------------------------------------------------------------

def test_a_replacement_response_leaving_out_a_confirmed_line_unconfirms_it() -> None:
    """Line 20 was confirmed earlier; a replacing ORDRSP (1225=5, restates every line)
    lists only line 10. Line 20 is skipped because it was `answered` earlier."""
    lines = order(ordered(), confirmed(line_no="20", gtin=GTIN2))
    outcome = reconcile(response(said(), function="5", status=DocumentStatus.REPLACED),
                        lines, PROFILE, TODAY)
    assert [(d.code, d.line_no) for d in outcome.discrepancies] == [
        (C.LINE_NOT_CONFIRMED, "20")]


def test_an_order_accepted_after_its_rejection_is_confirmed() -> None:
    """ORDRSP 27 rejects PO1, then ORDRSP 29 without lines accepts it as ordered. The
    acknowledgement touches only OPEN lines, so every line stays REJECTED (silence never
    chases it again) and ORDER_REJECTED stays open."""
    rejected = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                         order(ordered()), PROFILE, TODAY)
    after = rejected.lines[("PO1", "10")]
    accepted = reconcile(response(status=DocumentStatus.ACCEPTED, function="29"),
                         order(after), PROFILE, TODAY)
    assert ("PO1", "10") in accepted.lines
    assert accepted.lines[("PO1", "10")].state is LineState.CONFIRMED
    assert "ORDER_REJECTED|PO1|" in accepted.cleared


def test_an_order_rejection_closes_the_lines_confirmation_exceptions() -> None:
    """A line with an open QTY_SHORT / LINE_NOT_CONFIRMED; the supplier then rejects the
    whole order. `reject_line` clears the line's confirmation rules, `reject_order` clears
    nothing, so stale line exceptions stay in the buyer's queue beside ORDER_REJECTED."""
    short = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(40))
    outcome = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                        order(short), PROFILE, TODAY)
    assert "QTY_SHORT|PO1|10" in outcome.cleared
    assert "LINE_NOT_CONFIRMED|PO1|10" in outcome.cleared


def test_an_order_rejection_does_not_undo_a_despatch() -> None:
    """100 already despatched; a later ORDRSP rejects (cancels) the order: the line becomes
    REJECTED with nothing confirmed, though the goods have left (a later confirmation keeps
    the despatch state; a rejection does not)."""
    shipped = confirmed(state=LineState.DESPATCHED, despatched_quantity=Decimal(100))
    outcome = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                        order(shipped), PROFILE, TODAY)
    assert outcome.lines[("PO1", "10")].state is LineState.DESPATCHED


# -- matching -------------------------------------------------------------------------------

def test_schedules_naming_the_line_with_and_without_leading_zeros_add_up() -> None:
    """60 + 40 for order line 10, the second written '010': matching ignores leading zeros
    but merging schedules does not, so the second replaces the first (QTY_SHORT 40)."""
    outcome = reconcile(response(said("60", status=LineStatus.CHANGED),
                                 said("40", order_line_no="010", line_no="2",
                                      status=LineStatus.CHANGED)),
                        order(ordered()), PROFILE, TODAY)
    assert C.QTY_SHORT not in codes(outcome)
    assert outcome.lines[("PO1", "10")].confirmed_quantity == Decimal(100)


def test_a_gtin_sent_as_gtin14_is_the_same_item() -> None:
    """The order has GTIN-13 4000862141404; the supplier's system sends it as GTIN-14
    04000862141404 (same trade item per GS1). ITEM_MISMATCH high, line not confirmed."""
    outcome = reconcile(response(said(gtin="0" + GTIN)), order(ordered()), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert outcome.lines[("PO1", "10")].state is LineState.CONFIRMED


# -- risk -----------------------------------------------------------------------------------

def test_unknown_order_without_number_scores_its_own_severity() -> None:
    """UNKNOWN_ORDER without an order number is MEDIUM but its risk is computed with the
    HIGH weight, so it ranks like the HIGH one."""
    doc = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                   document_number="R1", status=DocumentStatus.CHANGED, function_code="4",
                   order_numbers=[], lines=[said()])
    doc.lines[0].order_number = None
    outcome = reconcile(doc, order(ordered()), PROFILE, TODAY)
    (found,) = outcome.discrepancies
    assert found.code is C.UNKNOWN_ORDER
    assert found.severity is Severity.MEDIUM
    assert found.risk == risk_score(Severity.MEDIUM, 1, Decimal(0), None)


# -- silence --------------------------------------------------------------------------------

def test_a_line_confirmed_at_zero_is_not_chased_for_despatch() -> None:
    """The supplier confirmed 0 of 100 (QTY_SHORT high already open): nothing will be
    shipped, yet silence raises DESPATCH_OVERDUE / DELIVERY_OVERDUE 'nothing yet'."""
    zero = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(0))
    for today in (date(2026, 12, 4), date(2026, 12, 10)):
        silence = overdue(Order("PO1", "SUP1", "buyer@x", (zero,)), date(2026, 11, 20),
                          PROFILE, today)
        assert silence.discrepancies == []
