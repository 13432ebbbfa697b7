"""Reconciliation rules, pure: documents against open orders, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.discrepancies import (
    DiscrepancyCode,
    ExceptionState,
    is_open,
    move_exception,
    risk_score,
)
from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    Line,
    LineStatus,
    SourceFormat,
)
from gateway.domain.orders import LineState, Order, OrderLine, VersionKind
from gateway.domain.reconciliation import reconcile
from gateway.domain.tolerances import Severity, ToleranceProfile
from gateway.errors import InvalidTransition

C = DiscrepancyCode
TODAY = date(2026, 11, 26)
NEED = date(2026, 12, 5)
LATE = date(2026, 12, 12)
GTIN = "4000862141404"
GTIN2 = "4000862141411"
PROFILE = ToleranceProfile(name="acme", version=2, qty_under_pct=Decimal(5),
                           qty_over_abs=Decimal(2), price_pct=Decimal(1))


def order(*lines: OrderLine, number: str = "PO1") -> dict[str, Order]:
    return {number: Order(number, "SUP1", "buyer@example.com", lines)}


def ordered(line_no: str = "10", qty: str = "100", gtin: str | None = "4000862141404",
            **kw: object) -> OrderLine:
    fields: dict[str, object] = {"unit": "PCE", "price": Decimal("12.50"),
                                 "requested_date": NEED, "gtin": gtin}
    fields.update(kw)
    return OrderLine("PO1", line_no, Decimal(qty), **fields)  # type: ignore[arg-type]


def response(*lines: Line, status: DocumentStatus | None = DocumentStatus.CHANGED,
             function: str = "4", orders: tuple[str, ...] = ("PO1",)) -> Document:
    return Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                    document_number="R1", status=status, function_code=function,
                    order_numbers=list(orders), lines=list(lines))


def despatch(*lines: Line, number: str = "ASN1") -> Document:
    return Document(DocumentKind.DESPATCH_ADVICE, SourceFormat.EDIFACT, "DESADV",
                    document_number=number, order_numbers=["PO1"], lines=list(lines))


def said(qty: str | None = "100", *, order_line_no: str | None = "10", line_no: str = "1",
         gtin: str | None = "4000862141404", status: LineStatus | None = LineStatus.ACCEPTED,
         when: date | None = NEED, price: str | None = "12.50", unit: str | None = "PCE",
         order_number: str | None = "PO1") -> Line:
    return Line(line_no=line_no, order_number=order_number, order_line_no=order_line_no,
                item=Item(gtin=gtin), status=status,
                quantity=Decimal(qty) if qty is not None else None, unit=unit,
                delivery_date=when, price=Decimal(price) if price is not None else None)


def confirmed(**kw: object) -> OrderLine:
    fields: dict[str, object] = {"state": LineState.CONFIRMED,
                                 "confirmed_quantity": Decimal(100), "confirmed_date": NEED,
                                 "confirmed_price": Decimal("12.50")}
    fields.update(kw)
    return ordered(**fields)


def codes(outcome: object) -> list[DiscrepancyCode]:
    return [d.code for d in outcome.discrepancies]  # type: ignore[attr-defined]


def test_accepted_line_as_ordered_raises_nothing_and_records_a_version() -> None:
    outcome = reconcile(response(said()), order(ordered()), PROFILE, TODAY)
    assert outcome.discrepancies == []
    (version,) = outcome.versions
    assert (version.kind, version.quantity, version.delivery_date) == (
        VersionKind.CONFIRMATION, Decimal(100), NEED)
    assert outcome.lines[("PO1", "10")].state is LineState.CONFIRMED
    assert "QTY_SHORT|PO1|10" in outcome.cleared


@pytest.mark.parametrize(
    ("qty", "expected", "severity"),
    [("96", [], None), ("95", [], None), ("94", [C.QTY_SHORT], Severity.MEDIUM),
     ("40", [C.QTY_SHORT], Severity.HIGH), ("102", [], None),
     ("103", [C.QTY_OVER], Severity.MEDIUM)],
)
def test_quantity_tolerance(qty: str, expected: list[DiscrepancyCode],
                            severity: Severity | None) -> None:
    outcome = reconcile(response(said(qty, status=LineStatus.CHANGED)), order(ordered()),
                        PROFILE, TODAY)
    assert codes(outcome) == expected
    if severity:
        found = outcome.discrepancies[0]
        assert found.severity is severity
        assert found.tolerance is not None
        assert "acme v2" in found.tolerance
        assert found.expected == "100 PCE"
        assert found.actual == f"{qty} PCE"
    assert outcome.lines[("PO1", "10")].confirmed_quantity == Decimal(qty)


@pytest.mark.parametrize(
    ("days", "expected", "severity"),
    [(0, [], None), (1, [C.DATE_LATE], Severity.LOW), (3, [C.DATE_LATE], Severity.LOW),
     (4, [C.DATE_LATE], Severity.HIGH), (-3, [], None), (-4, [C.DATE_EARLY], Severity.LOW),
     (-8, [C.DATE_EARLY], Severity.HIGH)],
)
def test_date_warning_and_error_levels(days: int, expected: list[DiscrepancyCode],
                                       severity: Severity | None) -> None:
    when = date.fromordinal(NEED.toordinal() + days)
    outcome = reconcile(response(said(when=when)), order(ordered()), PROFILE, TODAY)
    assert codes(outcome) == expected
    if severity:
        assert outcome.discrepancies[0].severity is severity
        assert outcome.discrepancies[0].difference == f"{days:+d} days"


def test_price_change_beyond_tolerance() -> None:
    within = reconcile(response(said(price="12.60")), order(ordered()), PROFILE, TODAY)
    assert codes(within) == []
    up = reconcile(response(said(price="13.00")), order(ordered()), PROFILE, TODAY)
    assert codes(up) == [C.PRICE_CHANGED]
    assert up.discrepancies[0].severity is Severity.MEDIUM
    assert up.discrepancies[0].difference == "0.5 (+4.0%)"
    down = reconcile(response(said(price="11.00")), order(ordered()), PROFILE, TODAY)
    assert down.discrepancies[0].severity is Severity.LOW


def test_rejected_line_and_rejected_order() -> None:
    line = reconcile(response(said(status=LineStatus.REJECTED)), order(ordered()), PROFILE,
                     TODAY)
    assert codes(line) == [C.LINE_REJECTED]
    assert line.lines[("PO1", "10")].state is LineState.REJECTED
    whole = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                      order(ordered(), ordered("20")), PROFILE, TODAY)
    assert codes(whole) == [C.ORDER_REJECTED]
    assert {line.state for line in whole.lines.values()} == {LineState.REJECTED}


def test_whole_order_acknowledged_confirms_every_line() -> None:
    outcome = reconcile(response(status=DocumentStatus.ACCEPTED, function="29"),
                        order(ordered(), ordered("20")), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert {line.state for line in outcome.lines.values()} == {LineState.CONFIRMED}
    assert len(outcome.versions) == 2


def test_lines_absent_from_a_complete_response_are_not_confirmed() -> None:
    outcome = reconcile(response(said(), status=DocumentStatus.ACCEPTED, function="29"),
                        order(ordered(), ordered("20", gtin="4000862141411")), PROFILE, TODAY)
    assert codes(outcome) == [C.LINE_NOT_CONFIRMED]
    assert outcome.discrepancies[0].line_no == "20"


def test_unknown_order_once_per_order() -> None:
    doc = response(said(order_number="PO9"), said(order_number="PO9", order_line_no="20"),
                   orders=("PO9",))
    outcome = reconcile(doc, order(ordered()), PROFILE, TODAY)
    assert codes(outcome) == [C.UNKNOWN_ORDER]
    assert outcome.discrepancies[0].severity is Severity.HIGH


def test_match_by_item_when_line_number_is_missing_or_garbled() -> None:
    lines = order(ordered("10", gtin="4000862141404"), ordered("20", gtin="4000862141411"))
    doc = response(said("80", order_line_no=None, line_no="99", gtin="4000862141411",
                        status=LineStatus.CHANGED))
    outcome = reconcile(doc, lines, PROFILE, TODAY)
    assert [d.line_no for d in outcome.discrepancies] == ["20"]
    assert codes(outcome) == [C.QTY_SHORT]


def test_same_item_on_several_lines_is_told_apart_by_quantity_or_flagged() -> None:
    lines = order(ordered("10", qty="5"), ordered("20", qty="7"))
    by_quantity = reconcile(response(said("7", order_line_no=None, line_no="")), lines,
                            PROFILE, TODAY)
    assert by_quantity.discrepancies == []
    assert ("PO1", "20") in by_quantity.lines
    ambiguous = reconcile(response(said("6", order_line_no=None, line_no="")), lines,
                          PROFILE, TODAY)
    assert codes(ambiguous) == [C.AMBIGUOUS_LINE]
    assert ambiguous.lines == {}


def test_unknown_line_and_item_mismatch() -> None:
    unknown = reconcile(response(said(order_line_no=None, line_no="", gtin="4000862141428")),
                        order(ordered()), PROFILE, TODAY)
    assert codes(unknown) == [C.UNKNOWN_LINE]
    mismatch = reconcile(response(said(gtin="4000862141428")), order(ordered()), PROFILE,
                         TODAY)
    assert codes(mismatch) == [C.ITEM_MISMATCH]
    assert mismatch.lines == {}


def test_unit_mismatch_stops_the_quantity_comparison() -> None:
    outcome = reconcile(response(said("10", unit="CT")), order(ordered()), PROFILE, TODAY)
    assert codes(outcome) == [C.UNIT_MISMATCH]


def test_despatch_cumulates_and_flags_short_then_over() -> None:
    confirmed = ordered(state=LineState.CONFIRMED, confirmed_quantity=Decimal(100))
    first = reconcile(despatch(said("60", status=None)), order(confirmed), PROFILE, TODAY)
    assert codes(first) == [C.SHORT_SHIPPED]
    after_first = first.lines[("PO1", "10")]
    assert after_first.despatched_quantity == Decimal(60)
    assert after_first.state is LineState.PARTLY_DESPATCHED
    second = reconcile(despatch(said("45", status=None), number="ASN2"),
                       order(after_first), PROFILE, TODAY)
    assert codes(second) == [C.OVER_SHIPPED]
    assert second.discrepancies[0].actual == "105 PCE"
    assert "SHORT_SHIPPED|PO1|10" in second.cleared


def test_one_item_split_over_several_despatch_lines_counts_once() -> None:
    confirmed = ordered(state=LineState.CONFIRMED, confirmed_quantity=Decimal(100))
    doc = despatch(said("50", status=None), said("50", status=None, line_no="2"))
    outcome = reconcile(doc, order(confirmed), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert outcome.lines[("PO1", "10")].state is LineState.DESPATCHED
    assert len(outcome.versions) == 2


def test_despatch_of_unconfirmed_line_and_late_expected_delivery() -> None:
    late = date(2026, 12, 12)
    outcome = reconcile(despatch(said(status=None, when=late)), order(ordered()), PROFILE,
                        TODAY)
    assert codes(outcome) == [C.SHIPPED_UNCONFIRMED, C.DATE_LATE]


def test_repeated_document_number_is_reported_not_applied() -> None:
    outcome = reconcile(despatch(said(status=None)), order(ordered()), PROFILE, TODAY,
                        repeated=True)
    assert codes(outcome) == [C.DUPLICATE_DOCUMENT]
    assert outcome.versions == []


def test_risk_grows_with_deviation_value_and_urgency() -> None:
    base = risk_score(Severity.MEDIUM, Decimal("0.1"), Decimal(1000), 30)
    assert risk_score(Severity.MEDIUM, Decimal("0.5"), Decimal(1000), 30) > base
    assert risk_score(Severity.MEDIUM, Decimal("0.1"), Decimal(100000), 30) > base
    assert risk_score(Severity.MEDIUM, Decimal("0.1"), Decimal(1000), 2) > base
    assert risk_score(Severity.HIGH, Decimal("0.1"), Decimal(1000), 30) > base


def test_exception_state_machine() -> None:
    state = move_exception(ExceptionState.OPEN, ExceptionState.ACKNOWLEDGED)
    state = move_exception(state, ExceptionState.ACCEPTED_CHANGE)
    assert not is_open(state)
    assert move_exception(state, ExceptionState.OPEN) is ExceptionState.OPEN
    with pytest.raises(InvalidTransition, match="cannot go from resolved to acknowledged"):
        move_exception(ExceptionState.RESOLVED, ExceptionState.ACKNOWLEDGED)


def test_despatch_later_than_the_confirmed_date_is_late() -> None:
    promised = date(2026, 12, 8)
    confirmed = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(100),
                        confirmed_date=promised)
    late = reconcile(despatch(said(status=None, when=date(2026, 12, 14))), order(confirmed),
                     PROFILE, TODAY)
    assert codes(late) == [C.DATE_LATE]
    assert late.discrepancies[0].expected == "2026-12-08"
    on_promise = reconcile(despatch(said(status=None, when=promised)), order(confirmed),
                           PROFILE, TODAY)
    assert on_promise.discrepancies == []
    assert "DATE_LATE|PO1|10" not in on_promise.cleared
    by_need = reconcile(despatch(said(status=None, when=NEED)), order(confirmed), PROFILE, TODAY)
    assert "DATE_LATE|PO1|10" in by_need.cleared


def test_a_line_numbered_as_ordered_with_another_item_is_an_item_mismatch() -> None:
    """LIN 1082 repeats the buyer's line 10, the quantity is the ordered 100, the GTIN is on no
    line of the order: the supplier substituted the item on line 10."""
    lines = order(ordered(), ordered("20", gtin="4000862141411"))
    substituted = said(order_line_no=None, line_no="10", gtin="4000862141428")
    outcome = reconcile(response(substituted, said(order_line_no=None, line_no="20",
                                                   gtin="4000862141411"),
                                 status=DocumentStatus.ACCEPTED, function="29"),
                        lines, PROFILE, TODAY)
    assert codes(outcome) == [C.ITEM_MISMATCH]
    (found,) = outcome.discrepancies
    assert (found.line_no, found.severity) == ("10", Severity.HIGH)
    assert (found.expected, found.actual) == ("GTIN 4000862141404", "GTIN 4000862141428")
    assert ("PO1", "10") not in outcome.lines
    assert outcome.lines[("PO1", "20")].state is LineState.CONFIRMED


def test_a_numbered_line_with_another_item_and_quantity_stays_unknown() -> None:
    """Without the ordered quantity, or when another line has the item, nothing is guessed."""
    lines = order(ordered(), ordered("20", gtin="4000862141411"))
    other_quantity = reconcile(response(said("40", order_line_no=None, line_no="10",
                                             gtin="4000862141428")), lines, PROFILE, TODAY)
    assert codes(other_quantity) == [C.UNKNOWN_LINE]
    on_line_20 = reconcile(response(said(order_line_no=None, line_no="10",
                                         gtin="4000862141411")), lines, PROFILE, TODAY)
    assert on_line_20.discrepancies == []
    assert list(on_line_20.lines) == [("PO1", "20")]


def test_an_item_mismatch_on_the_order_line_number_is_not_also_left_out() -> None:
    outcome = reconcile(response(said(gtin="4000862141428"), status=DocumentStatus.ACCEPTED,
                                 function="29"), order(ordered()), PROFILE, TODAY)
    assert codes(outcome) == [C.ITEM_MISMATCH]


# -- lines without a status ---------------------------------------------------------------------

def email_response(*lines: Line, source: SourceFormat = SourceFormat.EMAIL_TEXT) -> Document:
    return Document(DocumentKind.ORDER_RESPONSE, source, "EMAIL", status=None,
                    order_numbers=["PO1"], lines=list(lines))


@pytest.mark.parametrize("source", [SourceFormat.EMAIL_TEXT, SourceFormat.SPREADSHEET])
def test_a_written_line_without_status_confirms_nothing(source: SourceFormat) -> None:
    """Values without a word that commits to them: the line stays open, LINE_UNCLEAR (low) is
    raised and nothing is cleared, LINE_NOT_CONFIRMED included."""
    outcome = reconcile(email_response(said(status=None), source=source), order(ordered()),
                        PROFILE, TODAY)
    [unclear] = outcome.discrepancies
    assert (unclear.code, unclear.severity, unclear.line_no) == (C.LINE_UNCLEAR, Severity.LOW,
                                                                 "10")
    assert unclear.actual == f"100 PCE, {NEED.isoformat()}"
    assert outcome.lines == {}
    assert outcome.versions == []
    assert outcome.cleared == []


def test_a_later_confirmation_clears_line_unclear() -> None:
    outcome = reconcile(email_response(said()), order(ordered()), PROFILE, TODAY)
    assert outcome.lines[("PO1", "10")].state is LineState.CONFIRMED
    assert "LINE_UNCLEAR|PO1|10" in outcome.cleared
    assert "LINE_NOT_CONFIRMED|PO1|10" in outcome.cleared


@pytest.mark.parametrize(("header", "state"), [
    (DocumentStatus.ACCEPTED, LineState.CONFIRMED), (DocumentStatus.CHANGED, LineState.CONFIRMED),
    (DocumentStatus.REPLACED, LineState.CONFIRMED), (None, LineState.OPEN)])
def test_an_edifact_line_without_1229_answers_as_its_header(header: DocumentStatus | None,
                                                            state: LineState) -> None:
    """EANCOM ORDRSP: BGM 1225 is the message's answer and LIN 1229 only says where a line
    differs; with no 1225 that can be read, the line is unclear like a written one."""
    outcome = reconcile(response(said(status=None), status=header), order(ordered()), PROFILE,
                        TODAY)
    line = outcome.lines.get(("PO1", "10"))
    assert (line.state if line else LineState.OPEN) is state
    assert (C.LINE_UNCLEAR in codes(outcome)) is (header is None)


def test_a_response_without_lines_accepts_the_order_only_when_it_says_so() -> None:
    """ORDRSP 1225 = 29 without lines accepts the order as ordered; one whose 1225 cannot be
    read (status None) confirms nothing."""
    accepted = reconcile(response(status=DocumentStatus.ACCEPTED, function="29"),
                         order(ordered()), PROFILE, TODAY)
    unread = reconcile(response(status=None, function="99"), order(ordered()), PROFILE, TODAY)
    assert accepted.lines[("PO1", "10")].state is LineState.CONFIRMED
    assert unread.lines == {}
    assert unread.discrepancies == []


# -- prices ---------------------------------------------------------------------------------

def test_a_free_of_charge_line_that_gets_a_price_is_flagged() -> None:
    """Ordered at 0.00 (free sample / FOC), the supplier confirms 12.50 each: the buyer
    would be invoiced for something agreed free, so the price change is raised even though
    the ordered price is 0."""
    outcome = reconcile(response(said(price="12.50")), order(ordered(price=Decimal(0))),
                        PROFILE, TODAY)
    assert C.PRICE_CHANGED in codes(outcome)


# -- dates on a despatch ---------------------------------------------------------------------

def test_despatch_without_a_date_clears_no_date_exception() -> None:
    """A despatch line with no expected delivery evaluates no date rule, so it must not
    resolve DATE_LATE / DATE_EARLY raised by the confirmation."""
    confirmed_late = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(100),
                             confirmed_date=LATE)
    outcome = reconcile(despatch(said("100", when=None, status=None)),
                        order(confirmed_late), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert "DATE_LATE|PO1|10" not in outcome.cleared
    assert "DATE_EARLY|PO1|10" not in outcome.cleared


def test_goods_arriving_on_the_need_date_are_not_late() -> None:
    """Confirmed 2 days early (within tolerance, accepted silently); the ASN says the goods
    arrive on the requested date. That is measured against the need date, not against the
    early promise, so it is no DATE_LATE."""
    early = confirmed(state=LineState.CHANGED, confirmed_date=date(2026, 12, 3))
    outcome = reconcile(despatch(said(status=None, when=NEED)), order(early), PROFILE, TODAY)
    assert C.DATE_LATE not in codes(outcome)


def test_goods_arriving_after_the_need_date_are_not_early() -> None:
    """Confirmed a week late (DATE_LATE open); the ASN says 12-09, still 4 days after the
    need date 12-05. Earlier than the late promise, it is still no DATE_EARLY beside the open
    DATE_LATE for the same line."""
    late = confirmed(state=LineState.CHANGED, confirmed_date=date(2026, 12, 13))
    outcome = reconcile(despatch(said(status=None, when=date(2026, 12, 9))), order(late),
                        PROFILE, TODAY)
    assert C.DATE_EARLY not in codes(outcome)


# -- despatch quantities ----------------------------------------------------------------------

def test_despatch_without_a_quantity_is_not_short_shipped() -> None:
    """A DESADV line whose quantity is missing/unreadable (None) reports no SHORT_SHIPPED
    '0 PCE' of 100 (a made-up figure) and no OVER_SHIPPED."""
    outcome = reconcile(despatch(said(None, status=None)), order(confirmed()), PROFILE, TODAY)
    assert C.SHORT_SHIPPED not in codes(outcome)
    assert C.OVER_SHIPPED not in codes(outcome)


def test_shipping_the_ordered_quantity_is_not_over_shipped() -> None:
    """Ordered 100, confirmed 96 (within the 5 % under tolerance, accepted silently), the
    supplier ships the full 100: exactly what was ordered came, so no OVER_SHIPPED."""
    line = confirmed(state=LineState.CHANGED, confirmed_quantity=Decimal(96))
    outcome = reconcile(despatch(said("100", status=None)), order(line), PROFILE, TODAY)
    assert C.OVER_SHIPPED not in codes(outcome)


def test_a_second_despatch_does_not_clear_shipped_unconfirmed() -> None:
    """Never confirmed; ASN1 ships 60 (SHIPPED_UNCONFIRMED, line now partly despatched);
    ASN2 ships 40: the line is no longer OPEN, but the supplier still has not confirmed it,
    so SHIPPED_UNCONFIRMED is not cleared."""
    first = reconcile(despatch(said("60", status=None)), order(ordered()), PROFILE, TODAY)
    assert C.SHIPPED_UNCONFIRMED in codes(first)
    after = first.lines[("PO1", "10")]
    second = reconcile(despatch(said("40", status=None), number="ASN2"), order(after),
                       PROFILE, TODAY)
    assert "SHIPPED_UNCONFIRMED|PO1|10" not in second.cleared


# -- responses ------------------------------------------------------------------------------

def test_a_confirmation_after_despatch_keeps_the_despatch_state() -> None:
    """A (replacing) response restating a line already shipped in full: the line stays
    `despatched`; the confirmation does not set it back to CONFIRMED/CHANGED."""
    shipped = ordered(state=LineState.DESPATCHED, confirmed_quantity=Decimal(100),
                      confirmed_date=NEED, confirmed_price=Decimal("12.50"),
                      despatched_quantity=Decimal(100))
    outcome = reconcile(response(said("100", status=LineStatus.ACCEPTED), status=None,
                                 function="5"),
                        order(shipped), PROFILE, TODAY)
    assert outcome.lines[("PO1", "10")].state is LineState.DESPATCHED


def test_a_replacement_response_leaving_out_a_confirmed_line_unconfirms_it() -> None:
    """Line 20 was confirmed earlier; a replacing ORDRSP (1225=5, restates every line)
    lists only line 10. Line 20 is not skipped for having been answered earlier: it is
    LINE_NOT_CONFIRMED."""
    lines = order(ordered(), confirmed(line_no="20", gtin=GTIN2))
    outcome = reconcile(response(said(), function="5", status=DocumentStatus.REPLACED),
                        lines, PROFILE, TODAY)
    assert [(d.code, d.line_no) for d in outcome.discrepancies] == [
        (C.LINE_NOT_CONFIRMED, "20")]


def test_an_order_accepted_after_its_rejection_is_confirmed() -> None:
    """ORDRSP 27 rejects PO1, then ORDRSP 29 without lines accepts it as ordered. The
    acknowledgement confirms the REJECTED lines too (so silence chases them again) and
    clears ORDER_REJECTED."""
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
    whole order. Rejecting the order clears the line's confirmation rules, as rejecting the
    line does, so no stale line exception stays in the buyer's queue beside ORDER_REJECTED."""
    short = ordered(state=LineState.CHANGED, confirmed_quantity=Decimal(40))
    outcome = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                        order(short), PROFILE, TODAY)
    assert "QTY_SHORT|PO1|10" in outcome.cleared
    assert "LINE_NOT_CONFIRMED|PO1|10" in outcome.cleared


def test_an_order_rejection_does_not_undo_a_despatch() -> None:
    """100 already despatched; a later ORDRSP rejects (cancels) the order: the goods have
    left, so the line stays DESPATCHED (as it does after a later confirmation)."""
    shipped = confirmed(state=LineState.DESPATCHED, despatched_quantity=Decimal(100))
    outcome = reconcile(response(status=DocumentStatus.REJECTED, function="27"),
                        order(shipped), PROFILE, TODAY)
    assert outcome.lines[("PO1", "10")].state is LineState.DESPATCHED


# -- matching -------------------------------------------------------------------------------

def test_a_line_confirmed_in_two_schedules_is_not_short() -> None:
    """60 on the need date and 40 a week later, both naming order line 10: 100 are
    confirmed. The schedules add up (as despatch lines do); the second does not replace the
    first, which would show the buyer QTY_SHORT 40 of 100."""
    outcome = reconcile(response(said("60", status=LineStatus.CHANGED),
                                 said("40", when=LATE, line_no="2",
                                      status=LineStatus.CHANGED),
                                 status=None),
                        order(ordered()), PROFILE, TODAY)
    assert C.QTY_SHORT not in [d.code for d in outcome.discrepancies]
    assert outcome.lines[("PO1", "10")].confirmed_quantity == Decimal(100)


def test_schedules_naming_the_line_with_and_without_leading_zeros_add_up() -> None:
    """60 + 40 for order line 10, the second written '010': merging schedules ignores leading
    zeros as matching does, so the second adds to the first (no QTY_SHORT 40)."""
    outcome = reconcile(response(said("60", status=LineStatus.CHANGED),
                                 said("40", order_line_no="010", line_no="2",
                                      status=LineStatus.CHANGED)),
                        order(ordered()), PROFILE, TODAY)
    assert C.QTY_SHORT not in codes(outcome)
    assert outcome.lines[("PO1", "10")].confirmed_quantity == Decimal(100)


def test_two_lines_with_the_same_number_up_to_leading_zeros_are_not_guessed() -> None:
    """Line numbers are compared without leading zeros; when "10" and "010" both exist,
    neither is taken silently. Nothing is guessed: it is AMBIGUOUS_LINE."""
    outcome = reconcile(response(said("100", status=LineStatus.ACCEPTED,
                                      order_line_no="0010"),
                                 status=None),
                        order(ordered("10"), ordered("010")), PROFILE, TODAY)
    assert [d.code for d in outcome.discrepancies] == [C.AMBIGUOUS_LINE]
    assert outcome.lines == {}


def test_a_gtin_sent_as_gtin14_is_the_same_item() -> None:
    """The order has GTIN-13 4000862141404; the supplier's system sends it as GTIN-14
    04000862141404 (same trade item per GS1): no ITEM_MISMATCH, the line is confirmed."""
    outcome = reconcile(response(said(gtin="0" + GTIN)), order(ordered()), PROFILE, TODAY)
    assert outcome.discrepancies == []
    assert outcome.lines[("PO1", "10")].state is LineState.CONFIRMED


# -- risk -----------------------------------------------------------------------------------

def test_unknown_order_without_number_scores_its_own_severity() -> None:
    """UNKNOWN_ORDER without an order number is MEDIUM, and its risk is computed with the
    MEDIUM weight, so it does not rank like the HIGH one."""
    doc = Document(DocumentKind.ORDER_RESPONSE, SourceFormat.EDIFACT, "ORDRSP",
                   document_number="R1", status=DocumentStatus.CHANGED, function_code="4",
                   order_numbers=[], lines=[said()])
    doc.lines[0].order_number = None
    outcome = reconcile(doc, order(ordered()), PROFILE, TODAY)
    (found,) = outcome.discrepancies
    assert found.code is C.UNKNOWN_ORDER
    assert found.severity is Severity.MEDIUM
    assert found.risk == risk_score(Severity.MEDIUM, 1, Decimal(0), None)
