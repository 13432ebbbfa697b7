"""The syntax-level model of X12: separators and segments (ASC X12.6, section 3).

Element positions follow the standard's own numbering: `BAK03` is `segment.element(3)`, so a
mapping reads the way an implementation guide is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.errors import ProblemCode, X12Error

# The ISA is the only fixed-length segment: 16 elements, the last (ISA16) one character.
ISA_ELEMENTS = 16
# ISA12 interchange control version numbers from which ISA11 is the repetition separator
# (X12 version 4 release 2, 00402); before it ISA11 was the standards identifier "U".
_REPETITION_FROM = "00402"


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters an interchange declares in its ISA header.

    `terminator` is one character; a newline terminator stands for CR, LF or CR LF alike.
    `repetition` is empty when the interchange has none (before 00402, or ISA11 alphanumeric).
    """

    element: str = "*"
    component: str = ">"
    repetition: str = ""
    terminator: str = "~"

    @classmethod
    def from_isa(cls, text: str) -> tuple[Separators, int]:
        """The separators of the ISA at the start of `text`, and the length of the ISA up to
        and including its terminator. Raises `X12Error` when the ISA cannot be used."""
        if not text.startswith("ISA") or len(text) < 4:
            raise X12Error(ProblemCode.NOT_X12, "an X12 interchange must start with ISA")
        element = text[3]
        if element.isalnum() or element.isspace():
            raise X12Error(ProblemCode.BAD_SERVICE_STRING,
                           f"ISA element separator {element!r} is a letter, digit or space")
        position, found = 3, 0
        while found < ISA_ELEMENTS:
            position = text.find(element, position + 1) if found else position
            if position < 0:
                raise X12Error(ProblemCode.BAD_SERVICE_STRING,
                               f"the ISA has {found} elements, 16 are needed")
            found += 1
        # `position` is the separator before ISA16: ISA16 and the terminator follow it.
        if len(text) < position + 3:
            raise X12Error(ProblemCode.BAD_SERVICE_STRING,
                           "the ISA ends before its component separator and terminator")
        component, terminator = text[position + 1], text[position + 2]
        if terminator == "\r" or terminator == "\n":
            terminator = "\n"
        fields = text[4:position].split(element)
        repetition = fields[10] if len(fields) > 11 else ""
        version = fields[11] if len(fields) > 11 else ""
        if version < _REPETITION_FROM or len(repetition) != 1 or repetition.isalnum() \
                or repetition in (element, component, terminator, " "):
            repetition = ""
        used = {element, component, terminator}
        if len(used) != 3 or component.isalnum() or terminator.isalnum() or component == " ":
            raise X12Error(ProblemCode.BAD_SERVICE_STRING,
                           f"ISA separators element {element!r}, component {component!r} and "
                           f"terminator {terminator!r} are not distinct non-alphanumeric "
                           "characters: the interchange cannot be split into segments")
        return cls(element, component, repetition, terminator), position + 3


class X12Segment:
    """One segment: its tag, its elements (as text), its position in the file (from 1) and
    its size in characters as read (what a transaction set's character cap counts)."""

    __slots__ = ("elements", "number", "separators", "size", "tag")

    def __init__(self, tag: str, elements: list[str], number: int,
                 separators: Separators, size: int = 0) -> None:
        self.tag = tag
        self.elements = elements
        self.number = number
        self.separators = separators
        self.size = size

    def __repr__(self) -> str:
        return f"X12Segment({self.tag!r}, {self.elements!r}, number={self.number})"

    def element(self, position: int) -> str:
        """Element `position` counted as the standard does (01 is the first after the tag),
        first repetition only, stripped of padding; empty when absent."""
        if position < 1:
            return ""
        try:
            value = self.elements[position - 1]
        except IndexError:
            return ""
        repetition = self.separators.repetition
        if repetition and repetition in value:
            value = value.split(repetition, 1)[0]
        # Padding is rare outside the ISA: strip only when there is some.
        return value.strip() if value[-1:] == " " or value[:1] == " " else value

    def values(self, count: int) -> list[str]:
        """Elements 01 to `count` as `element` reads each (empty when absent), in one call:
        for the segments a mapping reads most of (PO1, ACK, SN1, LIN)."""
        found = self.elements[:count]
        if len(found) < count:
            found += [""] * (count - len(found))
        repetition = self.separators.repetition
        if repetition:
            return [_clean(value, repetition) for value in found]
        # No repetition separator (before 00402, the usual case): padding is all to strip.
        return [value.strip() if value[-1:] == " " or value[:1] == " " else value
                for value in found]

    def component(self, position: int, sub: int) -> str:
        """Component `sub` (from 1) of the composite element at `position`."""
        parts = self.element(position).split(self.separators.component)
        return parts[sub - 1].strip() if sub <= len(parts) else ""

    def pairs(self, first: int) -> list[tuple[str, str]]:
        """Qualifier/value pairs from element `first` on (PO106/PO107 ..., LIN02/LIN03 ...),
        the pairs with a value only."""
        elements = self.elements
        repetition = self.separators.repetition
        return [(_clean(elements[position - 1], repetition), _clean(elements[position],
                                                                     repetition))
                for position in range(first, len(elements), 2) if elements[position].strip()]


def _clean(value: str, repetition: str) -> str:
    """An element's first repetition, without padding."""
    if repetition and repetition in value:
        value = value.split(repetition, 1)[0]
    return value.strip() if value[-1:] == " " or value[:1] == " " else value
