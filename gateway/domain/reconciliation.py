"""Reconciliation: a supplier document's events against the open order lines (pure).

`reconcile` takes a canonical document, the orders it refers to, the supplier's tolerance
profile and today's date, and returns the new line states, the new versions of each line's
promise, the discrepancies found and the keys of earlier discrepancies that no longer hold.
Nothing here touches a database; the service layer loads and stores.

Matching a supplier line to an order line: by order number and order line number (leading
zeros ignored); then by the supplier's own line number when the item agrees; then by item id
(GTIN, buyer's or supplier's part) within the order, and by quantity when the same item stands on
several lines. A line that matches none is UNKNOWN_LINE; one that matches several is
AMBIGUOUS_LINE. A line named by its order line number (or by the supplier's line number with the
ordered quantity, no line having its item) with another item is ITEM_MISMATCH on that line.
Nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.domain.discrepancies import Discrepancy, DiscrepancyCode, discrepancy_key, risk_score
from gateway.domain.documents import Document
from gateway.domain.events import (
    Event,
    LineConfirmed,
    LineRef,
    LineRejected,
    LinesDespatched,
    LineUnclear,
    OrderAcknowledged,
    OrderRejected,
    ResponseComplete,
    document_events,
)
from gateway.domain.orders import LineState, LineVersion, Order, OrderLine, VersionKind
from gateway.domain.tolerances import (
    Severity,
    ToleranceProfile,
    early_severity,
    late_severity,
    plain_number,
)

C = DiscrepancyCode
# A line answered (confirmed or rejected) also answers the emails about it that could not be
# read (UNREADABLE_REPLY, one per email: the ledger resolves those of earlier emails).
_CONFIRMATION_RULES = (C.QTY_SHORT, C.QTY_OVER, C.DATE_LATE, C.DATE_EARLY, C.PRICE_CHANGED,
                       C.LINE_REJECTED, C.UNIT_MISMATCH, C.LINE_NOT_CONFIRMED, C.ITEM_MISMATCH,
                       C.UNREADABLE_REPLY, C.LINE_UNCLEAR)


@dataclass(slots=True)
class Outcome:
    """What one document changes: line states, versions, discrepancies, cleared keys."""

    lines: dict[tuple[str, str], OrderLine] = field(default_factory=dict)
    versions: list[LineVersion] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


def reconcile(document: Document, orders: Mapping[str, Order], profile: ToleranceProfile,
              today: date, *, repeated: bool = False) -> Outcome:
    """Apply a document to the orders it names. `repeated`: the same supplier already sent a
    document with this number and kind (different bytes): it is reported, not applied."""
    run = _Run(orders, profile, today)
    if repeated:
        run.duplicate(document)
        return run.outcome
    events = document_events(document)
    for event in events:
        run.apply(event)
    run.settle_despatches()
    return run.outcome


class _Run:
    """One reconciliation. One small method per event type."""

    def __init__(self, orders: Mapping[str, Order], profile: ToleranceProfile,
                 today: date) -> None:
        self.orders = orders
        self.profile = profile
        self.today = today
        self.outcome = Outcome()
        self.claimed: set[tuple[str, str]] = set()
        self.unknown_orders: set[str] = set()
        self.despatched: dict[tuple[str, str], int] = {}
        self.current_lines: dict[str, list[OrderLine]] = {}
        self.number_index: dict[str, dict[str, list[int]]] = {}

    # -- events --------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if isinstance(event, LineConfirmed):
            self.confirm(event)
        elif isinstance(event, LineRejected):
            self.reject_line(event)
        elif isinstance(event, LineUnclear):
            self.unclear(event)
        elif isinstance(event, LinesDespatched):
            self.despatch(event)
        elif isinstance(event, OrderAcknowledged):
            self.acknowledge(event.order_number)
        elif isinstance(event, OrderRejected):
            self.reject_order(event.order_number)
        else:
            self.complete(event)

    def confirm(self, event: LineConfirmed) -> None:
        line = self.match(event.ref, event.quantity)
        if line is None:
            return
        if self.unit_differs(line, event.unit, event.ref):
            return
        quantity = event.quantity if event.quantity is not None else line.quantity
        delivery = event.delivery_date or line.requested_date
        price = event.price if event.price is not None else line.price
        found = [
            *self.check_quantity(line, quantity, event.ref.position),
            *self.check_date(line, line.requested_date, delivery, event.ref.position),
            *self.check_price(line, price, event.ref.position),
        ]
        self.report(found, line, _CONFIRMATION_RULES)
        deviates = (quantity != line.quantity or delivery != line.requested_date
                    or price != line.price)
        state = LineState.CHANGED if deviates else LineState.CONFIRMED
        if line.despatched_quantity:
            # What has left the supplier stays shipped; a restated promise does not undo it.
            state = self.despatch_state(line.despatched_quantity, quantity)
        self.store(line.evolve(
            state=state,
            confirmed_quantity=quantity, confirmed_date=delivery, confirmed_price=price),
            VersionKind.CONFIRMATION, quantity, delivery, price, event.ref.position)

    def unclear(self, event: LineUnclear) -> None:
        """Values without a commitment: the line stays as it was (open lines stay open and
        LINE_NOT_CONFIRMED stays raised); the buyer is told what the supplier wrote."""
        line = self.match(event.ref, event.quantity, claim=False)
        if line is None:
            return
        said = ", ".join(p for p in (
            _qty(event.quantity, event.unit) if event.quantity is not None else "",
            event.delivery_date.isoformat() if event.delivery_date else "") if p)
        self.outcome.discrepancies.append(self.discrepancy(
            C.LINE_UNCLEAR, Severity.LOW, line, "a confirmation or a rejection",
            said or "no status", None,
            "the supplier names the line without confirming or rejecting it; not read as a "
            "confirmation", None, Decimal(1), event.ref.position))

    def reject_line(self, event: LineRejected) -> None:
        line = self.match(event.ref)
        if line is None:
            return
        found = [self.discrepancy(C.LINE_REJECTED, Severity.HIGH, line,
                                  f"{_qty(line.quantity, line.unit)} as ordered",
                                  "line not accepted", None, "supplier rejected the line",
                                  None, Decimal(1), event.ref.position)]
        self.report(found, line, _CONFIRMATION_RULES)
        self.store(line.evolve(state=self.rejected_state(line), confirmed_quantity=Decimal(0)),
                   VersionKind.CONFIRMATION, Decimal(0), None, None, event.ref.position)

    @staticmethod
    def rejected_state(line: OrderLine) -> LineState:
        """Rejected, unless goods already left: those stay shipped (the rejection is still
        an exception the buyer sees)."""
        return line.state if line.despatched_quantity else LineState.REJECTED

    def acknowledge(self, order_number: str) -> None:
        order = self.order(order_number)
        if order is None:
            return
        # An acceptance after a rejection takes the rejection back.
        self.outcome.cleared.append(discrepancy_key(C.ORDER_REJECTED, order_number, None))
        for line in order.lines:
            current = self.current(line)
            if current.state in (LineState.OPEN, LineState.REJECTED):
                self.report([], current, _CONFIRMATION_RULES)
                self.store(current.evolve(state=LineState.CONFIRMED,
                                   confirmed_quantity=current.quantity,
                                   confirmed_date=current.requested_date,
                                   confirmed_price=current.price),
                           VersionKind.CONFIRMATION, current.quantity,
                           current.requested_date, current.price, None)

    def reject_order(self, order_number: str) -> None:
        order = self.order(order_number)
        if order is None:
            return
        value = sum((line.value for line in order.lines), Decimal(0))
        need = min((line.requested_date for line in order.lines if line.requested_date),
                   default=None)
        self.outcome.discrepancies.append(Discrepancy(
            C.ORDER_REJECTED, Severity.HIGH, order_number, None,
            f"{len(order.lines)} line(s) as ordered", "order not accepted", None,
            "supplier rejected the whole order", None,
            risk_score(Severity.HIGH, 1, value, self.days_to(need)), None, order.owner))
        for line in order.lines:
            current = self.current(line)
            self.report([], current, _CONFIRMATION_RULES)
            self.store(current.evolve(state=self.rejected_state(current),
                                      confirmed_quantity=Decimal(0)),
                       VersionKind.CONFIRMATION, Decimal(0), None, None, None)

    def complete(self, event: ResponseComplete) -> None:
        for number in event.order_numbers:
            order = self.order(number)
            if order is None:
                continue
            for line in order.lines:
                current = self.current(line)
                # A replacement (1225 = 5) restates every line: one it leaves out is no longer
                # confirmed, whatever an earlier response said.
                if line.key in self.claimed or (current.answered and not event.replaces) or (
                        current.state is LineState.REJECTED):
                    continue
                self.outcome.discrepancies.append(self.discrepancy(
                    C.LINE_NOT_CONFIRMED, Severity.MEDIUM, current,
                    _qty(current.quantity, current.unit), "not in the supplier's response",
                    None, "a complete response leaves this line out", None, Decimal(1), None))

    def despatch(self, event: LinesDespatched) -> None:
        line = self.match(event.ref, event.quantity, claim=False)
        if line is None or self.unit_differs(line, event.unit, event.ref):
            return
        found: list[Discrepancy] = []
        if line.state is LineState.REJECTED or line.confirmed_quantity is None:
            said = "rejected" if line.state is LineState.REJECTED else "not confirmed"
            found.append(self.discrepancy(
                C.SHIPPED_UNCONFIRMED,
                Severity.MEDIUM if line.state is LineState.REJECTED else Severity.LOW, line,
                "a confirmation before despatch", f"despatched while {said}", None,
                "despatch of a line the supplier has not confirmed", None, Decimal(1),
                event.ref.position))
        # Against the promise (the confirmed date, else the requested one): a despatch that
        # will arrive later than promised is late. A despatch on a late promise is not late
        # again, but the goods are still late for the need date, so it must not clear the
        # confirmation's DATE_LATE: date rules are cleared only when the goods arrive by the
        # requested date.
        expected = event.expected_delivery
        need = line.requested_date
        found += [d for d in self.check_date(line, line.promised_date, expected,
                                             event.ref.position)
                  # Judged against the need as well: goods on the need date are not late
                  # for an early promise, nor early after a late one.
                  if need is None or expected is None
                  or (d.code is C.DATE_LATE and expected > need)
                  or (d.code is C.DATE_EARLY and expected < need)]
        on_time = expected is not None and (line.requested_date is None
                                            or expected <= line.requested_date)
        checked = ((C.SHIPPED_UNCONFIRMED, C.DATE_LATE, C.DATE_EARLY) if on_time
                   else (C.SHIPPED_UNCONFIRMED,))
        self.report(found, line, checked)
        quantity = event.quantity if event.quantity is not None else Decimal(0)
        if event.quantity is not None:
            # A despatch line without a quantity is recorded but not counted: no made-up
            # shortage from it.
            self.despatched[line.key] = event.ref.position
        self.store(line.evolve(despatched_quantity=line.despatched_quantity + quantity,
                           expected_delivery=event.expected_delivery or line.expected_delivery),
                   VersionKind.DESPATCH, event.quantity, event.expected_delivery, None,
                   event.ref.position)

    def settle_despatches(self) -> None:
        """Over- and short-shipment on the cumulative quantity, once per line per document."""
        for key, position in self.despatched.items():
            line = self.outcome.lines[key]
            target = line.promised_quantity
            shipped = line.despatched_quantity
            found = []
            # Over the larger of what was ordered and what was promised: the ordered quantity
            # is never too much.
            ceiling = max(target, line.quantity)
            if shipped - ceiling > self.profile.quantity_allowance(ceiling, under=False):
                found.append(self.quantity_discrepancy(C.OVER_SHIPPED, Severity.MEDIUM, line,
                                                       target, shipped, False, position))
            elif target - shipped > self.profile.quantity_allowance(target, under=True):
                found.append(self.quantity_discrepancy(C.SHORT_SHIPPED, Severity.LOW, line,
                                                       target, shipped, True, position))
            self.report(found, line, (C.OVER_SHIPPED, C.SHORT_SHIPPED))
            self.outcome.lines[key] = line.evolve(state=self.despatch_state(shipped, target))

    def despatch_state(self, shipped: Decimal, target: Decimal) -> LineState:
        """Despatched once what is missing is within the under-delivery tolerance."""
        complete = target - shipped <= self.profile.quantity_allowance(target, under=True)
        return LineState.DESPATCHED if complete else LineState.PARTLY_DESPATCHED

    def duplicate(self, document: Document) -> None:
        number = document.order_numbers[0] if len(document.order_numbers) == 1 else None
        self.outcome.discrepancies.append(Discrepancy(
            C.DUPLICATE_DOCUMENT, Severity.LOW, number, None, "one document per number",
            f"{document.message_type} {document.document_number} sent again",
            None, "a document number already received from this supplier; not applied", None,
            risk_score(Severity.LOW, 0, Decimal(0), None)))

    # -- checks ----------------------------------------------------------------------------

    def check_quantity(self, line: OrderLine, quantity: Decimal,
                       position: int) -> list[Discrepancy]:
        ordered = line.quantity
        if quantity < ordered and ordered - quantity > self.profile.quantity_allowance(
                ordered, under=True):
            share = (ordered - quantity) / ordered if ordered else Decimal(1)
            severity = Severity.HIGH if share >= Decimal("0.5") else Severity.MEDIUM
            return [self.quantity_discrepancy(C.QTY_SHORT, severity, line, ordered, quantity,
                                              True, position)]
        if quantity > ordered and quantity - ordered > self.profile.quantity_allowance(
                ordered, under=False):
            return [self.quantity_discrepancy(C.QTY_OVER, Severity.MEDIUM, line, ordered,
                                              quantity, False, position)]
        return []

    def check_date(self, line: OrderLine, wanted: date | None, said: date | None,
                   position: int) -> list[Discrepancy]:
        if wanted is None or said is None or wanted == said:
            return []
        days = (said - wanted).days
        profile = self.profile
        if days > 0:
            severity = late_severity(days, profile)
            code, limits = C.DATE_LATE, (profile.date_late_warning_days,
                                         profile.date_late_error_days)
        else:
            severity = early_severity(-days, profile)
            code, limits = C.DATE_EARLY, (profile.date_early_warning_days,
                                          profile.date_early_error_days)
        if severity is None:
            return []
        return [self.discrepancy(
            code, severity, line, wanted.isoformat(), said.isoformat(), f"{days:+d} days",
            f"{'late' if days > 0 else 'early'} beyond {limits[0]} days (warning) / "
            f"{limits[1]} days (error)", profile.label, Decimal(abs(days)) / 7, position)]

    def check_price(self, line: OrderLine, price: Decimal | None,
                    position: int) -> list[Discrepancy]:
        ordered = line.price
        if price is None or ordered is None or price == ordered:
            return []
        if not ordered:
            return [self.discrepancy(
                C.PRICE_CHANGED, Severity.HIGH, line, "0 (free of charge)", plain_number(price),
                f"+{plain_number(price)}", "a line ordered free of charge now has a price",
                self.profile.label, Decimal(1), position)]
        change = (price - ordered) / ordered * 100
        limit = self.profile.price_pct
        if abs(change) <= limit:
            return []
        if change < 0:
            severity = Severity.LOW
        else:
            severity = Severity.HIGH if change > max(3 * limit, Decimal(10)) else Severity.MEDIUM
        return [self.discrepancy(
            C.PRICE_CHANGED, severity, line, plain_number(ordered), plain_number(price),
            f"{plain_number(price - ordered)} ({change:+.1f}%)",
            f"price beyond +/- {plain_number(limit)}%",
            self.profile.label, abs(change) / 100, position)]

    def unit_differs(self, line: OrderLine, unit: str | None, ref: LineRef) -> bool:
        if not unit or not line.unit or unit.upper() == line.unit.upper():
            return False
        self.report([self.discrepancy(
            C.UNIT_MISMATCH, Severity.MEDIUM, line, line.unit, unit, None,
            "quantities in another unit than ordered cannot be compared", None, Decimal(1),
            ref.position)], line, (C.UNIT_MISMATCH,))
        return True

    # -- matching --------------------------------------------------------------------------

    def order(self, number: str | None) -> Order | None:
        order = self.orders.get(number) if number else None
        if order is None and (number or "") not in self.unknown_orders:
            self.unknown_orders.add(number or "")
            severity = Severity.HIGH if number else Severity.MEDIUM
            self.outcome.discrepancies.append(Discrepancy(
                C.UNKNOWN_ORDER, severity, number, None,
                "an open order", f"order {number}" if number else "no order number",
                None, "the supplier refers to an order the gateway does not know", None,
                risk_score(severity, 1, Decimal(0), None)))
        return order

    def match(self, ref: LineRef, quantity: Decimal | None = None,
              claim: bool = True) -> OrderLine | None:
        order = self.order(ref.order_number)
        if order is None:
            return None
        lines = self.current_lines.get(order.number)
        if lines is None:
            lines = self.current_lines[order.number] = [self.current(line)
                                                        for line in order.lines]
        found = self.find_line(ref, lines, quantity, claim)
        if found is not None and claim:
            self.claimed.add(found.key)
        return found

    def find_line(self, ref: LineRef, lines: list[OrderLine], quantity: Decimal | None,
                  claim: bool) -> OrderLine | None:
        if ref.order_line_no:
            numbered = self.numbered(lines, ref.order_line_no)
            if len(numbered) > 1:
                self.unmatched(ref, ambiguous=True)
                return None
            if numbered:
                line = numbered[0]
                if _item_conflict(ref, line):
                    self.item_mismatch(ref, line, claim)
                    return None
                return line
        substituted: OrderLine | None = None
        if ref.line_no:
            # EANCOM: LIN 1082 of a response repeats the order's line number; trusted only
            # where the item does not say otherwise ("every line numbered 10" happens).
            numbered = [line for line in self.numbered(lines, ref.line_no)
                        if line.key not in self.claimed]
            agreeing = [line for line in numbered if not _item_conflict(ref, line)]
            if len(agreeing) == 1:
                return agreeing[0]
            if len(numbered) == 1 and quantity == numbered[0].quantity:
                substituted = numbered[0]
        by_item = [line for line in lines if _item_agrees(ref, line)
                   and line.key not in self.claimed]
        if len(by_item) > 1 and quantity is not None:
            by_item = [line for line in by_item if line.quantity == quantity] or by_item
        if len(by_item) == 1:
            return by_item[0]
        if substituted is not None and not by_item:
            # The line number and the ordered quantity name this line, no line has the item:
            # the supplier substituted the item (ITEM_MISMATCH), not an unknown line.
            self.item_mismatch(ref, substituted, claim)
            return None
        self.unmatched(ref, ambiguous=len(by_item) > 1)
        return None

    def numbered(self, lines: list[OrderLine], number: str) -> list[OrderLine]:
        """The lines with this line number, leading zeros ignored ("010" is line 10)."""
        order = lines[0].order_number if lines else ""
        index = self.number_index.get(order)
        if index is None:
            index = self.number_index[order] = {}
            for position, line in enumerate(lines):
                index.setdefault(_line_number(line.line_no), []).append(position)
        return [lines[position] for position in index.get(_line_number(number), ())]

    def item_mismatch(self, ref: LineRef, line: OrderLine, claim: bool) -> None:
        """The supplier answered this line with another item: the line is answered (no
        LINE_NOT_CONFIRMED besides) but not confirmed."""
        if claim:
            self.claimed.add(line.key)
        self.outcome.discrepancies.append(self.discrepancy(
            C.ITEM_MISMATCH, Severity.HIGH, line, _item_text(line.gtin, line.buyer_part,
                                                             line.supplier_part),
            _item_text(ref.gtin, ref.buyer_part, ref.supplier_part), None,
            "the line number names another item than the one ordered", None, Decimal(1),
            ref.position))

    def unmatched(self, ref: LineRef, ambiguous: bool) -> None:
        code = C.AMBIGUOUS_LINE if ambiguous else C.UNKNOWN_LINE
        rule = ("the item stands on several lines and nothing tells them apart" if ambiguous
                else "no line of the order has this line number or item")
        self.outcome.discrepancies.append(Discrepancy(
            code, Severity.MEDIUM, ref.order_number,
            ref.order_line_no or ref.line_no or f"#{ref.position}",
            "a line of the order", _item_text(ref.gtin, ref.buyer_part, ref.supplier_part),
            None, rule, None, risk_score(Severity.MEDIUM, 1, Decimal(0), None), ref.position,
            self._owner(ref.order_number)))

    def _owner(self, order_number: str | None) -> str | None:
        order = self.orders.get(order_number or "")
        return order.owner if order else None

    # -- bookkeeping -----------------------------------------------------------------------

    def current(self, line: OrderLine) -> OrderLine:
        return self.outcome.lines.get(line.key, line)

    def store(self, line: OrderLine, kind: VersionKind, quantity: Decimal | None,
              delivery: date | None, price: Decimal | None, position: int | None) -> None:
        self.outcome.lines[line.key] = line
        cached = self.current_lines.get(line.order_number)
        if cached is not None:
            self.current_lines[line.order_number] = [
                line if current.line_no == line.line_no else current for current in cached]
        self.outcome.versions.append(LineVersion(line.order_number, line.line_no, kind,
                                                 quantity, delivery, price, position))

    def report(self, found: list[Discrepancy], line: OrderLine,
               checked: Iterable[DiscrepancyCode]) -> None:
        """Record what was found; every checked rule that did not fire clears its key."""
        fired = {d.code for d in found}
        self.outcome.discrepancies.extend(found)
        self.outcome.cleared.extend(
            discrepancy_key(code, line.order_number, line.line_no)
            for code in checked if code not in fired)

    def days_to(self, need: date | None) -> int | None:
        return (need - self.today).days if need else None

    def discrepancy(self, code: DiscrepancyCode, severity: Severity, line: OrderLine,
                    expected: str | None, actual: str | None, difference: str | None,
                    rule: str, tolerance: str | None, magnitude: Decimal,
                    position: int | None) -> Discrepancy:
        order = self.orders.get(line.order_number)
        return Discrepancy(
            code, severity, line.order_number, line.line_no, expected, actual, difference,
            rule, tolerance,
            risk_score(severity, magnitude, line.value, self.days_to(line.requested_date)),
            position, order.owner if order else None)

    def quantity_discrepancy(self, code: DiscrepancyCode, severity: Severity, line: OrderLine,
                             expected: Decimal, actual: Decimal, under: bool,
                             position: int | None) -> Discrepancy:
        difference = actual - expected
        share = difference / expected * 100 if expected else Decimal(100)
        return self.discrepancy(
            code, severity, line, _qty(expected, line.unit), _qty(actual, line.unit),
            f"{plain_number(difference)} ({share:+.1f}%)",
            f"quantity {'under' if under else 'over'} tolerance",
            self.profile.describe_quantity(under),
            abs(difference) / expected if expected else Decimal(1), position)


def _line_number(number: str) -> str:
    return number.strip().lstrip("0")


def _gtin14(gtin: str | None) -> str | None:
    """GTIN-8/12/13 written as GTIN-14 are the same item (GS1: left-pad with zeros)."""
    return gtin.zfill(14) if gtin else None


def _item_agrees(ref: LineRef, line: OrderLine) -> bool:
    pairs = ((_gtin14(ref.gtin), _gtin14(line.gtin)), (ref.buyer_part, line.buyer_part),
             (ref.supplier_part, line.supplier_part))
    return any(theirs and ours and theirs == ours for theirs, ours in pairs)


def _item_conflict(ref: LineRef, line: OrderLine) -> bool:
    """The supplier names an item, the line has ids of the same kinds, and none agrees."""
    pairs = ((_gtin14(ref.gtin), _gtin14(line.gtin)), (ref.buyer_part, line.buyer_part),
             (ref.supplier_part, line.supplier_part))
    comparable = [(theirs, ours) for theirs, ours in pairs if theirs and ours]
    return bool(comparable) and not any(theirs == ours for theirs, ours in comparable)


def _item_text(gtin: str | None, buyer: str | None, supplier: str | None) -> str:
    parts = [f"GTIN {gtin}" if gtin else "", f"buyer's {buyer}" if buyer else "",
             f"supplier's {supplier}" if supplier else ""]
    return ", ".join(p for p in parts if p) or "no item id"


def _qty(value: Decimal, unit: str | None) -> str:
    return f"{plain_number(value)} {unit}" if unit else plain_number(value)
