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
    trimmed = list(elements)
    while trimmed and trimmed[-1] in ("", []):
        trimmed.pop()
    return Segment(tag, trimmed)


def serialize(segments: Sequence[Segment]) -> str:
    """The UNA, then each segment on a line of its own, its values released; trailing
    empty components of a composite are left out (ISO 9735-1 section 7.1)."""
    parts = [UNA, "\n"]
    for written in segments:
        parts.append(written.tag)
        for element in written.elements:
            # Codes, numbers and dates (alphanumeric: nothing to release) are most values.
            if isinstance(element, str):
                parts += ("+", element if element.isalnum() else element.translate(_RELEASED))
                continue
            components = [part if part.isalnum() else part.translate(_RELEASED)
                          for part in element]
            while components and components[-1] == "":
                components.pop()
            parts += ("+", ":".join(components))
        parts.append("'\n")
    return "".join(parts)


def wrap_message(identifier: MessageIdentifier, body: Sequence[Segment]) -> list[Segment]:
    """UNH, the body and UNT counting every segment from UNH to UNT (ISO 9735-1, 0074)."""
    return [segment("UNH", identifier.reference, identifier.composite()), *body,
            segment("UNT", str(len(body) + 2), identifier.reference)]


def answer_interchange(inbound: InboundEnvelope, reference: str, prepared: datetime,
                       messages: Sequence[Sequence[Segment]], application: str = "") -> bytes:
    """The whole interchange answering `inbound`: UNA, UNB (parties swapped), the messages
    (each already wrapped in UNH ... UNT), UNZ with the message count; encoded in the
    repertoire of the received syntax identifier, one segment per line."""
    syntax_id = inbound.syntax_id
    # Syntax versions 1-3 write the date YYMMDD, version 4 CCYYMMDD (S004/0017).
    date = prepared.strftime("%Y%m%d" if inbound.syntax_version == "4" else "%y%m%d")
    unb = segment("UNB", [syntax_id, inbound.syntax_version], inbound.receiver.composite(),
                  inbound.sender.composite(), [date, prepared.strftime("%H%M")], reference,
                  "", application, "", "", "", "1" if inbound.test else "")
    segments = [unb, *(s for message in messages for s in message),
                segment("UNZ", str(len(messages)), reference)]
    text = serialize(segments)
    # One line break after the UNA and after each segment: any other is in supplier text.
    if text.count("\n") != len(segments) + 1 or not _fits(text, syntax_id):
        # Rare: some text has no spelling in the repertoire; fitted element by element.
        text = serialize([_fitted(s, syntax_id) for s in segments])
    return text.encode(codec_of(syntax_id))


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
