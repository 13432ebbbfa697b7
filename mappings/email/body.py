"""A supplier's reply in words -> order responses.

Only the reply's own text counts (`quotes.split_answer`); in it, line by line:

1. a table typed as text (`|`-separated, or columns aligned with two or more spaces) whose
   first line names known columns is read like a sheet;
2. a run of `label: value` lines whose labels are known field names (`PO number:`,
   `Menge:`, `交货日期:`) is one block, read like a sheet row; a label seen again starts the
   next block; a block with only an order number (and perhaps a status) sets the order the
   following lines answer (and answers it as a whole);
3. any other line is a sentence (`statements.read_statement`): about a line, about a whole
   order, or naming an order the next lines answer.

HTML tables (given as `Table`s) are read like sheets, unless their text occurs only in the
quoted original. Statements that cannot be read with confidence are refused with the line of
the body they are on; a reply that answers nothing is one `NOTHING_READABLE` error, never an
acceptance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gateway.domain.documents import (
    Document,
    DocumentStatus,
    Item,
    Line,
    LineStatus,
    Party,
    SourceFormat,
)
from mappings.email.answers import (
    Findings,
    LineAnswer,
    OrderAnswer,
    Origin,
    Place,
    build_documents,
)
from mappings.email.columns import ColumnProfile, Header, find_header, header_of_row
from mappings.email.commitment import Doubt, commits_in_advance, is_heading
from mappings.email.quotes import Answer, split_answer
from mappings.email.sheets import TableReading, cell_text, read_row, read_table
from mappings.email.statements import Statement, order_numbers_in, read_statement
from mappings.email.text import LABELS, label_key, language_of, shorten
from mappings.email.values import (
    DateOrder,
    NumberStyle,
    find_status,
    style_evidence,
)
from mappings.email.vocabulary import PENDING, Field, Language
from parsers.errors import Problem, ProblemCode, Severity
from parsers.sheets.model import CellValue, Row, Table

EMAIL_MESSAGE_TYPE = "EMAIL"
_LANGUAGE_STYLE = {Language.GERMAN: NumberStyle.DECIMAL_COMMA,
                   Language.ENGLISH: NumberStyle.DECIMAL_POINT,
                   Language.CHINESE: NumberStyle.DECIMAL_POINT}
_KEY_VALUE = re.compile(r"^\s*[-*•]?\s*(?P<label>[^:=]{1,40}?)\s*[:=]\s*(?P<value>.*?)\s*$")
_ALIGNED = re.compile(r"\s{2,}")
_RULE = re.compile(r"^[\s|:+=_-]+$")
_QUOTE_MARKS = re.compile(r"^(?:\s*>)+\s?")
_ORDER_FIELDS = frozenset({Field.ORDER_NUMBER, Field.STATUS, Field.REMARK})
# A line statement ("PO 4500012345 line 10: 80 pcs confirmed, delivery 2026-12-05") is a few
# hundred characters; a line of the body longer than this is no statement a supplier typed.
# It is refused before the dozen patterns of a statement each scan it: one megabyte on one
# line would otherwise cost seconds (linear, but with a large constant).
MAX_STATEMENT_CHARS = 4096


@dataclass(frozen=True, slots=True)
class EmailHints:
    """What the pipeline knows besides the body: the subject (it may name the order), the
    sender's address (kept as the supplier party's name), and the supplier's profile: how it
    writes `05/12/2026` and `1.000`, and its column names for tables."""

    subject: str | None = None
    sender: str | None = None
    date_order: DateOrder | None = None
    number_style: NumberStyle | None = None
    profile: ColumnProfile | None = None


def map_email_body(text: str, tables: tuple[Table, ...] = (), *,
                   hints: EmailHints | None = None,
                   file: str | None = None) -> list[Document | Problem]:
    """The order responses a reply states, one per order number, then located problems."""
    hints = hints or EmailHints()
    answer = split_answer(text)
    reader = _BodyReader(answer, hints)
    html = [t for t in tables if find_header(t, hints.profile) and not reader.is_quoted(t)]
    # The HTML tables are also in the text (cells split by tabs): read them once, as tables.
    reader.read_text(frozenset(_header_cells(t) for t in html))
    for table in html:
        reader.read_html_table(table)
    reader.check_below_quote()
    parties = (Party("SU", None, None, hints.sender),) if hints.sender else ()
    results = build_documents(reader.findings, Origin(SourceFormat.EMAIL_TEXT,
                                                      EMAIL_MESSAGE_TYPE, file, parties))
    if not any(isinstance(r, Document) for r in results):
        results.append(Problem(Severity.ERROR, ProblemCode.NOTHING_READABLE,
                               _nothing_readable(answer)))
    return results


def _nothing_readable(answer: Answer) -> str:
    if not any(text.strip() for _, text in answer.lines):
        return ("the reply has no text of its own above the quoted original: no order line is "
                "answered")
    return ("the reply answers no order line and neither accepts nor rejects an order in words "
            "that can be read: no line with an order, a line and a quantity, date or status")


class _BodyReader:
    """One pass over the reply's own lines, with the order they currently answer."""

    def __init__(self, answer: Answer, hints: EmailHints) -> None:
        self.answer = answer
        self.hints = hints
        self.findings = Findings()
        own = "\n".join(text for _, text in answer.lines)
        language = language_of(own)
        self.style = hints.number_style or style_evidence(own) or (
            _LANGUAGE_STYLE.get(language) if language else None)
        subject_orders = set(order_numbers_in(hints.subject or ""))
        self.order = subject_orders.pop() if len(subject_orders) == 1 else None
        self.orders_named: list[str] = [self.order] if self.order else []
        self.block: list[tuple[int, Field, str, str]] = []
        self._line_keys: tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]] | None \
            = None
        # "we confirm as follows:" commits the lines listed below it, until another sentence.
        self.heading = False
        # "please see our confirmation below": the HTML tables of the reply are its answer.
        self.confirms_tables = False

    # -- the reply's own text ------------------------------------------------------------

    def read_text(self, html_headers: frozenset[tuple[str, ...]]) -> None:
        lines = self.answer.lines
        index = 0
        while index < len(lines):
            number, text = lines[index]
            table = _text_table(lines, index, self.hints.profile)
            if not text.strip() or table is not None:
                self.flush_block()
            if table is not None:
                if _header_cells(table[0]) not in html_headers:
                    self.read_text_table(*table)
                index += len(table[0].rows)
                continue
            if text.strip():
                pair = self.key_value(text)
                if pair is None:
                    self.flush_block()
                    self.sentence(number, text)
                else:
                    if any(f is pair[0] for _, f, _, _ in self.block):
                        self.flush_block()
                    self.block.append((number, *pair))
            index += 1
        self.flush_block()

    def key_value(self, text: str) -> tuple[Field, str, str] | None:
        match = _KEY_VALUE.match(text)
        if match is None:
            return None
        key = label_key(match.group("label"))
        names = {label_key(n): f for n, f in (self.hints.profile or ColumnProfile()).names.items()}
        known = names.get(key) or (LABELS[key][0] if key in LABELS else None)
        return (known, match.group("label"), match.group("value")) if known else None

    def set_order(self, number: str) -> None:
        self.order = number
        if number not in self.orders_named:
            self.orders_named.append(number)

    # -- key/value blocks ----------------------------------------------------------------

    def flush_block(self) -> None:
        block, self.block = self.block, []
        if not block:
            return
        fields = {f: value for _, f, _, value in block}
        first, last = block[0][0], block[-1][0]
        place = Place(f"line {first} of the email body" if first == last
                      else f"lines {first}-{last} of the email body", first)
        order = fields.get(Field.ORDER_NUMBER, "").strip()
        if order:
            self.set_order(order)
        if not fields.keys() - _ORDER_FIELDS:
            self.order_block(order or self.order or "", fields, place)
            return
        header = Header(None, {f: i for i, (_, f, _, _) in enumerate(block)}, None, None,
                        {i: f"{label!r} on line {n}" for i, (n, _, label, _) in enumerate(block)},
                        by_letter=False)
        row = Row(first, tuple(value for _, _, _, value in block))
        reading = TableReading(self.hints.date_order, self.style, self.order)
        read = len(self.findings.lines)
        read_row(row, header, reading, place, self.findings)
        self.commit_under_heading(read)

    def commit_under_heading(self, first: int) -> None:
        """Lines read from `first` on with no status of their own take the heading's."""
        if not self.heading:
            return
        for answer in self.findings.lines[first:]:
            if answer.line.status is None:
                answer.line.status = LineStatus.ACCEPTED

    def order_block(self, order: str, fields: dict[Field, str], place: Place) -> None:
        """`PO number: 4500012345` alone sets the order; with `Status: confirmed` it answers
        the whole order."""
        stated = " ".join(fields.get(f, "") for f in (Field.STATUS, Field.REMARK))
        status = find_status(stated) if stated.strip() else None
        if status is LineStatus.ACCEPTED and order:
            self.findings.orders.append(OrderAnswer(order, DocumentStatus.ACCEPTED, place))
        elif status is LineStatus.REJECTED and order:
            self.findings.orders.append(OrderAnswer(order, DocumentStatus.REJECTED, place))
        elif stated.strip():
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"status {shorten(stated)!r} is not read as an answer to "
                                 f"{'order ' + order if order else 'an order'}")

    # -- sentences -----------------------------------------------------------------------

    def sentence(self, number: int, text: str) -> None:
        place = Place(f"line {number} of the email body", number)
        if len(text) > MAX_STATEMENT_CHARS:
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"the line is {len(text):,} characters long, more than a line "
                                 f"statement's {MAX_STATEMENT_CHARS:,}; it is not read")
            return
        statement = read_statement(text, self.style, self.hints.date_order,
                                   style_known=self.hints.number_style is not None)
        if len(statement.orders) == 1:
            self.set_order(statement.orders[0])
        if not statement.lines:
            self.heading = is_heading(text)
            self.confirms_tables = self.confirms_tables or commits_in_advance(text)
        if statement.is_request:
            if statement.lines and statement.says_something:
                self.findings.note(place, ProblemCode.UNREADABLE_TEXT,
                                   f"{shorten(text)!r} asks rather than answers; the line is "
                                   "not read", self.order)
            return
        if len(statement.orders) > 1 and (statement.lines or statement.says_something
                                          or statement.order_status):
            self.findings.refuse(place, ProblemCode.AMBIGUOUS_VALUE,
                                 f"{shorten(text)!r} names several orders "
                                 f"({', '.join(statement.orders)}); it is not read")
            return
        if statement.lines:
            self.line_statement(place, text, statement)
        else:
            self.order_statement(place, text, statement)

    def order_statement(self, place: Place, text: str, statement: Statement) -> None:
        order = statement.orders[0] if statement.orders else self.order
        quoted = repr(shorten(text))
        if self.heading:
            return
        if statement.order_status is not None and statement.conditional:
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"{quoted} makes its answer depend on a condition; it is an "
                                 "offer, not an answer, and is not read")
        elif statement.order_status is DocumentStatus.ACCEPTED and (
                not statement.judgement.commits):
            # "We confirm your order except line 30", "... will confirm your order next week".
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"{quoted} {statement.judgement.reason()}; the order is not "
                                 "read as accepted")
        elif statement.order_status is not None:
            if order is None:
                self.findings.refuse(place, ProblemCode.MISSING_VALUE,
                                     f"{quoted} answers an order but names no order number, "
                                     "and no order is named above it or in the subject")
            else:
                self.findings.orders.append(OrderAnswer(order, statement.order_status, place))
        elif statement.negated_acceptance:
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"{quoted} is neither an acceptance nor a rejection; not read")
        elif statement.quantity is not None or statement.ordered_quantity is not None:
            named = f"names order {order} but no line" if statement.orders else (
                "names no order line")
            self.findings.refuse(place, ProblemCode.MISSING_VALUE,
                                 f"{quoted} gives a quantity but {named}; it is not read")
        elif isinstance(statement.status, LineStatus):
            self.findings.note(place, ProblemCode.UNREADABLE_TEXT,
                               f"{quoted} sounds like an answer but names no order line and "
                               "is not a known acceptance or rejection of an order; not read",
                               order)

    def line_statement(self, place: Place, text: str, statement: Statement) -> None:
        order = statement.orders[0] if statement.orders else self.order
        quoted = repr(shorten(text))
        if statement.unreadable:
            reasons = "; ".join(u.reason for u in statement.unreadable)
            self.findings.refuse(place, statement.unreadable[0].code,
                                 f"{quoted}: {reasons}; the line is not read")
        elif not statement.says_something:
            return
        elif not statement.judgement.commits and not (
                statement.status is LineStatus.REJECTED
                and statement.judgement.doubt is Doubt.NEGATION):
            # A rejection may say so with a negation ("we can no longer supply it"); anything
            # else that a negation, question, hedge, range ... undoes is no answer.
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"{quoted} {statement.judgement.reason()}; the line is not "
                                 "read")
        elif statement.conditional:
            self.findings.refuse(place, ProblemCode.UNREADABLE_TEXT,
                                 f"{quoted} makes its answer depend on a condition; it is an "
                                 "offer, not an answer, and the line is not read")
        elif statement.status is LineStatus.REJECTED and (
                statement.delivery_date is not None
                or (statement.quantity is not None and statement.quantity != 0)):
            self.findings.refuse(place, ProblemCode.CONFLICTING_VALUES,
                                 f"{quoted} says the line cannot be delivered yet gives a "
                                 "quantity or a date (a delay or a part delivery?); the line "
                                 "is not read")
        elif order is None:
            self.findings.refuse(place, ProblemCode.MISSING_VALUE,
                                 f"{quoted} names line {', '.join(statement.lines)} but no "
                                 "order number, and no order is named above it or in the "
                                 "subject; it is not read")
        elif statement.status == PENDING:
            self.findings.note(place, ProblemCode.SKIPPED_ROW,
                               f"{quoted} says the line is not answered yet; not read", order)
        elif len(statement.lines) > 1 and statement.says_something and (
                statement.quantity is not None or statement.price is not None):
            self.findings.refuse(place, ProblemCode.AMBIGUOUS_VALUE,
                                 f"{quoted} gives one quantity or price for lines "
                                 f"{', '.join(statement.lines)}; it is not read")
        else:
            for line_no in statement.lines:
                self.findings.lines.append(LineAnswer(
                    _line(statement, order, line_no, self.heading), place))

    # -- tables --------------------------------------------------------------------------

    def read_text_table(self, table: Table, header: Header) -> None:
        reading = TableReading.of(table, header, self.hints.profile, self.order, self.style)
        read = len(self.findings.lines)
        read_table(table, header, self.findings, _with_date_order(reading, self.hints))
        self.commit_under_heading(read)

    def read_html_table(self, table: Table) -> None:
        header = find_header(table, self.hints.profile)
        if header is None:
            return
        default = self.orders_named[0] if len(self.orders_named) == 1 else None
        reading = TableReading.of(table, header, self.hints.profile, default, self.style)
        read = len(self.findings.lines)
        read_table(table, header, self.findings, _with_date_order(reading, self.hints))
        self.heading = self.confirms_tables
        self.commit_under_heading(read)

    def is_quoted(self, table: Table) -> bool:
        """Whether the table's data rows stand, as text, in the quoted original and none in
        the reply (the header row alone proves nothing: an answer repeats the PO's columns)."""
        rows = {_row_key(row.cells) for row in table.rows[1:]} - {()}
        own, quoted = self.line_keys()
        return bool(rows & quoted) and not rows & own

    def line_keys(self) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
        """The reply's own lines and the quoted ones as table cells, worked out once (per
        table, they cost the square of the body's length)."""
        if self._line_keys is None:
            self._line_keys = (frozenset(_line_key(text) for _, text in self.answer.lines),
                               frozenset(_line_key(text) for _, text in self.answer.quoted))
        return self._line_keys

    def check_below_quote(self) -> None:
        """An answer typed between quoted lines is not read; say so when there is one."""
        quoted = self.answer.quoted
        if not quoted or not quoted[0][1].lstrip().startswith(">"):
            return
        for number, text in quoted:
            if not text.strip() or text.lstrip().startswith(">"):
                continue
            statement = read_statement(text, self.style, self.hints.date_order)
            if statement.lines and statement.says_something:
                self.findings.note(
                    Place(f"line {number} of the email body", number),
                    ProblemCode.UNREADABLE_TEXT,
                    f"{shorten(text)!r} stands between quoted lines of the original; only the "
                    "text above the quote is read, so it is not", self.order)
            if not statement.lines and re.match(r"^\s*(?:on|am|在|from|von)\b", text, re.I):
                return


def _with_date_order(reading: TableReading, hints: EmailHints) -> TableReading:
    if reading.date_order is not None or hints.date_order is None:
        return reading
    return TableReading(hints.date_order, reading.number_style, reading.default_order)


def _line(statement: Statement, order: str, line_no: str, heading: bool) -> Line:
    """The line a statement answers. Its status is the one it states; else a change when it
    sets its own value against the one ordered ("150 instead of 200"), an acceptance under a
    heading that commits, and otherwise none: values alone are not a confirmation, nor is the
    order restated ("ordered 100 pcs, requested 2026-12-01"); reconciliation says so."""
    status = statement.status if isinstance(statement.status, LineStatus) else None
    counters = ((statement.quantity is not None and statement.ordered_quantity is not None)
                or (statement.delivery_date is not None and statement.requested_date is not None))
    if status is None and counters:
        status = LineStatus.CHANGED
    elif status is None and heading:
        status = LineStatus.ACCEPTED
    return Line(order_number=order, order_line_no=line_no, item=Item(), status=status,
                quantity=statement.quantity, unit=statement.unit,
                ordered_quantity=statement.ordered_quantity,
                delivery_date=statement.delivery_date,
                requested_delivery_date=statement.requested_date,
                price=statement.price, currency=statement.currency)


# -- tables typed as text ----------------------------------------------------------------------


def _row_key(cells: tuple[CellValue, ...]) -> tuple[str, ...]:
    return tuple(t for t in (cell_text(c) for c in cells) if t)


def _line_key(text: str) -> tuple[str, ...]:
    """A line of text as the cells an HTML table rendered into it would be."""
    text = _QUOTE_MARKS.sub("", text)
    return tuple(c for c in _cells(text, text.count("|") >= 2) if c)


def _header_cells(table: Table) -> tuple[str, ...]:
    """The first row's text cells, as a text table and an HTML table of it both hold them."""
    first = table.rows[0].cells if table.rows else ()
    return tuple(c.strip() for c in first if isinstance(c, str) and c.strip())


def _cells(text: str, piped: bool) -> list[str]:
    """Cells split by `|`, by tabs (one tab per cell, as HTML tables are rendered as text),
    or by runs of two or more spaces."""
    if piped:
        return [c.strip() for c in text.strip().strip("|").split("|")]
    if "\t" in text:
        return [c.strip() for c in text.strip(" \n").split("\t")]
    return [c.strip() for c in _ALIGNED.split(text.strip())]


def _text_table(lines: tuple[tuple[int, str], ...], index: int,
                profile: ColumnProfile | None) -> tuple[Table, Header] | None:
    """The table whose header is at `index`, with the rows below it, or None."""
    number, text = lines[index]
    piped = text.count("|") >= 2
    cells = _cells(text, piped)
    if len(cells) < 2:
        return None
    header = header_of_row(Row(number, tuple(cells)), profile)
    if header is None:
        return None
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", text)]
    rows = [Row(number, tuple(cells))]
    for row_number, row_text in lines[index + 1:]:
        if _RULE.match(row_text) and row_text.strip():
            rows.append(Row(row_number, ()))
            continue
        row_cells = _cells(row_text, piped)
        if not row_text.strip() or len(row_cells) < 2:
            break
        if not piped and len(row_cells) != len(cells):
            row_cells = _slice(row_text, starts)
        rows.append(Row(row_number, tuple(row_cells)))
    table = Table("text table", "text", tuple(rows))
    names = {index: f"column {name!r}" for index, name in header.names.items()}
    return table, replace(header, names=names, by_letter=False)


def _slice(text: str, starts: list[int]) -> list[str]:
    """Cells of an aligned row by the header's column positions (a blank cell keeps its
    place)."""
    bounds = [*starts[1:], len(text)]
    return [text[start:end].strip() for start, end in zip(starts, bounds, strict=True)]
