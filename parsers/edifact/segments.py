"""The syntax-level model: service characters and segments (ISO 9735-1, sections 4 and 7)."""

from __future__ import annotations

from dataclasses import dataclass

from parsers.errors import ProblemCode, ServiceStringError

# A data element is a simple value, a composite (list of components) or, in syntax version 4
# with a repetition separator, a tuple of repetitions of either.
Simple = str | list[str]
Element = str | list[str] | tuple[Simple, ...]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Service characters: defaults of ISO 9735 for UNOA/UNOB-level interchanges."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "
    terminator: str = "'"

    @classmethod
    def from_service_string(cls, advice: str) -> Delimiters:
        """Read the six characters after `UNA` (component, data, decimal, release,
        repetition/reserved, terminator). A space release character means "none"."""
        if len(advice) != 6:
            raise ServiceStringError(
                ProblemCode.BAD_SERVICE_STRING,
                f"UNA must be followed by 6 service characters, found {advice!r}",
            )
        component, data, decimal, release, repetition, terminator = (
            advice[0], advice[1], advice[2], advice[3], advice[4], advice[5])
        used = [c for c in (component, data, release, terminator) if c != " "]
        if len(set(used)) != len(used) or data == " " or terminator == " " or component == " ":
            raise ServiceStringError(
                ProblemCode.BAD_SERVICE_STRING,
                f"UNA service characters {advice!r} are not distinct: the interchange cannot "
                "be split into segments",
            )
        return cls(component, data, decimal, "" if release == " " else release,
                   repetition, terminator)

    def service_string(self) -> str:
        return "UNA" + "".join(
            (self.component, self.data, self.decimal, self.release or " ", self.repetition,
             self.terminator)
        )

    @property
    def repeats(self) -> bool:
        return self.repetition not in ("", " ")


class Segment:
    """One segment: its tag, its data elements and its position in the file (from 1)."""

    __slots__ = ("elements", "number", "tag")

    def __init__(self, tag: str, elements: list[Element], number: int = 0) -> None:
        self.tag = tag
        self.elements = elements
        self.number = number

    def __repr__(self) -> str:
        return f"Segment({self.tag!r}, {self.elements!r}, number={self.number})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.tag == other.tag and self.elements == other.elements

    __hash__ = None  # type: ignore[assignment]

    def element(self, index: int) -> Simple | None:
        """The data element at `index` (0 = the first after the tag), first repetition only."""
        elements = self.elements
        if index >= len(elements):
            return None
        value = elements[index]
        if isinstance(value, tuple):
            return value[0] if value else None
        return value

    def component(self, index: int, sub: int = 0) -> str:
        """Component `sub` of element `index` as a string; empty when absent."""
        elements = self.elements
        if index >= len(elements):
            return ""
        value = elements[index]
        if value.__class__ is str:
            return value if sub == 0 else ""
        if value.__class__ is tuple:
            value = value[0] if value else ""
            if isinstance(value, str):
                return value if sub == 0 else ""
        return value[sub] if sub < len(value) else ""  # type: ignore[return-value]

    def repetitions(self, index: int) -> tuple[Simple, ...]:
        """Every repetition of element `index` (syntax version 4); one for syntax 3."""
        if index >= len(self.elements):
            return ()
        value = self.elements[index]
        return value if isinstance(value, tuple) else (value,)
