"""X12 bytes to canonical documents: the registry's X12 reader.

What differs between the transaction sets is a table (`_KINDS`): the document kind and the
segment handlers. Segments no handler reads are skipped (X12 guides carry many optional ones:
REF, PER, FOB, ITD, TD4 ...), never reported as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from gateway.domain.documents import Document, DocumentKind, Notice, SourceFormat
from mappings.x12 import orders, shipments
from mappings.x12.readers import Notes
from parsers.errors import Problem, ProblemCode, Severity
from parsers.x12 import Transaction, X12Segment, parse_x12
from parsers.x12.tokenizer import is_x12 as _is_x12

if TYPE_CHECKING:
    from mappings.email.columns import ColumnProfile


@dataclass(frozen=True, slots=True)
class _Kind:
    kind: DocumentKind
    beginning: str
    build: Callable[[Document, Notes], Any]
    handlers: Mapping[str, Callable[[Any, X12Segment], None]]


_KINDS: dict[str, _Kind] = {
    "855": _Kind(DocumentKind.ORDER_RESPONSE, "BAK", orders.OrderBuilder, orders.HANDLERS),
    "850": _Kind(DocumentKind.PURCHASE_ORDER, "BEG", orders.OrderBuilder, orders.HANDLERS),
    "856": _Kind(DocumentKind.DESPATCH_ADVICE, "BSN", shipments.ShipNoticeBuilder,
                 shipments.HANDLERS),
}


def is_x12(head: bytes, _name: str = "") -> bool:
    """The first bytes, past a UTF-8 byte-order mark and white space, are an ISA header."""
    return _is_x12(head)


def read_x12(stream: BinaryIO, name: str, *,
             profile: ColumnProfile | None = None) -> Iterator[Document | Problem]:
    """X12 is read the same for every supplier: `profile` does not apply."""
    for item in parse_x12(stream):
        if isinstance(item, Transaction):
            mapped = map_transaction(item, name)
            if isinstance(mapped, Document):
                yield mapped
            else:
                yield from mapped
        else:
            yield item


def map_transaction(transaction: Transaction, file: str | None = None
                    ) -> Document | list[Problem]:
    """The canonical document of one transaction set, or the errors that refuse it."""
    errors = [problem for problem in transaction.problems if problem.is_error]
    if errors:
        return errors
    kind = _KINDS.get(transaction.type)
    if kind is None:
        return [Problem(Severity.ERROR, ProblemCode.UNSUPPORTED_MESSAGE,
                        f"transaction set {transaction.type or '(none)'} is not an 855, 856 or "
                        "850; not processed", transaction.index, 1, "ST")]
    header = transaction.interchange
    document = Document(
        kind=kind.kind, source_format=SourceFormat.X12, message_type=transaction.type,
        syntax_version=transaction.version,
        sender_id=header.sender if header else None,
        receiver_id=header.receiver if header else None,
        interchange_ref=header.control_number if header else None,
        message_ref=transaction.control_number or None, file=file,
        message_index=transaction.index)
    notes = Notes(transaction)
    builder = kind.build(document, notes)
    handlers = kind.handlers
    for segment in transaction.segments:
        handler = handlers.get(segment.tag)
        if handler is not None:
            handler(builder, segment)
    if not builder.seen_beginning:
        return [Problem(Severity.ERROR, ProblemCode.MISSING_SEGMENT,
                        f"the {transaction.type} has no {kind.beginning} segment: no document "
                        "number or purpose", transaction.index, None, kind.beginning)]
    builder.finish()
    document.warnings = [*(_notice(p) for p in transaction.problems), *notes.listed()]
    return document


def _notice(problem: Problem) -> Notice:
    return Notice(problem.code.value, problem.detail, problem.segment, problem.tag)
