"""What a supplier answered, line by line and order by order, and the documents it makes.

The body and sheet readers collect `Findings`: each answered line with the place it was read
(a line of the email body, a row of a sheet), each statement about a whole order, the
statements and rows refused (errors: that line is not answered, the rest goes on) and the
remarks (warnings). `build_documents` turns them into one order response per order number.

An acceptance of a whole order that also names some lines ("we confirm your order; line 30 we
cannot deliver") becomes two documents for that order, applied in this order: the acceptance
with no lines (every line as ordered), then the lines it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.documents import (
    Document,
    DocumentKind,
    DocumentStatus,
    Line,
    LineStatus,
    Notice,
    Party,
    SourceFormat,
    line_to_json,
)
from parsers.errors import Problem, ProblemCode, Severity


@dataclass(frozen=True, slots=True)
class Place:
    """Where something was read, as a person would look for it: `label` is "line 7 of the
    email body" or "sheet 'Confirmations' row 14"; `number` is that line or row number."""

    label: str
    number: int


@dataclass(slots=True)
class LineAnswer:
    line: Line
    place: Place


@dataclass(frozen=True, slots=True)
class OrderAnswer:
    order_number: str
    status: DocumentStatus
    place: Place


@dataclass(slots=True)
class Findings:
    lines: list[LineAnswer] = field(default_factory=list)
    orders: list[OrderAnswer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Warnings, with the order they concern (None: the whole source).
    notices: list[tuple[str | None, Notice]] = field(default_factory=list)

    def refuse(self, place: Place, code: ProblemCode, detail: str) -> None:
        """What was read at `place` is not taken as an answer: an error, located."""
        self.problems.append(Problem(Severity.ERROR, code, f"{place.label}: {detail}",
                                     segment=place.number))

    def note(self, place: Place | None, code: ProblemCode, detail: str,
             order: str | None = None) -> None:
        label = f"{place.label}: {detail}" if place is not None else detail
        self.notices.append((order, Notice(code.value, label,
                                           place.number if place is not None else None)))

    def extend(self, other: Findings) -> None:
        self.lines.extend(other.lines)
        self.orders.extend(other.orders)
        self.problems.extend(other.problems)
        self.notices.extend(other.notices)


@dataclass(frozen=True, slots=True)
class Origin:
    """What the documents built from one source share."""

    source_format: SourceFormat
    message_type: str
    file: str | None = None
    parties: tuple[Party, ...] = ()
    # Sheets list split deliveries as several rows of one line; an email that states one line
    # twice with other values contradicts itself.
    schedules: bool = False


def build_documents(findings: Findings, origin: Origin) -> list[Document | Problem]:
    """One order response per order number named, in the order first named; then problems."""
    lines = _settle_repeats(findings, origin.schedules)
    by_order: dict[str, list[LineAnswer]] = {}
    for answer in lines:
        by_order.setdefault(answer.line.order_number or "", []).append(answer)
    statuses = _order_statuses(findings)
    documents: list[Document] = []
    for order in _orders_in_order(findings, lines):
        documents.extend(_documents_of(order, statuses.get(order), by_order.get(order, []),
                                       findings, origin))
    _attach_notices(documents, findings)
    results: list[Document | Problem] = list(documents)
    results.extend(findings.problems)
    if not documents:
        results.extend(Problem(Severity.WARNING, ProblemCode(n.code), n.detail, segment=n.segment)
                       for _, n in findings.notices)
    return results


def _orders_in_order(findings: Findings, lines: list[LineAnswer]) -> list[str]:
    seen: dict[tuple[int, str], None] = {}
    for answer in lines:
        seen[(answer.place.number, answer.line.order_number or "")] = None
    for statement in findings.orders:
        seen[(statement.place.number, statement.order_number)] = None
    ordered = [order for _, order in sorted(seen)]
    return list(dict.fromkeys(order for order in ordered if order))


def _order_statuses(findings: Findings) -> dict[str, DocumentStatus]:
    """The one status each order is given as a whole; contradicting ones are refused."""
    said: dict[str, list[OrderAnswer]] = {}
    for statement in findings.orders:
        said.setdefault(statement.order_number, []).append(statement)
    statuses = {}
    for order, statements in said.items():
        kinds = {s.status for s in statements}
        if len(kinds) == 1:
            statuses[order] = kinds.pop()
            continue
        places = " and ".join(s.place.label for s in statements)
        findings.problems.append(Problem(
            Severity.ERROR, ProblemCode.CONFLICTING_VALUES,
            f"order {order} is both accepted and rejected as a whole ({places}); neither is "
            "read", segment=statements[0].place.number))
    return statuses


def _documents_of(order: str, status: DocumentStatus | None, answers: list[LineAnswer],
                  findings: Findings, origin: Origin) -> list[Document]:
    if status is DocumentStatus.REJECTED:
        accepted = [a for a in answers if a.line.status is not LineStatus.REJECTED]
        if accepted:
            findings.problems.append(Problem(
                Severity.ERROR, ProblemCode.CONFLICTING_VALUES,
                f"order {order} is rejected as a whole, yet {accepted[0].place.label} answers "
                f"line {accepted[0].line.order_line_no or '?'} without rejecting it; the order "
                "is not read", segment=accepted[0].place.number))
            return []
        return [_document(order, DocumentStatus.REJECTED, [], origin)]
    documents = []
    if status is DocumentStatus.ACCEPTED:
        documents.append(_document(order, DocumentStatus.ACCEPTED, [], origin))
    if answers:
        documents.append(_document(order, _status_of_lines(answers),
                                   [a.line for a in answers], origin))
    return documents


def _status_of_lines(answers: list[LineAnswer]) -> DocumentStatus | None:
    """Accepted when every line says so, changed when any line differs. Never rejected: a
    rejection of the whole order is only read from words about the whole order."""
    statuses = {a.line.status for a in answers}
    if statuses == {LineStatus.ACCEPTED}:
        return DocumentStatus.ACCEPTED
    if statuses & {LineStatus.CHANGED, LineStatus.REJECTED}:
        return DocumentStatus.CHANGED
    return None


def _document(order: str, status: DocumentStatus | None, lines: list[Line],
              origin: Origin) -> Document:
    for number, line in enumerate(lines, 1):
        line.line_no = str(number)
    currencies = {line.currency for line in lines}
    return Document(
        kind=DocumentKind.ORDER_RESPONSE,
        source_format=origin.source_format,
        message_type=origin.message_type,
        status=status,
        order_numbers=[order],
        currency=currencies.pop() if len(currencies) == 1 else None,
        parties=list(origin.parties),
        lines=lines,
        file=origin.file,
    )


def _settle_repeats(findings: Findings, schedules: bool) -> list[LineAnswer]:
    """A line stated twice the same way counts once; stated twice differently, it is a
    schedule in a sheet and a contradiction in an email (both statements refused)."""
    kept: list[LineAnswer] = []
    by_key: dict[tuple[str, ...], list[LineAnswer]] = {}
    for answer in findings.lines:
        same = by_key.setdefault(_line_key(answer.line), [])
        if any(_same_answer(answer.line, other.line) for other in same):
            findings.note(answer.place, ProblemCode.SKIPPED_ROW,
                          f"repeats what {same[0].place.label} says; counted once",
                          answer.line.order_number)
            continue
        same.append(answer)
        kept.append(answer)
    if schedules:
        return kept
    refused: set[int] = set()
    for same in by_key.values():
        if len(same) > 1:
            refused.update(id(a) for a in same)
            places = " and ".join(a.place.label for a in same)
            line = same[0].line
            findings.problems.append(Problem(
                Severity.ERROR, ProblemCode.CONFLICTING_VALUES,
                f"order {line.order_number} line {line.order_line_no or '?'} is answered "
                f"differently in {places}; none of them is read", segment=same[0].place.number))
    return [a for a in kept if id(a) not in refused]


def _line_key(line: Line) -> tuple[str, ...]:
    number = (line.order_line_no or "").lstrip("0") or line.order_line_no or ""
    item = line.item
    return (line.order_number or "", number, item.gtin or "", item.buyer_part or "",
            item.supplier_part or "", *(i.id for i in item.ids))


def _same_answer(first: Line, second: Line) -> bool:
    one, other = line_to_json(first), line_to_json(second)
    one.pop("line_no")
    other.pop("line_no")
    return one == other


def _attach_notices(documents: list[Document], findings: Findings) -> None:
    """A warning about one order travels with that order's documents; a warning about the
    source as a whole with the first document."""
    for order, notice in findings.notices:
        targets = [d for d in documents if order is not None and order in d.order_numbers]
        for document in (targets[-1:] or documents[:1]):
            document.warnings.append(notice)
