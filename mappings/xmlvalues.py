"""Typed readers of XML values shared by the UBL and cXML mappings: text, dates, decimals, and
notices located by the element's line (`Notice.segment` holds the line, `tag` its name)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from gateway.domain.documents import Notice
from mappings.edifact.readers import capped, plain_decimal
from parsers.errors import MAX_PROBLEMS, ProblemCode
from parsers.xml import line_of, local_name

_DATE = re.compile(r"\s*(-?\d{4,})-(\d\d)-(\d\d)")


class XmlNotes:
    """The notices collected while mapping one XML document; past `MAX_PROBLEMS` counted,
    not listed."""

    __slots__ = ("items", "unlisted")

    def __init__(self) -> None:
        self.items: list[Notice] = []
        self.unlisted = 0

    def listed(self) -> list[Notice]:
        """The notices, and one counting those past the cap."""
        return capped(self.items, self.unlisted)

    def add(self, element: etree._Element | None, code: ProblemCode, detail: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.unlisted += 1
            return
        self.items.append(Notice(code.value, detail,
                                 line_of(element) if element is not None else None,
                                 local_name(element) if element is not None else None))

    def add_declaration(self, code: ProblemCode, detail: str) -> None:
        """A notice about the XML declaration, which stands on line 1 (XML 1.0, 2.8)."""
        self.items.append(Notice(code.value, detail, 1, None))


def text_of(element: etree._Element | None) -> str:
    """The element's text, stripped; empty for a missing element."""
    if element is None:
        return ""
    # Each `.text` builds a new string from libxml2's node: read it once.
    text = element.text
    return text.strip() if text else ""


def read_date(text: str, element: etree._Element | None, notes: XmlNotes,
              what: str) -> date | None:
    """An ISO 8601 date, or the date part of a date-time as the sender wrote it (its own
    day, whatever its zone: "2000-10-14T18:39:09-08:00" is 14 October)."""
    if not text:
        return None
    try:
        if (len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdecimal()
                and text[5:7].isdecimal() and text[8:10].isdecimal()):
            # The common shape, YYYY-MM-DD (and a time after it), read without the pattern:
            # the same digits `_DATE` would take (`\d` is a decimal digit, as `isdecimal`).
            return date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        match = _DATE.match(text)
        if match is not None:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        pass
    notes.add(element, ProblemCode.INVALID_DATE, f"{what} {text[:40]!r} is not a date (YYYY-MM-DD)")
    return None


def read_decimal(text: str, element: etree._Element | None, notes: XmlNotes,
                 what: str) -> Decimal | None:
    """An xsd:decimal (XML Schema 1.1 Part 2, 3.3.3): a sign, ASCII digits, one decimal point,
    white space around collapsed; at most `MAX_DIGITS` digits. `Decimal()` alone would also
    take an exponent, NaN, `1_000` and other scripts' digits."""
    text = text.strip()
    if not text:
        return None
    value = plain_decimal(text)
    if isinstance(value, str):
        notes.add(element, ProblemCode.INVALID_NUMBER, f"{what} {value}")
        return None
    return value


# Local names by qualified tag ("{urn:...}Quantity" -> "Quantity"), remembered so that each
# child costs one dictionary look-up instead of a search and a slice. A document could bring
# any number of namespaces: the table stops growing at `_LOCAL_NAMES_MAX` entries.
_LOCAL_NAMES: dict[object, str] = {}
_LOCAL_NAMES_MAX = 4096


def _local_name_of(tag: object) -> str:
    """The local name of a child's tag; empty for a comment or processing instruction (whose
    tag is a function, not a string)."""
    if not isinstance(tag, str):
        return ""
    local = tag[tag.rfind("}") + 1:]
    if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX:
        _LOCAL_NAMES[tag] = local
    return local


def local_name_of(tag: object) -> str:
    """The local name of a tag as lxml gives it; empty for a comment or processing
    instruction."""
    return _LOCAL_NAMES.get(tag) or _local_name_of(tag)


def children(element: etree._Element) -> dict[str, etree._Element]:
    """The first child of each local name: one pass over the children. Much cheaper than
    several `find` calls, which each compile and walk a path: every child read costs lxml a
    proxy object and its tag a new string, so each is read once."""
    found: dict[str, etree._Element] = {}
    names = _LOCAL_NAMES
    for child in element:
        tag = getattr(child, "tag")  # noqa: B009 (not always a string: parsers.xml.tag_of)
        local = names.get(tag) or _local_name_of(tag)
        if local and local not in found:
            found[local] = child
    return found


def descend(element: etree._Element | None, *names: str) -> etree._Element | None:
    """The first child of the first child ... named `names`, or None."""
    known = _LOCAL_NAMES
    for name in names:
        if element is None:
            return None
        parent, element = element, None
        for child in parent:
            tag = getattr(child, "tag")  # noqa: B009 (not always a string: parsers.xml.tag_of)
            if (known.get(tag) or _local_name_of(tag)) == name:
                element = child
                break
    return element
