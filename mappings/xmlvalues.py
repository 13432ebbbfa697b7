"""Typed readers of XML values shared by the UBL and cXML mappings: text, dates, decimals, and
notices located by the element's line (`Notice.segment` holds the line, `tag` its name)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from gateway.domain.documents import Notice
from parsers.errors import ProblemCode
from parsers.xml import line_of, local_name

_DATE = re.compile(r"\s*(-?\d{4,})-(\d\d)-(\d\d)")


class XmlNotes:
    """The notices collected while mapping one XML document."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Notice] = []

    def add(self, element: etree._Element | None, code: ProblemCode, detail: str) -> None:
        self.items.append(Notice(code.value, detail,
                                 line_of(element) if element is not None else None,
                                 local_name(element) if element is not None else None))


def text_of(element: etree._Element | None) -> str:
    """The element's text, stripped; empty for a missing element."""
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def read_date(text: str, element: etree._Element | None, notes: XmlNotes,
              what: str) -> date | None:
    """An ISO 8601 date, or the date part of a date-time as the sender wrote it (its own
    day, whatever its zone: "2000-10-14T18:39:09-08:00" is 14 October)."""
    if not text:
        return None
    match = _DATE.match(text)
    if match is not None:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    notes.add(element, ProblemCode.INVALID_DATE, f"{what} {text!r} is not a date (YYYY-MM-DD)")
    return None


def read_decimal(text: str, element: etree._Element | None, notes: XmlNotes,
                 what: str) -> Decimal | None:
    """An xsd:decimal: digits, a sign, one decimal point (no exponent, no thousands mark)."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or "e" in text.lower() or "," in text:
        notes.add(element, ProblemCode.INVALID_NUMBER, f"{what} {text!r} is not a number")
        return None
    return value


def children(element: etree._Element) -> dict[str, etree._Element]:
    """The first child of each local name: one pass over the children, in C for the most
    part. Much cheaper than several `find` calls, which each compile and walk a path."""
    found: dict[str, etree._Element] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            found.setdefault(tag[tag.rfind("}") + 1:], child)
    return found


def every(element: etree._Element, name: str) -> list[etree._Element]:
    """The children named `name` (local name), in order."""
    return [child for child in element if isinstance(child.tag, str)
            and child.tag[child.tag.rfind("}") + 1:] == name]


def descend(element: etree._Element | None, *names: str) -> etree._Element | None:
    """The first child of the first child ... named `names`, or None."""
    for name in names:
        if element is None:
            return None
        element = next((child for child in element if isinstance(child.tag, str)
                        and child.tag[child.tag.rfind("}") + 1:] == name), None)
    return element
