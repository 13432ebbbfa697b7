"""The syntax-level model: service characters and segments (ISO 9735-1, sections 4 and 7)."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    repeats: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Whether a repetition separator is in force (syntax version 4); read per segment.
        object.__setattr__(self, "repeats", self.repetition not in ("", " "))


class Segment:
    """One segment: its tag, its data elements and its position in the file (from 1).

    The tokenizer hands most segments over unsplit (`elements` None, the text after the tag in
    `rest`): their elements are split on first use, so segments nobody reads cost no more than
    finding their terminator.
    """

    __slots__ = ("_delimiters", "_elements", "_rest", "number", "tag")

    def __init__(self, tag: str, elements: list[Element] | None, number: int = 0,
                 rest: str = "", delimiters: Delimiters | None = None) -> None:
        self.tag = tag
        # None: not split yet; `rest` holds the text after the tag and its separator.
        self._elements: list[Element] | None = elements
        self._rest = rest
        self._delimiters = delimiters
        self.number = number

    @property
    def elements(self) -> list[Element]:
        elements = self._elements
        if elements is None:
            assert self._delimiters is not None
            elements = self._elements = split_plain(self._rest, self._delimiters)
        return elements

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

    def parts(self, index: int) -> list[str]:
        """The components of element `index` (one for a simple element; first repetition)."""
        elements = self._elements
        if elements is None:
            assert self._delimiters is not None
            elements = self._elements = split_plain(self._rest, self._delimiters)
        if index >= len(elements):
            return _NO_PARTS
        value = elements[index]
        kind = value.__class__
        if kind is list:
            return value  # type: ignore[return-value]
        if kind is str:
            return [value]  # type: ignore[list-item]
        first = value[0] if value else ""
        return first if isinstance(first, list) else [first]

    def padded(self, index: int, count: int) -> list[str]:
        """Components 0 to `count - 1` of element `index` (first repetition), an empty string
        for each the sender left out: `qualifier, value, unit = segment.padded(0, 3)`. The list
        may be the segment's own: read it, do not change it."""
        elements = self._elements
        if elements is None:
            assert self._delimiters is not None
            elements = self._elements = split_plain(self._rest, self._delimiters)
        value = elements[index] if index < len(elements) else ""
        # The common cases first, without a call to `parts`: a composite, a simple value.
        if value.__class__ is list:
            parts: list[str] = value
        elif value.__class__ is str:
            parts = [value]
        else:
            parts = self.parts(index)
        size = len(parts)
        if size == count:
            return parts
        return parts[:count] if size > count else parts + [""] * (count - size)

    def component(self, index: int, sub: int = 0) -> str:
        """Component `sub` of element `index` as a string; empty when absent."""
        elements = self._elements
        if elements is None:
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


_NO_PARTS: list[str] = []


def part(parts: list[str], index: int) -> str:
    """Component `index` of `parts`, empty when the sender left it out."""
    return parts[index] if index < len(parts) else ""


def split_plain(text: str, d: Delimiters) -> list[Element]:
    """Data elements of segment text that holds no release character."""
    component = d.component
    elements: list[Element]
    if d.data not in text:
        # One element, as in most DTM, QTY and RFF segments: no list of parts to walk.
        elements = [text.split(component) if component in text else text]
    else:
        elements = [part.split(component) if component in part else part
                    for part in text.split(d.data)]
    if d.repeats and d.repetition in text:
        elements = [_repeated(part, d) if d.repetition in part else element
                    for part, element in zip(text.split(d.data), elements, strict=True)]
    return elements


def _repeated(part: str, d: Delimiters) -> tuple[Simple, ...]:
    return tuple(
        piece.split(d.component) if d.component in piece else piece
        for piece in part.split(d.repetition)
    )
