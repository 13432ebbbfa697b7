"""HTML mail bodies as readable text and as tables, with lxml.

Parsing is safe for untrusted input: lxml's HTML parser is used with `no_network=True`, it loads
no DTD and expands no entity but HTML's own named ones, comments and processing instructions are
dropped, and the tree is walked without recursion, so a deeply nested body cannot exhaust the
stack (libxml2 caps HTML nesting itself).

Text follows what a mail reader shows: block elements and `<br>` end lines, paragraphs and
headings stand apart by a blank line, list items start with "- ", table cells are separated by
a tab, white space outside `<pre>` collapses, scripts and styles vanish. A `<blockquote>` (the
quoted original of a reply in most mail clients) is kept recognisable the way plain-text mail
quotes it: each of its lines starts with "> " (RFC 3676 section 4.5), once per level.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lxml_html

from parsers.mime.errors import HtmlError
from parsers.sheets.model import CellValue, Row, Table
from parsers.sheets.workbook import trim_cells

_DROPPED = frozenset({"script", "style", "head", "template", "noscript", "object", "iframe"})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS = _PARAGRAPHS | frozenset({
    "div", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr",
    "caption", "pre", "hr", "address", "article", "aside", "section", "header", "footer", "nav",
    "main", "figure", "figcaption", "form", "fieldset", "center", "body", "html"})
_CELLS = frozenset({"td", "th"})
_SPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# HTML's limits on spans (WHATWG HTML, "processing model" of tables): larger values are clamped.
_MAX_COLSPAN = 1000
_MAX_ROWSPAN = 65534


@dataclass
class _Lines:
    """Builds text line by line; `depth` is the blockquote level of the line being built and
    `blank_depth` the level of a blank line owed before the next one (None: none owed)."""

    lines: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    depth: int = 0
    blank_depth: int | None = None
    line_is_pre: bool = False

    def add(self, text: str, pre: bool = False) -> None:
        if not pre:
            self.current.append(_SPACE.sub(" ", text))
            return
        if not "".join(self.current).strip():
            self.line_is_pre = True
        first, *rest = text.split("\n")
        self.current.append(first)
        for line in rest:
            self.end_line(keep_empty=True)
            self.line_is_pre = True
            self.current.append(line)

    def end_line(self, keep_empty: bool = False) -> None:
        text = "".join(self.current)
        text = text.rstrip() if self.line_is_pre else text.strip(" ")
        self.current = []
        self.line_is_pre = False
        if not text.strip() and not keep_empty:
            return
        if self.blank_depth is not None and self.lines:
            self.lines.append(("> " * self.blank_depth).rstrip())
        self.blank_depth = None
        self.lines.append(("> " * self.depth + text).rstrip())

    def blank_line(self, depth: int | None = None) -> None:
        self.end_line()
        depth = self.depth if depth is None else depth
        self.blank_depth = depth if self.blank_depth is None else min(self.blank_depth, depth)

    def line_break(self) -> None:
        if "".join(self.current).strip():
            self.end_line()
        else:
            self.current = []
            self.blank_line()

    def quote(self, step: int) -> None:
        new_depth = max(0, self.depth + step)
        self.blank_line(min(self.depth, new_depth))
        self.depth = new_depth

    def text(self) -> str:
        self.end_line()
        return "\n".join(self.lines)


def html_to_text(html: str) -> str:
    """Readable text of an HTML document or fragment (see the module docstring)."""
    root = _parse(html)
    return "" if root is None else element_text(root)


def element_text(root: etree._Element) -> str:
    """Readable text of one element and its content."""
    out = _Lines()
    walker = etree.iterwalk(root, events=("start", "end"))
    pre_depth = 0
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _DROPPED:
                walker.skip_subtree()
                continue
            pre_depth += tag == "pre"
            _open(tag, element, out, pre_depth > 0)
        else:
            if tag not in _DROPPED:
                pre_depth -= tag == "pre"
                _close(tag, out)
            if element is not root and element.tail:
                out.add(element.tail, pre_depth > 0)
    return out.text()


def _open(tag: str, element: etree._Element, out: _Lines, pre: bool) -> None:
    if tag == "blockquote":
        out.quote(+1)
    elif tag in _PARAGRAPHS:
        out.blank_line()
    elif tag in _BLOCKS:
        out.end_line()
    elif tag == "br":
        out.line_break()
    elif tag in _CELLS and out.current:
        out.current.append("\t")
    if tag == "li":
        out.add("- ")
    if element.text:
        out.add(element.text, pre)


def _close(tag: str, out: _Lines) -> None:
    if tag == "blockquote":
        out.quote(-1)
    elif tag in _PARAGRAPHS:
        out.blank_line()
    elif tag in _BLOCKS:
        out.end_line()


def html_tables(html: str) -> tuple[Table, ...]:
    """Every `<table>` of an HTML document as a `Table` named "table N" (from 1, document
    order, nested tables included and counted after their parent).

    Rows are the table's own `<tr>` (directly or in thead/tbody/tfoot), numbered from 1; a cell's
    value is its text as `html_to_text` renders it, None when empty. A cell spanning several
    columns or rows (colspan, rowspan) repeats its value over the cells it covers, as merged
    cells do in spreadsheets, so that every row reads on its own."""
    root = _parse(html)
    if root is None:
        return ()
    return tuple(_table(element, number)
                 for number, element in enumerate(root.iter("table"), 1))


def _table(element: etree._Element, number: int) -> Table:
    rows: list[Row] = []
    carried: dict[int, tuple[int, CellValue]] = {}
    for row_number, tr in enumerate(_own_rows(element), 1):
        cells = _row_cells(tr, carried)
        rows.append(Row(row_number, trim_cells(cells)))
    while rows and not rows[-1].cells:
        rows.pop()
    return Table(name=f"table {number}", source="html", rows=tuple(rows))


def _own_rows(table: etree._Element) -> Iterator[etree._Element]:
    for child in table:
        if child.tag == "tr":
            yield child
        elif child.tag in ("thead", "tbody", "tfoot"):
            yield from (row for row in child if row.tag == "tr")


def _row_cells(tr: etree._Element, carried: dict[int, tuple[int, CellValue]]) -> list[CellValue]:
    """One row's values, with cells of earlier rows' rowspans placed where they cover it."""
    cells: list[CellValue] = []
    for cell in (child for child in tr if child.tag in _CELLS):
        _fill_carried(cells, carried)
        value: CellValue = element_text(cell).strip() or None
        colspan = _span(cell.get("colspan"), _MAX_COLSPAN)
        rowspan = _span(cell.get("rowspan"), _MAX_ROWSPAN)
        for _ in range(colspan):
            if rowspan > 1:
                carried[len(cells)] = (rowspan - 1, value)
            cells.append(value)
    _fill_carried(cells, carried, to_end=True)
    return cells


def _fill_carried(cells: list[CellValue], carried: dict[int, tuple[int, CellValue]],
                  to_end: bool = False) -> None:
    while len(cells) in carried or (to_end and any(column >= len(cells) for column in carried)):
        column = len(cells)
        if column not in carried:
            cells.append(None)
            continue
        left, value = carried.pop(column)
        if left > 1:
            carried[column] = (left - 1, value)
        cells.append(value)


def _span(value: str | None, maximum: int) -> int:
    try:
        span = int((value or "1").strip())
    except ValueError:
        return 1
    return min(max(span, 1), maximum)


def _parse(html: str) -> etree._Element | None:
    """The document element, or None for a document with no element at all."""
    text = _CONTROL.sub("", _XML_DECLARATION.sub("", html, count=1))
    if not text.strip():
        return None
    parser = lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
    try:
        return lxml_html.document_fromstring(text, parser=parser)
    except etree.ParserError:
        return None  # "Document is empty": only comments or processing instructions
    except (etree.LxmlError, ValueError) as exc:
        raise HtmlError(f"the HTML body cannot be parsed: {exc}") from exc
