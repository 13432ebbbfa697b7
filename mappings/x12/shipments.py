"""X12 856 (ship notice/manifest) -> a canonical despatch advice.

The 856 is a tree of HL loops: HL01 is the loop's id, HL02 its parent's, HL03 its level
(S shipment, O order, T tare, P pack, I item; Q subpack). What a loop says applies to the loops
under it: an order's PRF names the purchase order of every item below it, a pack's MAN (or
REF*2I) names the SSCC of the items below it. Common layouts are S-O-I, S-O-P-I, S-O-T-P-I and
S-O-I-P (the packs under the item): all read the same way, by walking up the tree from each
item, and down from a pack under an item. A PRF may stand at any level, the nearest wins.

Linear in the transaction set: SSCCs and order numbers are kept in insertion-ordered sets, the
packs under each loop are indexed once, and the packages handed to lines stop at the number of
segments read (every item under a pack takes all of its SSCCs, which could otherwise make a
small file into a huge document).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date

from gateway.domain.documents import Document, Line, Package
from mappings.edifact.readers import sscc_problem
from mappings.x12 import codes
from mappings.x12.codes import DateQualifier, HierarchyLevel
from mappings.x12.readers import (
    Notes,
    add_item_ids,
    read_date,
    read_decimal,
    read_description,
    read_party,
)
from parsers.errors import ProblemCode
from parsers.x12 import X12Segment

# The deepest HL tree followed upwards: a loop of parents is cut there.
_MAX_DEPTH = 64
_PACK_LEVELS = frozenset({HierarchyLevel.TARE.value, HierarchyLevel.PACK.value,
                          HierarchyLevel.SUBPACK.value})
_LEVELS = frozenset(level.value for level in HierarchyLevel)
# Plain strings, compared once per segment (an Enum member's attribute access is not free).
_SHIPMENT, _ITEM = HierarchyLevel.SHIPMENT.value, HierarchyLevel.ITEM.value


@dataclass(slots=True)
class _Level:
    """One HL loop: its level code, its parent, and what it said."""

    code: str
    parent: str
    order: str | None = None
    # An insertion-ordered set: membership is checked for every MAN and REF.
    ssccs: dict[str, None] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)


class ShipNoticeBuilder:
    """One pass over an 856. Long by nature: one small method per segment tag."""

    def __init__(self, document: Document, notes: Notes) -> None:
        self.document = document
        self.notes = notes
        self.levels: dict[str, _Level] = {}
        self.orders: set[str] = set()
        self.current: str | None = None
        self.line: Line | None = None
        self.dates: dict[str, date | None] = {}
        self.tracking: dict[str, str] = {}
        self.lading: int | None = None
        self.seen_beginning = False

    def beginning(self, segment: X12Segment) -> None:
        """BSN: 01 purpose, 02 shipment id, 03 date, 04 time."""
        self.seen_beginning = True
        self.document.function_code = segment.element(1) or None
        self.document.status = codes.PURPOSE_STATUS.get(segment.element(1))
        self.document.document_number = segment.element(2) or None
        self.document.document_date = read_date(segment.element(3), segment, self.notes)

    def hl(self, segment: X12Segment) -> None:
        """HL: 01 id, 02 parent id, 03 level code."""
        self.line = None
        number, parent, code = segment.values(3)
        if not number or number in self.levels:
            self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER,
                           f"HL id {number!r} is missing or used twice; the loop is read as "
                           "a new one")
            number = f"#{segment.number}"
        if code not in _LEVELS:
            self.notes.add(segment, ProblemCode.INVALID_CODE,
                           f"hierarchical level code (HL03) {code!r} is not known")
        if parent and parent not in self.levels:
            # HL02 is the HL01 of the parent loop, which comes before its children (ASC X12
            # HL segment): anything else (an unknown id, the loop itself, a later loop, so a
            # cycle) is dropped, and the tree stays a tree.
            self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER,
                           f"HL02 parent id {parent!r} names no HL loop before this one; the "
                           "loop is read as a top level")
            parent = ""
        self.levels[number] = _Level(code, parent)
        self.current = number

    def prf(self, segment: X12Segment) -> None:
        """PRF: 01 purchase order number (04 its date)."""
        order = segment.element(1)
        if not order:
            self.notes.add(segment, ProblemCode.MISSING_VALUE, "PRF01 carries no order number")
        elif self.current is not None:
            self.levels[self.current].order = order
            if self.line is not None:
                self.line.order_number = order
        if order and order not in self.orders:
            self.orders.add(order)
            self.document.order_numbers.append(order)

    def lin(self, segment: X12Segment) -> None:
        """LIN: 01 the line's number, 02/03 ... product id pairs. A second LIN in one item
        loop is another line."""
        line = Line(line_no=segment.element(1) or None)
        add_item_ids(line.item, segment.pairs(2), segment, self.notes)
        self._start_line(line, segment)

    def sn1(self, segment: X12Segment) -> None:
        """SN1: 01 line number, 02 units shipped, 03 unit, 05 quantity ordered, 08 status."""
        line = self.line
        if line is None or line.quantity is not None:
            line = Line(line_no=segment.element(1) or None)
            self._start_line(line, segment)
        number, shipped, unit, _to_date, ordered, _unit, _value, status = segment.values(8)
        line.line_no = line.line_no or number or None
        line.quantity = read_decimal(shipped, segment, self.notes, "SN102 quantity")
        line.unit = unit or None
        line.ordered_quantity = read_decimal(ordered, segment, self.notes,
                                             "SN105 quantity ordered")
        if status:
            line.action_code = status

    def pid(self, segment: X12Segment) -> None:
        if self.line is not None and self.line.item.description is None:
            self.line.item.description = read_description(segment)

    def man(self, segment: X12Segment) -> None:
        """MAN: 01 marks qualifier (GM: SSCC-18 with its application identifier), 02 mark."""
        qualifier, mark = segment.values(2)
        if qualifier in codes.SSCC_MARKS and mark:
            self._sscc(segment, mark)

    def ref(self, segment: X12Segment) -> None:
        """REF: 01 qualifier, 02 value. 2I (tracking number) on a pack is its SSCC when it is
        one; CN, BM at the shipment are the carrier's references."""
        qualifier, value = segment.element(1), segment.element(2)
        if not value:
            return
        level = self.levels.get(self.current or "")
        if qualifier == "2I" and level is not None and level.code in _PACK_LEVELS:
            if sscc_problem(_without_ai(value)) is None:
                self._sscc(segment, value)
            return
        if qualifier in codes.TRACKING_REFERENCES:
            self.tracking.setdefault(qualifier, value)

    def td1(self, segment: X12Segment) -> None:
        """TD1: 01 packaging code, 02 lading quantity (the shipment's package count)."""
        level = self.levels.get(self.current or "")
        if level is None or level.code == _SHIPMENT:
            count = read_decimal(segment.element(2), segment, self.notes, "TD102 lading quantity")
            if count is not None and count == int(count) and self.lading is None:
                self.lading = int(count)

    def td5(self, segment: X12Segment) -> None:
        """TD5: 03 carrier code (SCAC), 05 routing (the carrier's name or service)."""
        shipment = self.document.shipment
        if shipment.carrier is None:
            shipment.carrier = segment.element(5) or segment.element(3) or None

    def dtm(self, segment: X12Segment) -> None:
        qualifier = segment.element(1)
        self.dates.setdefault(qualifier, read_date(segment.element(2), segment, self.notes))

    def party(self, segment: X12Segment) -> None:
        level = self.levels.get(self.current or "")
        if level is None or level.code == _SHIPMENT:
            party = read_party(segment)
            self.document.parties.append(party)
            if party.role == "CA" and self.document.shipment.carrier is None:
                self.document.shipment.carrier = party.name or party.id

    def _start_line(self, line: Line, segment: X12Segment) -> None:
        if self.current is None or self.levels[self.current].code != _ITEM:
            self.notes.add(segment, ProblemCode.ASSUMED_VALUE,
                           f"{segment.tag} outside an item loop (HL03 I); read as an item")
        self.line = line
        if self.current is not None:
            self.levels[self.current].lines.append(len(self.document.lines))
        self.document.lines.append(line)

    def _sscc(self, segment: X12Segment, value: str) -> None:
        sscc = _without_ai(value)
        problem = sscc_problem(sscc)
        level = self.levels.get(self.current or "")
        if problem is not None and (level is None or sscc not in level.ssccs):
            self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER, problem)
        level = self.levels.get(self.current or "")
        if level is not None:
            level.ssccs[sscc] = None

    def finish(self) -> None:
        document = self.document
        packs = self._packs_under()
        budget = _Budget(len(self.notes.transaction.segments))
        for number, level in self.levels.items():
            for index in level.lines:
                line = document.lines[index]
                line.order_number = line.order_number or self._up(number, "order")
                ssccs = self._ssccs_of(number, packs)
                if not budget.take(len(ssccs)):
                    self._over_budget(line, len(ssccs), budget)
                elif len(ssccs) == 1:
                    line.packages = [Package(next(iter(ssccs)), line.quantity)]
                else:
                    line.packages = [Package(sscc, None) for sscc in ssccs]
        orders = document.order_numbers
        for line in document.lines:
            if line.order_number is None and len(orders) == 1:
                line.order_number = orders[0]
            elif line.order_number is None:
                self.notes.add(None, ProblemCode.MISSING_VALUE,
                               f"line {line.line_no or '?'} stands under no order loop (PRF)")
            if line.quantity is None:
                self.notes.add(None, ProblemCode.MISSING_VALUE,
                               f"line {line.line_no or '?'} has no shipped quantity (SN102)")
        if not orders:
            self.notes.add(None, ProblemCode.MISSING_VALUE,
                           "the 856 names no order (no PRF): it cannot be matched to an order")
        document.despatch_date = self.dates.get(DateQualifier.SHIPPED)
        document.expected_delivery_date = next(
            (self.dates[q] for q in codes.PROMISED_DATES if self.dates.get(q)), None)
        for line in document.lines:
            line.delivery_date = document.expected_delivery_date
        self._settle_shipment()

    def _up(self, number: str, what: str) -> str | None:
        """The nearest value of `what` (the order) from loop `number` up to the shipment."""
        seen = 0
        level = self.levels.get(number)
        while level is not None and seen < _MAX_DEPTH:
            if what == "order" and level.order:
                return level.order
            level = self.levels.get(level.parent)
            seen += 1
        return None

    def _packs_under(self) -> dict[str, list[_Level]]:
        """The pack loops (T, P, Q) with SSCCs under each loop id, indexed in one pass."""
        packs: dict[str, list[_Level]] = {}
        for level in self.levels.values():
            if level.code in _PACK_LEVELS and level.ssccs:
                packs.setdefault(level.parent, []).append(level)
        return packs

    def _ssccs_of(self, number: str, packs: dict[str, list[_Level]]) -> Collection[str]:
        """The SSCCs of the packs an item loop stands in, else of the packs under it; the
        pack's own set, not a copy (the budget is checked before packages are made)."""
        seen, level = 0, self.levels.get(number)
        while level is not None and seen < _MAX_DEPTH:
            if level.ssccs:
                return level.ssccs.keys()
            level = self.levels.get(level.parent)
            seen += 1
        return [sscc for child in packs.get(number, ()) for sscc in child.ssccs]

    def _over_budget(self, line: Line, count: int, budget: _Budget) -> None:
        line.packages = []
        if not budget.spent:
            budget.spent = True
            self.notes.add(None, ProblemCode.OVER_LIMIT,
                           f"line {line.line_no or '?'} stands in packs of {count} SSCCs: the "
                           f"lines would carry more packages than the {budget.limit} segments "
                           "read, so from this line on no line names its packages")

    def _settle_shipment(self) -> None:
        shipment = self.document.shipment
        shipment.tracking_number = next(
            (self.tracking[q] for q in codes.TRACKING_REFERENCES if q in self.tracking), None)
        ssccs = {sscc for level in self.levels.values() for sscc in level.ssccs}
        shipment.packages = len(ssccs) if ssccs else self.lading


@dataclass(slots=True)
class _Budget:
    """How many packages the lines may still take: no more than the segments read."""

    limit: int
    used: int = 0
    spent: bool = False

    def take(self, count: int) -> bool:
        """False from the first line that would go over on: the lines after it get none."""
        if self.spent or self.used + count > self.limit:
            return False
        self.used += count
        return True


def _without_ai(value: str) -> str:
    """An SSCC as MAN*GM sends it: with its GS1 application identifier 00 (20 digits)."""
    return value[2:] if len(value) == 20 and value.startswith("00") else value


# Typed: mypyc cannot infer the type of a dict of unbound methods.
HANDLERS: dict[str, Callable[[ShipNoticeBuilder, X12Segment], None]] = {
    "BSN": ShipNoticeBuilder.beginning,
    "HL": ShipNoticeBuilder.hl,
    "PRF": ShipNoticeBuilder.prf,
    "LIN": ShipNoticeBuilder.lin,
    "SN1": ShipNoticeBuilder.sn1,
    "PID": ShipNoticeBuilder.pid,
    "MAN": ShipNoticeBuilder.man,
    "REF": ShipNoticeBuilder.ref,
    "TD1": ShipNoticeBuilder.td1,
    "TD5": ShipNoticeBuilder.td5,
    "DTM": ShipNoticeBuilder.dtm,
    "N1": ShipNoticeBuilder.party,
}
