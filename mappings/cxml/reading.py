"""cXML documents -> canonical documents.

A cXML document is `<cXML><Header/><Request>` with one request: OrderRequest (an order, for
`gateway orders import`), ConfirmationRequest (an order response) or ShipNoticeRequest (a
despatch advice). Header/From and Header/To name the sender and receiver. A
ConfirmationRequest placed inside `<Response>` (seen from a punch-out gateway, not cXML) is
read all the same, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, BinaryIO

from lxml import etree

from gateway.domain.documents import (
    Document,
    DocumentKind,
    Item,
    ItemId,
    Line,
    LineStatus,
    Package,
    Party,
    SourceFormat,
)
from mappings.cxml import codes
from mappings.xmlvalues import XmlNotes, children, descend, read_date, read_decimal, text_of
from parsers.errors import ParseError, Problem, ProblemCode, Severity
from parsers.xml import (
    XmlDocument,
    line_of,
    local_name,
    parse_xml,
    read_document,
    root_name,
    tag_of,
)

if TYPE_CHECKING:
    from mappings.email.columns import ColumnProfile

_KINDS = {"OrderRequest": DocumentKind.PURCHASE_ORDER,
          "ConfirmationRequest": DocumentKind.ORDER_RESPONSE,
          "ShipNoticeRequest": DocumentKind.DESPATCH_ADVICE}
_NOT_COMMITTED = frozenset({LineStatus.REJECTED, LineStatus.DELETED})


def is_cxml(head: bytes, _name: str = "") -> bool:
    return root_name(head) == "cXML"


def read_cxml(stream: BinaryIO, name: str, *,
              profile: ColumnProfile | None = None) -> Iterator[Document | Problem]:
    data = read_document(stream)
    try:
        parsed = parse_xml(data)
    except ParseError as exc:
        line = getattr(exc, "line", None)
        yield Problem(Severity.ERROR, exc.code, exc.detail, 1 if line else None, line, None)
        return
    yield from map_cxml(parsed, name)


def map_cxml(parsed: XmlDocument, file: str | None = None) -> list[Document | Problem]:
    root, notes = parsed.root, XmlNotes()
    for repair in parsed.repairs:
        notes.add_declaration(ProblemCode.CHARSET_MISMATCH, repair)
    request = _request(root, notes)
    if request is None:
        return [Problem(Severity.ERROR, ProblemCode.UNSUPPORTED_MESSAGE,
                        "the cXML holds no OrderRequest, ConfirmationRequest or "
                        "ShipNoticeRequest; not processed", 1, line_of(root), "cXML")]
    name = local_name(request)
    document = Document(
        kind=_KINDS[name], source_format=SourceFormat.CXML, message_type=name,
        syntax_version=root.get("version") or None,
        sender_id=text_of(root.find("Header/From/Credential/Identity")) or None,
        receiver_id=text_of(root.find("Header/To/Credential/Identity")) or None,
        message_ref=root.get("payloadID") or None, file=file, message_index=1)
    if name == "OrderRequest":
        _order(document, request, root, notes)
    elif name == "ConfirmationRequest":
        _confirmation(document, request, notes)
    else:
        _ship_notice(document, request, notes)
    for line in document.lines:
        if line.order_number is None and document.order_numbers:
            line.order_number = document.order_numbers[0]
        line.currency = line.currency or document.currency
    document.warnings = notes.listed()
    return [document]


def _request(root: etree._Element, notes: XmlNotes) -> etree._Element | None:
    for name in codes.REQUESTS:
        found = root.find(f"Request/{name}")
        if found is not None:
            return found
    for name in codes.REQUESTS:
        found = root.find(f"Response/{name}")
        if found is not None:
            notes.add(found, ProblemCode.ASSUMED_VALUE,
                      f"{name} stands inside a Response, not a Request (not cXML); read as a "
                      "request")
            return found
    return None


def _order_reference(document: Document, element: etree._Element | None,
                     notes: XmlNotes, where: etree._Element) -> None:
    number = element.get("orderID", "").strip() if element is not None else ""
    if number:
        document.order_numbers.append(number)
    else:
        notes.add(where, ProblemCode.MISSING_VALUE,
                  f"the {document.message_type} names no order (OrderReference orderID)")


# -- OrderRequest --------------------------------------------------------------------------

def _order(document: Document, request: etree._Element, root: etree._Element,
           notes: XmlNotes) -> None:
    header = request.find("OrderRequestHeader")
    if header is None:
        notes.add(request, ProblemCode.MISSING_SEGMENT, "OrderRequest has no OrderRequestHeader")
        return
    number = header.get("orderID", "").strip()
    document.document_number = number or None
    _order_reference(document, header, notes, header)
    document.document_date = read_date(header.get("orderDate", ""), header, notes, "orderDate")
    document.function_code = header.get("type") or None
    total = header.find("Total/Money")
    document.currency = total.get("currency") if total is not None else None
    supplier = root.find("Header/To/Credential")
    if supplier is not None:
        document.parties.append(Party("SU", text_of(supplier.find("Identity")) or None,
                                      supplier.get("domain") or None, None))
    for item_out in request.iterfind("ItemOut"):
        line = Line(line_no=item_out.get("lineNumber") or None)
        line.order_line_no = line.line_no
        line.quantity = read_decimal(item_out.get("quantity", ""), item_out, notes, "quantity")
        line.delivery_date = read_date(item_out.get("requestedDeliveryDate", ""), item_out,
                                       notes, "requestedDeliveryDate")
        line.requested_delivery_date = line.delivery_date
        known = _KnownIds()
        _item(line.item, item_out.find("ItemID"), known)
        _detail(line, item_out.find("ItemDetail"), notes, known)
        if line.quantity is None:
            notes.add(item_out, ProblemCode.MISSING_VALUE,
                      f"line {line.line_no or '?'} has no quantity")
        document.lines.append(line)


class _KnownIds:
    """The ids already on a line's item, so that an item repeated in each ConfirmationStatus
    adds each id once, in one set look-up (not a search of the ids: a split confirmation may
    repeat the item thousands of times)."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        # (value, kind) pairs: a tuple hashes in C, an `ItemId` dataclass in Python.
        self.ids: set[tuple[str, str]] = set()
        self.values: set[str] = set()

    def add(self, item: Item, value: str, kind: str, any_kind: bool = False) -> None:
        """`value` onto the item once; `any_kind`: not even under another kind."""
        key = (value, kind)
        if key in self.ids or (any_kind and value in self.values):
            return
        self.ids.add(key)
        self.values.add(value)
        item.ids.append(ItemId(value, kind))


def _item(item: Item, item_id: etree._Element | None, known: _KnownIds) -> None:
    if item_id is None:
        return
    kids = children(item_id)
    supplier = text_of(kids.get("SupplierPartID"))
    auxiliary = text_of(kids.get("SupplierPartAuxiliaryID"))
    buyer = text_of(kids.get("BuyerPartID"))
    if supplier:
        item.supplier_part = item.supplier_part or supplier
        known.add(item, supplier, "SA", any_kind=True)
    if auxiliary:
        known.add(item, auxiliary, "SupplierPartAuxiliaryID")
    if buyer:
        item.buyer_part = item.buyer_part or buyer
        known.add(item, buyer, "IN")


def _detail(line: Line, detail: etree._Element | None, notes: XmlNotes,
            known: _KnownIds) -> None:
    """ItemDetail: UnitPrice/Money, Description, UnitOfMeasure, ManufacturerPartID."""
    if detail is None:
        return
    kids = children(detail)
    money = descend(kids.get("UnitPrice"), "Money")
    if money is not None:
        line.price = read_decimal(text_of(money), money, notes, "UnitPrice")
        line.price_qualifier = "AAA" if line.price is not None else None
        line.currency = money.get("currency") or line.currency
    line.unit = line.unit or text_of(kids.get("UnitOfMeasure")) or None
    line.item.description = line.item.description or text_of(kids.get("Description")) \
        or None
    maker = text_of(kids.get("ManufacturerPartID"))
    if maker:
        known.add(line.item, maker, "MF", any_kind=True)


# -- ConfirmationRequest -------------------------------------------------------------------

def _confirmation(document: Document, request: etree._Element, notes: XmlNotes) -> None:
    header = request.find("ConfirmationHeader")
    if header is None:
        notes.add(request, ProblemCode.MISSING_SEGMENT,
                  "ConfirmationRequest has no ConfirmationHeader")
        return
    kind = header.get("type", "")
    document.function_code = kind or None
    document.status = codes.HEADER_STATUS.get(kind)
    if kind not in codes.HEADER_STATUS:
        notes.add(header, ProblemCode.INVALID_CODE,
                  f"ConfirmationHeader type {kind or '(none)'!r} is not accept, reject, "
                  "detail, except or allDetail")
    document.document_number = header.get("confirmID") or header.get("invoiceID") or None
    document.document_date = read_date(header.get("noticeDate", ""), header, notes,
                                       "noticeDate")
    reference = request.find("OrderReference")
    if reference is None and header.get("orderID"):
        notes.add(header, ProblemCode.ASSUMED_VALUE,
                  "no OrderReference: the order number is taken from ConfirmationHeader's "
                  "orderID (not cXML)")
        reference = header
    _order_reference(document, reference, notes, request)
    for element in request.iterfind("ConfirmationItem"):
        document.lines.append(_confirmation_line(element, notes))


def _confirmation_line(element: etree._Element, notes: XmlNotes) -> Line:
    """ConfirmationItem: lineNumber, quantity (ordered), UnitOfMeasure; each
    ConfirmationStatus: type, quantity, deliveryDate/shipmentDate, UnitOfMeasure, ItemIn
    (the item and its price as confirmed)."""
    line = Line(line_no=element.get("lineNumber") or None)
    line.order_line_no = line.line_no
    if line.line_no is None:
        # cXML's Fulfill DTD makes ConfirmationItem's lineNumber #REQUIRED: the line it
        # answers; without it only the item can tell.
        notes.add(element, ProblemCode.MISSING_VALUE,
                  "ConfirmationItem has no lineNumber: the order line it answers is not named")
    line.ordered_quantity = read_decimal(element.get("quantity", ""), element, notes,
                                         "ConfirmationItem quantity")
    committed: Decimal | None = None
    statuses: list[LineStatus] = []
    dates: list[date] = []
    item_id = None
    known = _KnownIds()
    for child in element:
        tag = tag_of(child)
        if tag == "UnitOfMeasure":
            line.unit = line.unit or text_of(child) or None
        elif tag == "ItemID":
            item_id = child
        elif tag == "ConfirmationStatus":
            mapped, quantity, when = _confirmation_status(line, child, notes, known)
            if mapped is not None:
                statuses.append(mapped)
            if quantity is not None and mapped not in _NOT_COMMITTED:
                committed = (committed or Decimal(0)) + quantity
            if when is not None:
                dates.append(when)
    if statuses:
        kinds = set(statuses)
        line.status = kinds.pop() if len(kinds) == 1 else LineStatus.CHANGED
    line.quantity = committed
    if line.quantity is None and line.status not in _NOT_COMMITTED:
        notes.add(element, ProblemCode.MISSING_VALUE,
                  f"line {line.line_no or '?'} confirms no quantity")
    line.delivery_date = max(dates) if dates else None
    _item(line.item, item_id, known)
    return line


def _confirmation_status(line: Line, status: etree._Element, notes: XmlNotes,
                         known: _KnownIds
                         ) -> tuple[LineStatus | None, Decimal | None, date | None]:
    """One ConfirmationStatus: its line status, quantity and date; its unit, item and price
    go onto the line."""
    kind = status.get("type", "")
    line.action_code = line.action_code or kind or None
    if kind not in codes.LINE_STATUS:
        notes.add(status, ProblemCode.INVALID_CODE,
                  f"ConfirmationStatus type {kind or '(none)'!r} is not known")
    quantity = read_decimal(status.get("quantity", ""), status, notes,
                            "ConfirmationStatus quantity")
    when = status.get("deliveryDate") or status.get("shipmentDate") or ""
    value = read_date(when, status, notes, "deliveryDate")
    for child in status:
        tag = tag_of(child)
        if tag == "UnitOfMeasure":
            line.unit = text_of(child) or line.unit
        elif tag == "ItemIn":
            parts = children(child)
            _item(line.item, parts.get("ItemID"), known)
            _detail(line, parts.get("ItemDetail"), notes, known)
        elif tag == "UnitPrice":
            money = descend(child, "Money")
            if money is not None:
                line.price = read_decimal(text_of(money), money, notes, "UnitPrice")
                line.currency = money.get("currency") or line.currency
    return codes.LINE_STATUS.get(kind), quantity, value


# -- ShipNoticeRequest ---------------------------------------------------------------------

def _ship_notice(document: Document, request: etree._Element, notes: XmlNotes) -> None:
    header = request.find("ShipNoticeHeader")
    if header is None:
        notes.add(request, ProblemCode.MISSING_SEGMENT,
                  "ShipNoticeRequest has no ShipNoticeHeader")
        return
    document.document_number = header.get("shipmentID") or None
    document.function_code = header.get("operation") or None
    document.document_date = read_date(header.get("noticeDate", ""), header, notes,
                                       "noticeDate")
    document.despatch_date = read_date(header.get("shipmentDate", ""), header, notes,
                                       "shipmentDate")
    document.expected_delivery_date = read_date(header.get("deliveryDate", ""), header, notes,
                                                "deliveryDate")
    control = request.find("ShipControl")
    if control is not None:
        carriers = {c.get("domain", ""): text_of(c) for c in control.iterfind(
            "CarrierIdentifier")}
        document.shipment.carrier = carriers.get("companyName") or carriers.get("SCAC") or \
            next(iter(carriers.values()), None) or None
        document.shipment.tracking_number = text_of(control.find("ShipmentIdentifier")) or None
    ssccs: set[str] = set()
    for portion in request.iterfind("ShipNoticePortion"):
        before = len(document.order_numbers)
        _order_reference(document, portion.find("OrderReference"), notes, portion)
        order = document.order_numbers[before] if len(document.order_numbers) > before \
            else None
        for element in portion.iterfind("ShipNoticeItem"):
            line = Line(line_no=element.get("lineNumber") or None, order_number=order)
            line.order_line_no = line.line_no
            line.quantity = read_decimal(element.get("quantity", ""), element, notes,
                                         "ShipNoticeItem quantity")
            line.unit = text_of(element.find("UnitOfMeasure")) or None
            _item(line.item, element.find("ItemID"), _KnownIds())
            line.delivery_date = document.expected_delivery_date
            codes_found = [text_of(c) for c in element.iterfind(
                "Packaging/ShippingContainerSerialCode") if text_of(c)]
            ssccs.update(codes_found)
            line.packages = [Package(c, line.quantity if len(codes_found) == 1 else None)
                             for c in codes_found]
            document.lines.append(line)
    document.shipment.packages = len(ssccs) or None
