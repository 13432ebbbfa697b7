"""UBL documents -> canonical documents (Order, OrderResponse, OrderResponseSimple,
DespatchAdvice; UBL 2.0 to 2.3 and PEPPOL BIS 3).

Namespaces are taken from the document, not assumed: the root's namespace must be the UBL
namespace of its name (urn:oasis:names:specification:ubl:schema:xsd:Order-2 ...), and the
components are found by their local names in whatever namespace the document bound them to
(`{*}` paths), so a document that binds cbc/cac to other prefixes, or declares them on the
root or on each element, reads the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, BinaryIO

from lxml import etree

from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    ItemId,
    Line,
    LineStatus,
    Package,
    Party,
    SourceFormat,
)
from mappings.edifact.readers import gtin_problem
from mappings.ubl import codes
from mappings.xmlvalues import (
    XmlNotes,
    children,
    descend,
    local_name_of,
    read_date,
    read_decimal,
    text_of,
)
from parsers.errors import ParseError, Problem, ProblemCode, Severity
from parsers.xml import XmlDocument, line_of, parse_xml, read_document, root_name, tag_of

if TYPE_CHECKING:
    from mappings.email.columns import ColumnProfile

_UBL_NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:"


def is_ubl(head: bytes, _name: str = "") -> bool:
    """XML whose root element is a UBL document the gateway reads, or the PEPPOL envelope
    (StandardBusinessDocument) that may carry one."""
    name = root_name(head)
    return name in codes.KINDS or name == codes.ENVELOPE


def read_ubl(stream: BinaryIO, name: str, *,
             profile: ColumnProfile | None = None) -> Iterator[Document | Problem]:
    """One UBL document; a document that cannot be read is one located error."""
    data = read_document(stream)
    try:
        parsed = parse_xml(data)
    except ParseError as exc:
        yield _located(exc)
        return
    yield from map_ubl(parsed, name)


def _located(exc: ParseError) -> Problem:
    line = getattr(exc, "line", None)
    return Problem(Severity.ERROR, exc.code, exc.detail, 1 if line else None, line, None)


def map_ubl(parsed: XmlDocument, file: str | None = None) -> list[Document | Problem]:
    repairs = parsed.repairs
    if parsed.name == codes.ENVELOPE:
        payload = _enveloped(parsed)
        if payload is None:
            return [Problem(Severity.ERROR, ProblemCode.MISSING_SEGMENT,
                            "the StandardBusinessDocument envelope carries no document after "
                            "its StandardBusinessDocumentHeader", 1, line_of(parsed.root),
                            parsed.name)]
        parsed = payload
    kind = codes.KINDS.get(parsed.name)
    if kind is None:
        return [Problem(Severity.ERROR, ProblemCode.UNSUPPORTED_MESSAGE,
                        f"UBL document {parsed.name} is not an order, order response or "
                        "despatch advice; not processed", 1, line_of(parsed.root),
                        parsed.name)]
    notes = XmlNotes()
    for repair in repairs:
        notes.add_declaration(ProblemCode.CHARSET_MISMATCH, repair)
    if parsed.namespace != f"{_UBL_NAMESPACE}{parsed.name}-2":
        notes.add(parsed.root, ProblemCode.INVALID_CODE,
                  f"the root {parsed.name} is in namespace {parsed.namespace or '(none)'!r}, "
                  f"not UBL's {_UBL_NAMESPACE}{parsed.name}-2; read as UBL all the same")
    return [_UblBuilder(parsed, kind, notes, file).build()]


def _enveloped(envelope: XmlDocument) -> XmlDocument | None:
    """The document a PEPPOL envelope carries: its first element that is not the
    StandardBusinessDocumentHeader (PEPPOL Business Message Envelope 2.0, SBDH 1.3)."""
    for child in envelope.root:
        tag = tag_of(child)
        name = local_name_of(tag)
        if not isinstance(tag, str) or not name or name == codes.ENVELOPE_HEADER:
            continue
        namespace = tag[1:tag.index("}")] if tag.startswith("{") else ""
        return XmlDocument(child, namespace, name)
    return None


def _text(element: etree._Element, path: str) -> str:
    return text_of(element.find(path))


class _UblBuilder:
    """One UBL document: its header, then each line."""

    def __init__(self, parsed: XmlDocument, kind: DocumentKind, notes: XmlNotes,
                 file: str | None) -> None:
        self.root = parsed.root
        self.name = parsed.name
        self.notes = notes
        # The first child of each name, read once: a `find` on the root walks all its
        # children (every order line) when the element is absent, as most header elements are.
        self.top = children(self.root)
        self.document = Document(
            kind=kind, source_format=SourceFormat.UBL, message_type=parsed.name,
            syntax_version=self._text_at("{*}UBLVersionID")
            or self._text_at("{*}CustomizationID") or None,
            message_ref=self._text_at("{*}ID") or None, file=file, message_index=1)

    def _at(self, path: str) -> etree._Element | None:
        """`root.find(path)`, without walking the root's children when its first step is not
        one of them."""
        first, _, rest = path.partition("/")
        found = self.top.get(first[3:])
        if found is None or not rest:
            return found
        return self.root.find(path)

    def _text_at(self, path: str) -> str:
        return text_of(self._at(path))

    def build(self) -> Document:
        root, document, notes = self.root, self.document, self.notes
        document.document_number = self._text_at("{*}ID") or None
        issue = self._at("{*}IssueDate")
        document.document_date = read_date(text_of(issue), issue, notes, "IssueDate")
        document.currency = self._text_at("{*}DocumentCurrencyCode") or None
        self._parties()
        if document.kind is DocumentKind.PURCHASE_ORDER:
            self._order_number(document.document_number or "", root)
        else:
            self._order_number(self._text_at("{*}OrderReference/{*}ID"), root)
        if self.name == "OrderResponseSimple":
            self._simple_response()
        elif self.name == "OrderResponse":
            self._response_code()
        header_date = self._header_date()
        document.expected_delivery_date = header_date
        line_path = "{*}DespatchLine" if document.kind is DocumentKind.DESPATCH_ADVICE \
            else "{*}OrderLine"
        for element in root.iterfind(line_path):
            document.lines.append(self._line(element))
        for line in document.lines:
            if line.delivery_date is None and (document.kind is DocumentKind.DESPATCH_ADVICE
                                               or line.status not in _NOT_COMMITTED):
                line.delivery_date = header_date
            line.currency = line.currency or document.currency
            if line.order_number is None and document.order_numbers:
                line.order_number = document.order_numbers[0]
        if document.kind is DocumentKind.DESPATCH_ADVICE:
            self._shipment()
        document.warnings = notes.listed()
        return document

    # -- header ----------------------------------------------------------------------------

    def _order_number(self, number: str, where: etree._Element) -> None:
        if number:
            self.document.order_numbers.append(number)
        else:
            self.notes.add(where, ProblemCode.MISSING_VALUE,
                           f"the {self.name} names no order (cac:OrderReference/cbc:ID)")

    def _parties(self) -> None:
        document = self.document
        for element in self.root:
            role = codes.PARTY_ROLES.get(local_name_of(tag_of(element)))
            if role is None:
                continue
            party = element.find("{*}Party")
            if party is None:
                continue
            document.parties.append(_party(role, party))
            endpoint = _text(party, "{*}EndpointID") or None
            sends = "SU" if document.kind is not DocumentKind.PURCHASE_ORDER else "BY"
            if role == sends and document.sender_id is None:
                document.sender_id = endpoint
            elif role in ("SU", "BY") and role != sends and document.receiver_id is None:
                document.receiver_id = endpoint

    def _response_code(self) -> None:
        element = self._at("{*}OrderResponseCode")
        code = text_of(element)
        self.document.function_code = code or None
        if code and code not in codes.RESPONSE_STATUS:
            self.notes.add(element, ProblemCode.INVALID_CODE,
                           f"order response code {code!r} is not AB, AP, RE or CA")
        self.document.status = codes.RESPONSE_STATUS.get(code)

    def _simple_response(self) -> None:
        element = self._at("{*}AcceptedIndicator")
        value = text_of(element).lower()
        self.document.function_code = value or None
        if value in ("true", "1"):
            self.document.status = DocumentStatus.ACCEPTED
        elif value in ("false", "0"):
            self.document.status = DocumentStatus.REJECTED
        else:
            self.notes.add(element if element is not None else self.root,
                           ProblemCode.MISSING_VALUE,
                           "AcceptedIndicator is missing or not true/false")

    def _header_date(self) -> date | None:
        for path in ("{*}Delivery/{*}PromisedDeliveryPeriod",
                     "{*}Shipment/{*}Delivery/{*}EstimatedDeliveryPeriod",
                     "{*}Delivery/{*}EstimatedDeliveryPeriod",
                     "{*}Delivery/{*}RequestedDeliveryPeriod",
                     "{*}Shipment/{*}Delivery/{*}RequestedDeliveryPeriod"):
            value = self._period(self._at(path))
            if value is not None:
                return value
        return None

    def _period(self, period: etree._Element | None) -> date | None:
        if period is None:
            return None
        parts = children(period)
        for name in ("StartDate", "EndDate"):
            element = parts.get(name)
            if element is not None:
                return read_date(text_of(element), element, self.notes, name)
        return None

    def _shipment(self) -> None:
        shipment = self.document.shipment
        despatch = self._at("{*}Shipment/{*}Delivery/{*}Despatch/{*}ActualDespatchDate")
        self.document.despatch_date = read_date(text_of(despatch), despatch, self.notes,
                                                "ActualDespatchDate")
        carrier = self._at("{*}Shipment/{*}Consignment/{*}CarrierParty")
        if carrier is not None:
            shipment.carrier = _text(carrier, "{*}PartyName/{*}Name") or \
                _text(carrier, "{*}PartyIdentification/{*}ID") or None
        shipment.tracking_number = self._text_at(
            "{*}Shipment/{*}Consignment/{*}CarrierAssignedID") or None
        units = self._at("{*}Shipment/{*}TotalTransportHandlingUnitQuantity")
        count = read_decimal(text_of(units), units, self.notes, "handling unit quantity")
        ssccs = {p.sscc for line in self.document.lines for p in line.packages if p.sscc}
        if ssccs:
            shipment.packages = len(ssccs)
        elif count is not None and count == int(count):
            shipment.packages = int(count)

    # -- lines -----------------------------------------------------------------------------

    def _line(self, element: etree._Element) -> Line:
        despatch = self.document.kind is DocumentKind.DESPATCH_ADVICE
        outer = children(element)
        holder = element if despatch else outer.get("LineItem")
        if holder is None:
            self.notes.add(element, ProblemCode.MISSING_SEGMENT, "OrderLine has no LineItem")
            holder = element
        kids = outer if despatch else children(holder)
        line = Line(line_no=text_of(kids.get("ID")) or None)
        reference = outer.get("OrderLineReference")
        if reference is not None:
            parts = children(reference)
            line.order_line_no = text_of(parts.get("LineID")) or None
            line.order_number = text_of(descend(parts.get("OrderReference"), "ID")) or None
        elif self.document.kind is DocumentKind.PURCHASE_ORDER:
            line.order_line_no = line.line_no
        quantity = kids.get("DeliveredQuantity" if despatch else "Quantity")
        line.quantity = read_decimal(text_of(quantity), quantity, self.notes, "quantity")
        line.unit = quantity.get("unitCode") if quantity is not None else None
        if not despatch:
            self._status(line, kids.get("LineStatusCode"))
            self._price(line, kids.get("Price"))
            period = ("PromisedDeliveryPeriod" if self.document.kind is
                      DocumentKind.ORDER_RESPONSE else "RequestedDeliveryPeriod")
            line.delivery_date = self._period(descend(kids.get("Delivery"), period))
            if line.quantity is None and self.document.kind is DocumentKind.PURCHASE_ORDER:
                self.notes.add(holder, ProblemCode.MISSING_VALUE,
                               f"line {line.line_no or '?'} has no quantity")
        else:
            self._packages(line, element)
        item = kids.get("Item")
        if item is not None:
            _read_item(line.item, item, self.notes)
            self._instance(line, item)
        if not line.item.ids:
            self.notes.add(holder, ProblemCode.MISSING_VALUE,
                           f"line {line.line_no or '?'} identifies no item")
        substitute = descend(outer.get("SellerSubstitutedLineItem"), "Item")
        if substitute is not None:
            replacement = Item()
            _read_item(replacement, substitute, self.notes)
            shown = ", ".join(i.id for i in replacement.ids) or "(no id)"
            self.notes.add(substitute, ProblemCode.ASSUMED_VALUE,
                           f"line {line.line_no or '?'}: the seller substitutes item {shown}")
        return line

    def _instance(self, line: Line, item: etree._Element) -> None:
        """The batch and best-before date of the line's goods (cac:ItemInstance, UBL 2.1:
        LotIdentification/LotNumberID and BestBeforeDate); the first of several, as EDIFACT's
        first PIA/GIN batch is."""
        for instance in item.iterfind("{*}ItemInstance"):
            if line.batch is None:
                line.batch = _text(instance, "{*}LotIdentification/{*}LotNumberID") or None
            if line.best_before_date is None:
                best = instance.find("{*}BestBeforeDate")
                if best is not None:
                    line.best_before_date = read_date(text_of(best), best, self.notes,
                                                      "BestBeforeDate")

    def _status(self, line: Line, element: etree._Element | None) -> None:
        code = text_of(element)
        if not code or self.document.kind is not DocumentKind.ORDER_RESPONSE:
            return
        line.action_code = code
        line.status = codes.LINE_STATUS.get(code) or codes.LINE_STATUS_UNCL1225.get(code)
        if line.status is not None:
            return
        if code not in codes.LINE_STATUS_UBL:
            self.notes.add(element, ProblemCode.INVALID_CODE,
                           f"line status code {code!r} is not a known UNCL 1229 code")
            return
        line.status = codes.LINE_STATUS_UBL[code]
        if code == "Disputed":
            self.notes.add(element, ProblemCode.ASSUMED_VALUE,
                           f"line {line.line_no or '?'}: status Disputed (UBL Line Status) "
                           "says nothing the supplier commits to; read as no status")

    def _price(self, line: Line, price_element: etree._Element | None) -> None:
        if price_element is None:
            return
        parts = children(price_element)
        amount = parts.get("PriceAmount")
        price = read_decimal(text_of(amount), amount, self.notes, "PriceAmount")
        if price is None or amount is None:
            return
        line.currency = amount.get("currencyID") or None
        base = parts.get("BaseQuantity")
        basis = read_decimal(text_of(base), base, self.notes, "BaseQuantity")
        if basis is not None and basis > 0 and basis != 1:
            # The price is for `basis` units (UBL cac:Price/cbc:BaseQuantity); the canonical
            # price is per unit, as EDIFACT's PRI 5284 is read.
            self.notes.add(base, ProblemCode.ASSUMED_VALUE,
                           f"price {price} is per {basis} units (BaseQuantity); converted to "
                           "a unit price")
            price = price / basis
        line.price = price
        line.price_qualifier = "AAA"

    def _packages(self, line: Line, element: etree._Element) -> None:
        """SSCCs of the line's handling units (cac:Shipment/cac:TransportHandlingUnit with an
        ID whose schemeID is SSCC, or an 18-digit ID)."""
        ssccs = []
        for unit in element.iterfind("{*}Shipment/{*}TransportHandlingUnit"):
            for ident in unit.iterfind("{*}ID"):
                value = text_of(ident)
                if value and (ident.get("schemeID", "").upper() == "SSCC"
                              or (len(value) == 18 and value.isdigit())):
                    ssccs.append(value)
        if len(ssccs) == 1:
            line.packages = [Package(ssccs[0], line.quantity)]
        else:
            line.packages = [Package(sscc, None) for sscc in ssccs]


def _party(role: str, party: etree._Element) -> Party:
    ident = party.find("{*}PartyIdentification/{*}ID")
    if ident is None or not text_of(ident):
        ident = party.find("{*}EndpointID")
    name = _text(party, "{*}PartyName/{*}Name") or \
        _text(party, "{*}PartyLegalEntity/{*}RegistrationName")
    return Party(role, text_of(ident) or None,
                 ident.get("schemeID") if ident is not None else None, name or None)


def _read_item(item: Item, element: etree._Element, notes: XmlNotes) -> None:
    kids: dict[str, etree._Element] = {}
    standards: list[etree._Element] = []
    for child in element:
        name = local_name_of(tag_of(child))
        if name == "StandardItemIdentification":
            standards.append(child)
        if name and name not in kids:
            kids[name] = child
    seller = text_of(descend(kids.get("SellersItemIdentification"), "ID"))
    buyer = text_of(descend(kids.get("BuyersItemIdentification"), "ID"))
    if seller:
        item.supplier_part = item.supplier_part or seller
        item.ids.append(ItemId(seller, "SA"))
    if buyer:
        item.buyer_part = item.buyer_part or buyer
        item.ids.append(ItemId(buyer, "IN"))
    for holder in standards:
        standard = descend(holder, "ID")
        value = text_of(standard)
        if standard is None or not value:
            continue
        scheme = standard.get("schemeID") or None
        if scheme in codes.GTIN_SCHEMES:
            _add_gtin(item, value, standard, notes)
        elif scheme is None and gtin_problem(value) is None:
            item.gtin = item.gtin or value
            item.ids.append(ItemId(value, "EN"))
        else:
            item.ids.append(ItemId(value, scheme))
    item.description = item.description or text_of(kids.get("Name")) or \
        text_of(kids.get("Description")) or None


def _add_gtin(item: Item, value: str, element: etree._Element, notes: XmlNotes) -> None:
    """A GTIN named by its scheme (ICD 0160), its GS1 check digit checked as EDIFACT's and
    X12's are: a wrong one is kept and warned, a value that is not digits is no GTIN."""
    problem = gtin_problem(value)
    if problem is not None:
        notes.add(element, ProblemCode.INVALID_IDENTIFIER, problem)
        if not value.isascii() or not value.isdigit():
            item.ids.append(ItemId(value, element.get("schemeID")))
            return
    item.gtin = item.gtin or value
    item.ids.append(ItemId(value, "EN"))


_NOT_COMMITTED = frozenset({LineStatus.REJECTED, LineStatus.DELETED})
