"""The interchange an acknowledgement travels in (ISO 9735-1, sections 7 and 9).

It answers one received interchange: our UNB names the received receiver as sender and the
received sender as recipient, each with its identification code qualifier (0007), and uses the
same syntax identifier and version (S001), so the partner's translator reads the answer in the
repertoire it chose. The interchange control reference (0020) is ours, from a counter per
partner that is never reused (`gateway.services.acknowledgements`). Segments are written with
the default service characters, stated in a UNA (ISO 9735-1 section 8: `:+.? '`), each
service character in a value released by `?`; text is fitted to the repertoire of the syntax
level first (UNOA allows only upper case letters, digits and a few marks: ISO 9735-1 section
6.2). The writer is this module's own, a join of prepared strings: pydifact's segment objects
and serializer cost more than reading the message being answered.

Two ways to the same bytes: `answer_interchange` writes `Segment`s (`serialize`) and fits
every value to the repertoire when the text as written does not fit; `answer_written` takes
messages already written line by line (`line`, what the CONTRL and APERAK writers use for
every message: no segment objects) and leaves the rare interchange that needs fitting to the
first (it returns None), which has each value apart. Tests hold the two equal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# Elements are plain strings or composites (lists of strings).
Element = str | list[str]

# The service string advice: component ':', data '+', decimal mark '.', release '?', the
# reserved position (repetition in version 4; a space before it), terminator "'". The decimal
# mark is stated as '.', the default of ISO 9735.
UNA = "UNA:+.? '"
# Each service character in a value is preceded by the release character (ISO 9735-1 §9.3).
_RELEASED = str.maketrans({"?": "??", ":": "?:", "+": "?+", "'": "?'"})


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment to write: its tag and its elements, in order."""

    tag: str
    elements: list[Element]


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange party: identification (0004/0010) and its code qualifier (0007)."""

    id: str
    qualifier: str | None = None

    def composite(self) -> Element:
        return [self.id, self.qualifier] if self.qualifier else self.id


@dataclass(frozen=True, slots=True)
class InboundEnvelope:
    """What the received UNB said: the answer is built from it."""

    syntax_id: str
    syntax_version: str
    sender: Party
    receiver: Party
    reference: str
    test: bool = False


@dataclass(frozen=True, slots=True)
class MessageIdentifier:
    """S009 of a UNH: type, version, release, agency, association assigned code."""

    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str = ""

    def composite(self) -> list[str]:
        parts = [self.type, self.version, self.release, self.agency]
        return [*parts, self.association] if self.association else parts


# The repertoire of each syntax level as Python codecs (ISO 9735-1 section 6; the same table
# the reader uses). UNOA is narrower than ASCII: see `_UNOA`.
_CODECS = {"UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOD": "iso8859-2",
           "UNOE": "iso8859-5", "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4",
           "UNOI": "iso8859-6", "UNOJ": "iso8859-8", "UNOK": "iso8859-9",
           "UNOL": "iso8859-15", "UNOW": "utf-8", "UNOX": "iso2022_jp_2", "UNOY": "utf-8"}
# Level A: upper case letters, digits, space and . , - ( ) / = ' + : ? ! " % & * ; < >
_UNOA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>")


def codec_of(syntax_id: str) -> str:
    """The codec an answer in `syntax_id` is written in; an unknown level is answered under
    its own name in ASCII, which every level holds."""
    return _CODECS.get(syntax_id, "ascii")


def fit_text(text: str, syntax_id: str) -> str:
    """`text` in the repertoire of `syntax_id`: accents dropped where the level has no
    letter for them, anything else without a spelling there becomes '.'; control
    characters become spaces (a segment is one line of text to the partner's tools)."""
    if syntax_id == "UNOA":
        if _UNOA.issuperset(text):
            return text
    elif text.isprintable() and (text.isascii() or _encodes(text, codec_of(syntax_id))):
        return text
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    if syntax_id == "UNOA":
        text = _plain(text).upper()
        return "".join(c if c in _UNOA else "." for c in text)
    codec = codec_of(syntax_id)
    if _encodes(text, codec):
        return text
    return "".join(c if _encodes(c, codec) else (_plain(c) if _encodes(_plain(c), codec)
                                                 and _plain(c) else ".") for c in text)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def segment(tag: str, *elements: Element) -> Segment:
    """A segment without trailing empty elements (ISO 9735-1 section 7.1: they are left
    out, not sent empty)."""
    return Segment(tag, list(elements[:_kept(elements)]))


def _kept(elements: Sequence[Element]) -> int:
    """How many elements are written: all but the trailing empty ones ("" or [])."""
    end = len(elements)
    while end and not elements[end - 1]:
        end -= 1
    return end


def released(value: str) -> str:
    """`value` with each service character preceded by the release character."""
    # Codes, numbers and dates (alphanumeric: nothing to release) are most values.
    return value if value.isalnum() else value.translate(_RELEASED)


def element_text(element: Element) -> str:
    """One element as written: a value released, or a composite's components released and
    joined, its trailing empty components left out (ISO 9735-1 section 7.1)."""
    if isinstance(element, str):
        return released(element)
    components = [released(part) for part in element]
    while components and components[-1] == "":
        components.pop()
    return ":".join(components)


def segment_line(written: Segment) -> str:
    """A segment as one line of text: its tag, its elements, the terminator."""
    return "+".join([written.tag, *[element_text(e) for e in written.elements]]) + "'\n"


def line(tag: str, *elements: Element) -> str:
    """`segment_line(segment(tag, *elements))`, without the segment object: what the
    writers of the usual messages use (`contrl_written`, `aperak_written`)."""
    kept = elements[:_kept(elements)]
    return "+".join([tag, *[element_text(e) for e in kept]]) + "'\n"


def serialize(segments: Sequence[Segment]) -> str:
    """The UNA, then each segment on a line of its own, its values released."""
    return "".join([UNA, "\n", *[segment_line(s) for s in segments]])


def wrap_message(identifier: MessageIdentifier, body: Sequence[Segment]) -> list[Segment]:
    """UNH, the body and UNT counting every segment from UNH to UNT (ISO 9735-1, 0074)."""
    return [segment("UNH", identifier.reference, identifier.composite()), *body,
            segment("UNT", str(len(body) + 2), identifier.reference)]


@dataclass(frozen=True, slots=True)
class Written:
    """Messages already written as text (each UNH ... UNT, one segment a line, values
    released, as `serialize` writes them) and how many segments they hold in all."""

    text: str
    segments: int


def answer_interchange(inbound: InboundEnvelope, reference: str, prepared: datetime,
                       messages: Sequence[Sequence[Segment]], application: str = "") -> bytes:
    """The whole interchange answering `inbound`: UNA, UNB (parties swapped), the messages
    (each already wrapped in UNH ... UNT), UNZ with the message count; encoded in the
    repertoire of the received syntax identifier, one segment per line."""
    syntax_id = inbound.syntax_id
    segments = [_unb(inbound, reference, prepared, application),
                *(s for message in messages for s in message),
                segment("UNZ", str(len(messages)), reference)]
    text = serialize(segments)
    if not _whole(text, len(segments), syntax_id):
        # Rare: some text has no spelling in the repertoire; fitted element by element.
        text = serialize([_fitted(s, syntax_id) for s in segments])
    return text.encode(codec_of(syntax_id))


def answer_written(inbound: InboundEnvelope, reference: str, prepared: datetime,
                   messages: Written, count: int, application: str = "") -> bytes | None:
    """What `answer_interchange` writes for the same `count` messages, from their text; None
    when some value must first be fitted to the repertoire, which only `answer_interchange`
    does (it has each value apart)."""
    syntax_id = inbound.syntax_id
    text = "".join([UNA, "\n", segment_line(_unb(inbound, reference, prepared, application)),
                    messages.text, line("UNZ", str(count), reference)])
    if not _whole(text, messages.segments + 2, syntax_id):
        return None
    return text.encode(codec_of(syntax_id))


def _unb(inbound: InboundEnvelope, reference: str, prepared: datetime,
         application: str) -> Segment:
    # Syntax versions 1-3 write the date YYMMDD, version 4 CCYYMMDD (S004/0017).
    date = prepared.strftime("%Y%m%d" if inbound.syntax_version == "4" else "%y%m%d")
    return segment("UNB", [inbound.syntax_id, inbound.syntax_version],
                   inbound.receiver.composite(), inbound.sender.composite(),
                   [date, prepared.strftime("%H%M")], reference, "", application, "", "", "",
                   "1" if inbound.test else "")


def _whole(text: str, segments: int, syntax_id: str) -> bool:
    """Whether `text` (UNA and `segments` segments) needs no fitting: one line break after
    the UNA and after each segment (any other is in supplier text), and every character in
    the repertoire."""
    return text.count("\n") == segments + 1 and _fits(text, syntax_id)


def _fits(text: str, syntax_id: str) -> bool:
    """Whether the whole interchange is already in the repertoire (one pass, the usual case);
    the line breaks between segments are ours."""
    plain = text.replace("\n", "")
    if syntax_id == "UNOA":
        return _UNOA.issuperset(plain)
    return plain.isprintable() and (plain.isascii() or _encodes(plain, codec_of(syntax_id)))


def _fitted(original: Segment, syntax_id: str) -> Segment:
    def fit(element: Element) -> Element:
        if isinstance(element, list):
            return [fit_text(part, syntax_id) for part in element]
        return fit_text(element, syntax_id)

    return Segment(original.tag, [fit(e) for e in original.elements])
