"""EDIFACT ORDRSP, DESADV and ORDERS messages -> canonical documents.

One pass over a message's segments. Segment groups matter: a DTM after an RFF dates the
reference, not the delivery, and a QTY after a PAC counts the pack, not the line. The builder
tracks which group a segment belongs to by its trigger segment (the first segment of each group
in the UN/EDIFACT message structures) and reads only the values that belong to the document or
to a line. What differs between message types is data (`MessageProfile`), not code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

from gateway.domain.documents import (
    Document,
    Item,
    ItemId,
    Line,
    LineStatus,
    Notice,
    Package,
    SourceFormat,
)
from mappings.edifact import codes
from mappings.edifact.codes import DateQualifier, QuantityQualifier, ReferenceQualifier
from mappings.edifact.packages import PackageTree
from mappings.edifact.profiles import GROUP_TRIGGERS, PROFILES, MessageProfile
from mappings.edifact.readers import (
    MAX_RANGE_SSCCS,
    Notes,
    Price,
    Quantity,
    Reference,
    expand_sscc_range,
    gtin_problem,
    is_digits,
    read_amount,
    read_carrier,
    read_currency,
    read_date,
    read_decimal,
    read_description,
    read_identities,
    read_line_item,
    read_package_count,
    read_package_level,
    read_party,
    read_price,
    read_product_ids,
    read_quantity,
    read_reference,
    sscc_problem,
    sscc_range_size,
)
from parsers.edifact import EdifactMessage, Segment
from parsers.errors import Problem, ProblemCode, Severity

# Net price first, then gross (5125 AAA, AAB), then whatever else was sent first.
_PRICE_RANK: dict[str, int] = {codes.PriceQualifier.NET: 0, codes.PriceQualifier.GROSS: 1}
_NOT_COMMITTED = frozenset({LineStatus.REJECTED, LineStatus.DELETED})
# Line segment groups that split a line's quantity: per delivery place (LOC-QTY-DTM) and per
# scheduled delivery (SCC-QTY-DTM) in ORDRSP and ORDERS.
_SPLIT_GROUPS = frozenset({"LOC", "SCC"})
_PARTY_GROUPS = frozenset({"NAD", "CTA", "LOC"})
# For membership; codes.TRACKING_REFERENCES keeps their order of preference.
_TRACKING_REFERENCES = frozenset(codes.TRACKING_REFERENCES)


def map_message(message: EdifactMessage, file: str | None = None) -> Document | list[Problem]:
    """The canonical document of one message, or the errors that refuse it."""
    errors = [problem for problem in message.problems if problem.is_error]
    if errors:
        return errors
    profile = PROFILES.get(message.type)
    if profile is None:
        return [Problem(Severity.ERROR, ProblemCode.UNSUPPORTED_MESSAGE,
                        f"message type {message.type or '(none)'} is not an order response, "
                        "despatch advice or order; not processed", message.index, 1, "UNH")]
    builder = _DocumentBuilder(message, profile, file)
    handlers = _HANDLERS
    for segment in message.segments:
        handler = handlers.get(segment.tag)
        if handler is not None:
            handler(builder, segment)
        else:
            builder.other(segment)
    return builder.finish()


class _LineState:
    """A line being read: the values its segments gave, until the next LIN settles it."""

    __slots__ = ("customer_refs", "dates", "group", "line", "orders", "package_level", "prices",
                 "quantities", "segment", "split")

    def __init__(self, segment: Segment, line: Line, package_level: int | None) -> None:
        self.segment = segment
        self.line = line
        self.group = "LIN"
        self.quantities: dict[str, Quantity] = {}
        self.split: dict[str, Quantity] = {}
        self.dates: dict[str, date | None] = {}
        self.prices: list[Price] = []
        self.orders: list[Reference] = []
        self.customer_refs: list[Reference] = []
        self.package_level = package_level


class _DocumentBuilder:
    """State of one pass over a message. Long by nature: one small method per segment tag."""

    def __init__(self, message: EdifactMessage, profile: MessageProfile,
                 file: str | None) -> None:
        self.message = message
        self.profile = profile
        self.notes = Notes(message)
        header = message.interchange
        self.document = Document(
            kind=profile.kind,
            source_format=SourceFormat.EDIFACT,
            message_type=message.type,
            syntax_version=_syntax_version(message, self.notes),
            sender_id=header.sender if header else None,
            receiver_id=header.receiver if header else None,
            interchange_ref=header.reference if header else None,
            message_ref=message.reference or None,
            file=file,
            message_index=message.index,
        )
        self.group = "header"
        self.line: _LineState | None = None
        self.seen_bgm = False
        self.dates: dict[str, date | None] = {}
        # An insertion-ordered set: membership is checked for every RFF+ON.
        self.orders: dict[str, None] = {}
        self.customer_refs: list[str] = []
        self.tracking: dict[str, str] = {}
        self.conveyance: str | None = None
        self.packages = PackageTree(len(message.segments))
        self.range_ssccs = 0  # SSCCs named by the message's GIN ranges so far
        # Per line index: the rank (in the profile's date order) of the line's own best date,
        # readable or not; -1 for a line that commits to nothing. Absent: no own date.
        self.own_dates: dict[int, int] = {}
        self.line_orders_from_on = False

    # -- header segments -------------------------------------------------------------------

    def bgm(self, segment: Segment) -> None:
        """BGM: C002 (1001 document name code), 1004 or C106 (document number), 1225."""
        self.seen_bgm = True
        document = self.document
        name_code = segment.component(0, 0)
        if name_code not in self.profile.document_codes:
            expected = "/".join(sorted(self.profile.document_codes))
            self.notes.add(segment, ProblemCode.INVALID_CODE,
                           f"document name code (1001) {name_code or '(none)'} is not "
                           f"{expected} for a {self.message.type}")
        document.document_number = segment.component(1, 0) or None
        function = segment.component(2)
        document.function_code = function or None
        if function and function not in codes.KNOWN_FUNCTIONS:
            self.notes.add(segment, ProblemCode.INVALID_CODE,
                           f"message function code (1225) {function!r} is not a known code")
        document.status = codes.FUNCTION_STATUS.get(function)
        if self.profile.order_number_in_bgm and document.document_number:
            self.orders[document.document_number] = None

    def dtm(self, segment: Segment) -> None:
        qualifier, value = read_date(segment, self.notes)
        line = self.line
        if line is not None:
            if line.group in _SPLIT_GROUPS and value is not None:
                # A schedule or split over places ends with its last date.
                known = line.dates.get(qualifier)
                line.dates[qualifier] = max(known, value) if known else value
            elif line.group == "LIN" or (
                    line.group == "PCI" and qualifier == DateQualifier.BEST_BEFORE):
                line.dates.setdefault(qualifier, value)
        elif self.group == "header":
            self.dates.setdefault(qualifier, value)

    def rff(self, segment: Segment) -> None:
        reference = read_reference(segment)
        line = self.line
        qualifier, value = reference.qualifier, reference.value
        if not value:
            if qualifier == ReferenceQualifier.ORDER:
                self.notes.add(segment, ProblemCode.MISSING_VALUE,
                               "RFF+ON carries no order number in C506/1154")
            self._enter_group(segment)
            return
        if line is not None:
            if qualifier == ReferenceQualifier.ORDER:
                if line.orders and line.orders[0].value != value:
                    self.notes.add(segment, ProblemCode.ASSUMED_VALUE,
                                   f"line {line.line.line_no or '?'} names a second order "
                                   f"{value}; the line is booked to the first, "
                                   f"{line.orders[0].value}")
                line.orders.append(reference)
            elif qualifier == ReferenceQualifier.CUSTOMER_REFERENCE:
                line.customer_refs.append(reference)
            elif qualifier == ReferenceQualifier.LINE_ITEM and line.line.line_reference is None:
                line.line.line_reference = value
        elif self.group in _PARTY_GROUPS or self.profile.order_number_in_bgm:
            # A reference inside a party's group (NAD-LOC-RFF, NAD-CTA) is that party's own,
            # and in an order the BGM number is the order: neither names the order answered.
            pass
        elif qualifier == ReferenceQualifier.ORDER:
            self.orders[value] = None
        elif qualifier == ReferenceQualifier.CUSTOMER_REFERENCE:
            self.customer_refs.append(value)
        if qualifier in _TRACKING_REFERENCES:
            self.tracking.setdefault(qualifier, value)
        self._enter_group(segment)

    def nad(self, segment: Segment) -> None:
        party = read_party(segment)
        if party.role not in codes.KNOWN_PARTY_ROLES:
            self.notes.add(segment, ProblemCode.UNKNOWN_QUALIFIER,
                           f"party function code (3035) {party.role!r} is not known; "
                           "party ignored")
        elif self.line is None:
            self.document.parties.append(party)
            if party.role == "CA" and self.document.shipment.carrier is None:
                self.document.shipment.carrier = party.name or party.id
        self._enter_group(segment)

    def cux(self, segment: Segment) -> None:
        currency = read_currency(segment)
        if self.line is None and self.document.currency is None:
            self.document.currency = currency
        elif self.line is not None:
            self.line.line.currency = currency
        self._enter_group(segment)

    def tdt(self, segment: Segment) -> None:
        if self.line is None:
            carrier, conveyance = read_carrier(segment)
            shipment = self.document.shipment
            if carrier and shipment.carrier is None:
                shipment.carrier = carrier
            self.conveyance = self.conveyance or conveyance
        self._enter_group(segment)

    def cps(self, segment: Segment) -> None:
        self._finish_line()
        self.packages.enter(*read_package_level(segment))
        self.group = "CPS"

    def pac(self, segment: Segment) -> None:
        count = read_package_count(segment, self.notes)
        if count is not None and self.line is None:
            self.packages.count(count)
        self._enter_group(segment)

    def gin(self, segment: Segment) -> None:
        qualifier, ranges = read_identities(segment)
        line = self.line
        values = [first for first, _last in ranges]
        if qualifier in codes.SSCC_QUALIFIERS:
            values = self._sscc_values(segment, ranges)
            if line is None:
                self.packages.add_ssccs(values)
            else:
                line.line.packages.extend(Package(value, None) for value in values)
        elif qualifier == codes.IdentityQualifier.BATCH and line is not None and values:
            line.line.batch = line.line.batch or values[0]

    def _sscc_values(self, segment: Segment, ranges: list[tuple[str, str]]) -> list[str]:
        """The SSCCs a GIN names, ranges expanded; a bad one is kept and reported."""
        values: list[str] = []
        for first, last in ranges:
            if last:
                values += self._sscc_range(segment, first, last)
                continue
            problem = sscc_problem(first)
            if problem is not None:
                self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER, problem)
            values.append(first)
        return values

    def _sscc_range(self, segment: Segment, first: str, last: str) -> list[str]:
        """The SSCCs of a GIN range (C208 from:to); its two ends when it cannot be read or
        would take the message's ranges past `MAX_RANGE_SSCCS`."""
        size = sscc_range_size(first, last)
        if size is None:
            self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER,
                           f"SSCC range {first}:{last} cannot be read; its ends kept")
            return [first, last]
        if self.range_ssccs + size > MAX_RANGE_SSCCS:
            self.notes.add(segment, ProblemCode.OVER_LIMIT,
                           f"SSCC range {first}:{last} would take the message's ranges past "
                           f"{MAX_RANGE_SSCCS} SSCCs; its ends kept")
            return [first, last]
        self.range_ssccs += size
        return expand_sscc_range(first, last) or [first, last]

    def end_of_detail(self, segment: Segment) -> None:
        """UNS/CNT: the summary section starts; no more lines."""
        self._finish_line()
        self.group = "summary"

    # -- line segments ---------------------------------------------------------------------

    def lin(self, segment: Segment) -> None:
        self._finish_line()
        self.group = "LIN"
        line_no, action, item_id, item_type = read_line_item(segment)
        line = Line(line_no=line_no or None, action_code=action or None)
        if action and self.profile.line_actions:
            line.status = codes.ACTION_STATUS.get(action)
            if action not in codes.KNOWN_ACTIONS:
                self.notes.add(segment, ProblemCode.INVALID_CODE,
                               f"action code (1229) {action!r} is not a known code")
        self.line = _LineState(segment, line, package_level=self.packages.level)
        if item_id:
            self._add_item_id(segment, line.item, item_id, item_type)

    def pia(self, segment: Segment) -> None:
        line = self.line
        if line is None:
            self.notes.add(segment, ProblemCode.UNKNOWN_SEGMENT, "PIA before any LIN; ignored")
            return
        for item_id, item_type in read_product_ids(segment):
            if item_type == codes.ItemType.BATCH:
                line.line.batch = line.line.batch or item_id
            else:
                self._add_item_id(segment, line.line.item, item_id, item_type)

    def imd(self, segment: Segment) -> None:
        if self.line is not None and self.line.line.item.description is None:
            self.line.line.item.description = read_description(segment, self.notes)

    def qty(self, segment: Segment) -> None:
        line = self.line
        if line is None:
            return
        group = line.group
        if group == "LIN":
            quantity = read_quantity(segment, self.notes)
            line.quantities.setdefault(quantity.qualifier, quantity)
        elif group in _SPLIT_GROUPS:
            # ORDRSP LIN-LOC-QTY (per delivery place) and LIN-SCC-QTY (delivery schedule):
            # the line's quantity is the sum of the parts.
            part = read_quantity(segment, self.notes)
            if part.value is not None:
                known = line.split.get(part.qualifier)
                line.split[part.qualifier] = Quantity(
                    part.qualifier, part.value + (known.value or 0) if known else part.value,
                    part.unit or (known.unit if known else None))
        elif group == "RFF":
            # The RFF group (RFF-DTM) holds no QTY: this one is the line's, out of order.
            quantity = read_quantity(segment, self.notes)
            if quantity.qualifier not in line.quantities:
                line.quantities[quantity.qualifier] = quantity
                self.notes.add(segment, ProblemCode.ASSUMED_VALUE,
                               f"QTY {quantity.qualifier} after the line's RFF is out of "
                               "sequence; read as the line's quantity")

    def pri(self, segment: Segment) -> None:
        if self.line is not None:
            price = read_price(segment, self.notes)
            basis = read_decimal(price.basis, segment, self.notes, "unit price basis")
            if basis is not None and basis != 1 and basis > 0 and price.value is not None:
                # PRI 5284: the price is for `basis` units (fasteners are priced per 100 or
                # 1000); the canonical price is per unit.
                self.notes.add(segment, ProblemCode.ASSUMED_VALUE,
                               f"price {price.qualifier} {price.value} is per {price.basis} "
                               "units (unit price basis 5284); converted to a unit price")
                price = Price(price.qualifier, price.value / basis, price.basis)
            self.line.prices.append(price)
        self._enter_group(segment)

    def moa(self, segment: Segment) -> None:
        qualifier, amount = read_amount(segment, self.notes)
        line = self.line
        # 203 (line item amount) names the line whatever group it trails (edifabric's ORDRSP
        # sends it after PRI).
        if line is not None and qualifier == "203":
            line.line.line_amount = amount

    def other(self, segment: Segment) -> None:
        tag = segment.tag
        if tag in GROUP_TRIGGERS:
            self._enter_group(segment)
        elif tag not in codes.KNOWN_SEGMENTS:
            self.notes.add(segment, ProblemCode.UNKNOWN_SEGMENT,
                           f"segment {tag} is not part of a {self.message.type} message; "
                           "ignored")

    # -- helpers ---------------------------------------------------------------------------

    def _enter_group(self, segment: Segment) -> None:
        if self.line is not None:
            self.line.group = segment.tag
        else:
            self.group = segment.tag if self.group != "summary" else "summary"

    def _add_item_id(self, segment: Segment, item: Item, item_id: str, item_type: str) -> None:
        if item_type in codes.GTIN_TYPES:
            problem = gtin_problem(item_id)
            if problem is not None:
                self.notes.add(segment, ProblemCode.INVALID_IDENTIFIER, problem)
                if not is_digits(item_id):
                    item.ids.append(_item_id(item_id, item_type or None))
                    return
            if item.gtin is None:
                item.gtin = item_id
        elif item_type in codes.BUYER_TYPES:
            item.buyer_part = item.buyer_part or item_id
        elif item_type in codes.SUPPLIER_TYPES:
            item.supplier_part = item.supplier_part or item_id
        item.ids.append(_item_id(item_id, item_type or None))

    def _finish_line(self) -> None:
        state = self.line
        if state is None:
            return
        self.line = None
        line = state.line
        profile = self.profile
        if state.split:
            # Parts per place or per delivery date replace a line total of the same kind.
            state.quantities.update(state.split)
        chosen = None
        for qualifier in profile.quantity_order:
            chosen = state.quantities.get(qualifier)
            if chosen is not None:
                break
        if chosen is not None:
            line.quantity, line.unit = chosen.value, chosen.unit
            ordered = state.quantities.get(QuantityQualifier.ORDERED)
            if ordered is not None:
                line.ordered_quantity = ordered.value
        elif line.status not in _NOT_COMMITTED:
            # A line the supplier does not accept needs no quantity.
            wanted = "/".join(profile.quantity_order)
            self.notes.add(state.segment, ProblemCode.MISSING_VALUE,
                           f"line {line.line_no or '?'} has no quantity (QTY {wanted})")
        line.delivery_date = _first_date(state.dates, profile.date_rank)
        # A line that sends its own date, even an unreadable one, or that the supplier does
        # not accept, keeps it; only a header date of a better rank (a promise where the line
        # repeats the request) overrides it.
        if line.status in _NOT_COMMITTED:
            self.own_dates[len(self.document.lines)] = -1
        else:
            rank = _rank(state.dates, profile.date_rank, readable=False)
            if rank is not None:
                self.own_dates[len(self.document.lines)] = rank
        line.requested_delivery_date = state.dates.get(DateQualifier.DELIVERY_REQUESTED)
        line.best_before_date = state.dates.get(DateQualifier.BEST_BEFORE)
        if state.prices:
            self._take_price(line, state.prices)
        self._take_line_order(line, state)
        if not line.item.ids:
            self.notes.add(state.segment, ProblemCode.MISSING_VALUE,
                           f"line {line.line_no or '?'} identifies no item (LIN/PIA)")
        if not line.packages and state.package_level is not None:
            line.packages = self._level_packages(state)
        elif len(line.packages) == 1:
            line.packages = [Package(line.packages[0].sscc, line.quantity)]
        self.document.lines.append(line)

    def _level_packages(self, state: _LineState) -> list[Package]:
        """The packages of the line's level; none, with one warning at the first line so
        refused, once they would outgrow what the message holds."""
        tree = self.packages
        if tree.refused:
            return []
        packages = tree.packages_of(state.package_level, state.line.quantity)
        if packages is None:
            self.notes.add(state.segment, ProblemCode.OVER_LIMIT,
                           f"line {state.line.line_no or '?'} stands in a package level (CPS) "
                           f"of {tree.refused} SSCCs: the lines would carry more packages "
                           f"than the {tree.limit} segments and SSCCs read, so from this line "
                           "on no line names its packages")
            return []
        return packages

    @staticmethod
    def _take_price(line: Line, prices: list[Price]) -> None:
        if not prices:
            return
        best = prices[0] if len(prices) == 1 else min(
            prices, key=lambda p: _PRICE_RANK.get(p.qualifier, 2))
        line.price, line.price_qualifier = best.value, best.qualifier or None

    def _take_line_order(self, line: Line, state: _LineState) -> None:
        if state.orders:
            line.order_number = state.orders[0].value
            line.order_line_no = state.orders[0].line_no or None
            self.line_orders_from_on = True
        elif state.customer_refs:
            state_ref = state.customer_refs[0]
            line.order_number = state_ref.value
            line.order_line_no = state_ref.line_no or None
            self.notes.add(state.segment, ProblemCode.ASSUMED_VALUE,
                           f"line {line.line_no or '?'}: order number taken from RFF+CR "
                           "(customer reference); no RFF+ON was sent")
        if self.profile.order_number_in_bgm and line.order_line_no is None:
            # In an order the LIN line number is the buyer's own order line number.
            line.order_line_no = line.line_no

    def finish(self) -> Document | list[Problem]:
        self._finish_line()
        if not self.seen_bgm:
            return [Problem(Severity.ERROR, ProblemCode.MISSING_SEGMENT,
                            f"the {self.message.type} message has no BGM segment: no document "
                            "number or function", self.message.index, None, "BGM")]
        document = self.document
        dates = self.dates
        document.document_date = dates.get(DateQualifier.DOCUMENT)
        document.despatch_date = dates.get(DateQualifier.DESPATCH)
        document.expected_delivery_date = _first_date(dates, self.profile.date_rank)
        self._settle_order_numbers()
        header_rank = _rank(dates, self.profile.date_rank, readable=True)
        for index, line in enumerate(document.lines):
            own = self.own_dates.get(index)
            if own is None or (header_rank is not None and 0 <= header_rank < own):
                line.delivery_date = document.expected_delivery_date
            if line.requested_delivery_date is None:
                line.requested_delivery_date = dates.get(DateQualifier.DELIVERY_REQUESTED)
            if line.currency is None:
                line.currency = document.currency
        self._settle_shipment()
        document.warnings = [
            *(_notice(p) for p in self.message.problems),
            *self.notes.listed(),
        ]
        return document

    def _settle_order_numbers(self) -> None:
        document = self.document
        named = dict(self.orders)
        if not named and not self.line_orders_from_on and self.customer_refs:
            named = {self.customer_refs[0]: None}
            self.notes.add(None, ProblemCode.ASSUMED_VALUE,
                           "order number taken from RFF+CR (customer reference); "
                           "no RFF+ON was sent")
        header_orders = list(named)
        for line in document.lines:
            if line.order_number:
                named[line.order_number] = None
        orders = list(named)
        document.order_numbers = orders
        if not orders and not self.profile.order_number_in_bgm:
            self.notes.add(None, ProblemCode.MISSING_VALUE,
                           f"the {self.message.type} names no order (no RFF+ON or RFF+CR, in "
                           "the header or on a line): it cannot be matched to an order")
        # A header reference applies to every line that does not name its own (EDIFACT
        # segment groups: the detail overrides the heading).
        fallback = (header_orders[0] if len(header_orders) == 1
                    else orders[0] if len(orders) == 1 else None)
        for line in document.lines:
            if line.order_number is None and fallback is not None:
                line.order_number = fallback
            elif line.order_number is None and orders:
                self.notes.add(None, ProblemCode.MISSING_VALUE,
                               f"line {line.line_no or '?'} names no order and the message "
                               f"refers to {len(orders)} orders")

    def _settle_shipment(self) -> None:
        shipment = self.document.shipment
        for qualifier in codes.TRACKING_REFERENCES:
            if qualifier in self.tracking:
                shipment.tracking_number = self.tracking[qualifier]
                break
        else:
            shipment.tracking_number = self.conveyance
        shipment.packages = self.packages.shipment_packages(
            {p.sscc for line in self.document.lines for p in line.packages if p.sscc})


def _first_date(dates: dict[str, date | None], rank: dict[str, int]) -> date | None:
    """The readable date of the best-ranked qualifier sent (the profile's date order)."""
    best, found = len(rank), None
    for qualifier, value in dates.items():
        position = rank.get(qualifier, best)
        if position < best and value is not None:
            best, found = position, value
    return found


def _rank(dates: dict[str, date | None], rank: dict[str, int], readable: bool) -> int | None:
    """The rank of the best qualifier sent (with a readable date, if asked). The loop runs
    over the few dates a line sends, not over every qualifier of the order."""
    best = len(rank)
    for qualifier, value in dates.items():
        position = rank.get(qualifier, best)
        if position < best and (not readable or value is not None):
            best = position
    return best if best < len(rank) else None


def _syntax_version(message: EdifactMessage, notes: Notes) -> str | None:
    version, release = message.version, message.release
    if not (version or release):
        return None
    if version == "D":
        text = f"D{release}"
    else:
        text = f"{version}:{release}"
        notes.add(None, ProblemCode.INVALID_CODE,
                  f"message version {version!r} in UNH should be 'D' (directory {release})")
    if message.association:
        text += f" / {message.association}"
    return text


@lru_cache(maxsize=1 << 14)
def _item_id(value: str, kind: str | None) -> ItemId:
    """One shared, immutable `ItemId` per identifier: catalogues repeat their items from line
    to line and message to message, and a frozen dataclass is slow to build."""
    return ItemId(value, kind)


def _notice(problem: Problem) -> Notice:
    return Notice(problem.code.value, problem.detail, problem.segment, problem.tag)


_Handler = Callable[[_DocumentBuilder, Segment], None]
_HANDLERS: dict[str, _Handler] = {
    "BGM": _DocumentBuilder.bgm,
    "DTM": _DocumentBuilder.dtm,
    "RFF": _DocumentBuilder.rff,
    "NAD": _DocumentBuilder.nad,
    "CUX": _DocumentBuilder.cux,
    "TDT": _DocumentBuilder.tdt,
    "CPS": _DocumentBuilder.cps,
    "PAC": _DocumentBuilder.pac,
    "GIN": _DocumentBuilder.gin,
    "UNS": _DocumentBuilder.end_of_detail,
    "CNT": _DocumentBuilder.end_of_detail,
    "LIN": _DocumentBuilder.lin,
    "PIA": _DocumentBuilder.pia,
    "IMD": _DocumentBuilder.imd,
    "QTY": _DocumentBuilder.qty,
    "PRI": _DocumentBuilder.pri,
    "MOA": _DocumentBuilder.moa,
}
