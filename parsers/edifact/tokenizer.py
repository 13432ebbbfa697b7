"""A streaming EDIFACT tokenizer: bytes in, `Segment`s out, one at a time.

It reads the input in chunks, so a 100 MB interchange never sits in memory as a whole, and it
splits with `str.find`/`str.split` on the common path (no release character in a segment), which
is what makes it about twenty times faster than a character-by-character tokenizer. It yields the
same segments as pydifact's tokenizer for well-formed input (tested side by side).

Real traffic is sloppy, and each repair made here is reported as a `Problem`, never silent:

- a UTF-8 byte-order mark, CR/LF or spaces between segments (ISO 9735 allows no such thing, but
  every partner sends line breaks);
- a file hard-wrapped at a fixed width (998 characters, the SMTP line limit) that cuts segments,
  even a segment tag, in two: line breaks inside a segment are removed;
- text after a segment terminator that is not a segment ("'  NM-0 de BL" in a Renault DESADV):
  dropped up to the line break, with a warning;
- a typographic right quote U+2019 typed where the apostrophe terminator belongs, recognised only
  where a segment tag follows it;
- a last segment with no terminator.

The module is long by nature: one state machine over the character stream, with its repairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain, repeat
from typing import BinaryIO

from parsers.edifact.charsets import SYNTAX_CODECS, UTF8_BOM, AdaptiveDecoder
from parsers.edifact.directory import SEGMENT_TAGS
from parsers.edifact.segments import Delimiters, Element, Segment, Simple, split_plain
from parsers.errors import (
    NotEdifactError,
    Problem,
    ProblemCode,
    SegmentTooLongError,
    Severity,
)

# Small chunks keep few segments alive at once: with a megabyte of segments waiting in a list,
# the garbage collector's scans of young objects made parse+map 40% slower (measured with
# `gateway bench parse`; docs/architecture.md, "Measured facts", describes the same effect for
# whole interchanges).
CHUNK_SIZE = 1 << 14
# The longest segment accepted. Real segments are far shorter (FTX holds 5 x 512 characters).
MAX_SEGMENT = 1 << 20
_HEAD_BYTES = 64
_WHITESPACE = " \t\r\n\x00\x1a"
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
_TYPOGRAPHIC_QUOTE = "\u2019"
# The same quote from a Windows-1252 editor, read under UNOC (ISO 8859-1) as the control
# character U+0092, which no EDIFACT repertoire allows in text.
_CP1252_QUOTE = "\x92"
_STARTS = (b"UNA", b"UNB", b"UNH")
# Segments after which the service characters may change: never on the fast path.
_ENVELOPE_TAGS = frozenset({"UNA", "UNB", "UNZ"})

Token = Segment | Problem


def iter_segments(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    """Yield the segments of an EDIFACT byte stream, with located problems among them.

    Raises `NotEdifactError` when the stream does not start (after a BOM and white space) with
    UNA, UNB or UNH, and `ServiceStringError` for an unusable UNA.
    """
    # Chained at C speed: a generator that yielded each token would be resumed per segment.
    return chain.from_iterable(_token_batches(stream, chunk_size))


def _token_batches(stream: BinaryIO, chunk_size: int) -> Iterator[list[Token]]:
    """The tokens of `iter_segments`, a list for each chunk read."""
    head = _read_head(stream, chunk_size)
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM):]
    start = len(head) - len(head.lstrip(b" \t\r\n"))
    if head[start : start + 3] not in _STARTS:
        shown = head[start : start + 20].decode("latin-1")
        raise NotEdifactError(
            ProblemCode.NOT_EDIFACT,
            f"not an EDIFACT interchange: expected UNA, UNB or UNH at the start, found {shown!r}",
        )
    decoder = AdaptiveDecoder(_declared_syntax(head[start:]))
    tokenizer = Tokenizer()
    data = head[start:]
    while True:
        final = not data
        text = decoder.decode(data, final=final)
        if decoder.note:
            yield [Problem(Severity.WARNING, ProblemCode.CHARSET_MISMATCH, decoder.note)]
            decoder.note = None
        yield tokenizer.feed(text, final=final)
        headers = tokenizer.take_headers()
        if headers:
            yield list(_later_repertoires(headers, decoder))
        if final:
            break
        data = stream.read(chunk_size)
    if decoder.replaced:
        yield [Problem(
            Severity.WARNING,
            ProblemCode.UNDECODABLE_BYTES,
            f"{decoder.replaced} byte(s) invalid in {decoder.codec} were read as ISO 8859-1",
        )]


def _later_repertoires(headers: list[Segment], decoder: AdaptiveDecoder) -> Iterator[Problem]:
    """A stream is decoded by the first interchange's repertoire. A later interchange that
    declares another one is read with it all the same, and the reader is told, rather than
    its text being silently misread (per-interchange decoding is not done)."""
    for token in headers:
        if token.number > 1:
            declared = token.component(0, 0)
            codec = SYNTAX_CODECS.get(declared)
            if codec and codec != "ascii" and codec != decoder.codec and (
                    decoder.codec != "ascii"):
                yield Problem(
                    Severity.WARNING, ProblemCode.CHARSET_MISMATCH,
                    f"this interchange declares {declared} ({codec}) but the file is read as "
                    f"{decoder.codec}, the repertoire of its first interchange: letters "
                    "beyond ASCII in it may be wrong", segment=token.number, tag="UNB")


def _read_head(stream: BinaryIO, chunk_size: int) -> bytes:
    """At least the first few hundred bytes (UNA, UNB and its syntax identifier), or all."""
    head = stream.read(max(chunk_size, 1))
    while len(head) < _HEAD_BYTES * 8:
        more = stream.read(max(chunk_size, 1))
        if not more:
            break
        head += more
    return head


def tokenize_text(text: str) -> list[Segment]:
    """Split an already decoded interchange into segments, ignoring problems (for tests)."""
    tokenizer = Tokenizer()
    tokens = tokenizer.feed(text, final=False) + tokenizer.feed("", final=True)
    return [token for token in tokens if isinstance(token, Segment)]


def _declared_syntax(head: bytes) -> str | None:
    """The syntax identifier (UNB S001/0001, e.g. b'UNOC') read from the raw first bytes."""
    data_sep, component_sep = b"+", b":"
    if head.startswith(b"UNA") and len(head) >= 9:
        component_sep, data_sep = head[3:4], head[4:5]
    unb = head.find(b"UNB" + data_sep, 0, 4096)
    if unb < 0:
        return None
    value = head[unb + 4 : unb + 40]
    for separator in (component_sep, data_sep):
        value = value.split(separator, 1)[0]
    return value.decode("latin-1").strip() or None


class Tokenizer:
    """The incremental state machine behind `iter_segments`: feed it decoded text."""

    def __init__(self) -> None:
        self.delimiters = Delimiters()
        self._explicit_una = False
        self._expect_una = True
        self._buffer = ""
        self._number = 0
        self._tags: set[str] = set()
        self._headers: list[Segment] = []

    def feed(self, text: str, final: bool) -> list[Token]:
        """The tokens completed by `text`; the unfinished rest waits for the next feed."""
        out: list[Token] = []
        buffer = self._buffer + text if self._buffer else text
        position = 0
        while True:
            if self._expect_una:
                position = _skip_whitespace(buffer, position)
                if len(buffer) - position < 9 and not final:
                    break
                position = self._read_service_string(buffer, position)
            if self.delimiters.terminator in "\r\n":
                position, again = self._scan(buffer, position, out)
            else:
                position, again = self._split(buffer, position, out)
            if not again:
                break
        rest = buffer[position:]
        if final:
            self._buffer = ""
            if rest.strip(_WHITESPACE):
                out.append(Problem(
                    Severity.WARNING,
                    ProblemCode.UNTERMINATED_SEGMENT,
                    "the last segment has no segment terminator",
                    segment=self._number + 1,
                ))
                self._segment(rest, out)
        else:
            if len(rest) > MAX_SEGMENT:
                # No terminator in a megabyte: not EDIFACT, or a separator the UNA did not
                # announce. Refused rather than buffered without bound (docs/architecture.md, "Caps
                # and limits").
                raise SegmentTooLongError(
                    ProblemCode.INVALID_SEGMENT_TAG,
                    f"no segment terminator {self.delimiters.terminator!r} in "
                    f"{len(rest):,} characters after segment {self._number}: the file is "
                    "not EDIFACT, or uses a terminator its UNA does not announce")
            self._buffer = rest
        return out

    def _split(self, buffer: str, position: int, out: list[Token]) -> tuple[int, bool]:
        """The fast path: split the buffer on the terminator at C speed, and hand segments
        over unsplit. Returns where it stopped, and whether the service characters may have
        changed (after UNB/UNZ), so the caller must split again from there."""
        delimiters = self.delimiters
        terminator, release, data = delimiters.terminator, delimiters.release, delimiters.data
        text = buffer[position:]
        pieces = text.split(terminator)
        tail = pieces.pop()  # after the last terminator: incomplete, waits for more text
        # Looked for once in the whole text rather than in every segment: which segments may
        # end in a release character, and which of the rare characters occur at all.
        suspects = _escape_suspects(pieces, text, terminator, release)
        rare = _rare_characters(text, delimiters)
        release_char = release or "\n"
        tags, segment, number = self._tags, Segment, self._number
        # Where a segment starts is worked out only when returning early (`_offset`), not
        # counted up segment by segment.
        index, count = 0, len(pieces)
        while index < count:
            first = index
            raw = pieces[index]
            index += 1
            while suspects[index - 1] and _escapes_terminator(raw, release):
                if index >= count:
                    self._number = number
                    return position + _offset(pieces, first, terminator), False
                if _starts_segment(pieces[index], data):
                    # "deliver sooner?'LIN+2...": a question mark, not a release character;
                    # read as text, or the next line would vanish into this segment.
                    out.append(Problem(
                        Severity.WARNING, ProblemCode.RELEASED_TERMINATOR,
                        f"{release}{terminator} is followed by the segment "
                        f"{pieces[index].lstrip(_WHITESPACE)[:3]}: the {release!r} is read as "
                        "text and the terminator ends the segment", segment=number + 1,
                        tag=raw.lstrip(_WHITESPACE)[:3]))
                    raw += release
                    break
                raw = raw + terminator + pieces[index]
                index += 1
            stripped = raw.lstrip(_WHITESPACE)
            tag = stripped[:3]
            if tag == "UNA":
                # A UNA opens an interchange, even one whose predecessor lost its UNZ.
                self._number = number
                self._expect_una = True
                return (position + _offset(pieces, first, terminator) + len(raw) - len(stripped),
                        True)
            if (tag in tags and stripped[3:4] in (data, "") and "\n" not in stripped
                    and release_char not in stripped
                    and not (rare and any(char in stripped for char in rare))):
                number += 1
                # Deferred: split into elements only when a reader asks (Segment docstring).
                out.append(segment(tag, None, number, stripped[4:], delimiters)
                           if len(stripped) > 3 else segment(tag, [], number))
                continue
            if not stripped:
                continue
            self._number = number
            self._segment(stripped, out)
            number = self._number
            if tag in _ENVELOPE_TAGS:
                return position + _offset(pieces, index, terminator), True
        self._number = number
        position += len(text) - len(tail)
        stripped_tail = tail.lstrip(_WHITESPACE)
        if stripped_tail.startswith("UNA") and len(stripped_tail) >= 9:
            self._expect_una = True
            return position + len(tail) - len(stripped_tail), True
        return position, False

    def _scan(self, buffer: str, position: int, out: list[Token]) -> tuple[int, bool]:
        """Segment by segment, for a terminator that is a line break (UNA can say so)."""
        terminator = self.delimiters.terminator
        while True:
            end = self._find_terminator(buffer, position, terminator)
            if end < 0:
                return position, False
            raw = buffer[position:end]
            if terminator == "\n":
                # A CR before an LF terminator is the line end of a Windows system, not data
                # (UNOA-UNOC hold no control characters).
                raw = raw.rstrip("\r")
            self._segment(raw, out)
            position = end + len(terminator)
            if self._expect_una or self.delimiters.terminator != terminator:
                return position, True

    def _read_service_string(self, buffer: str, position: int) -> int:
        """Each interchange has its own service characters: the UNA's, else the defaults
        (ISO 9735-1, 7.1)."""
        self._expect_una = False
        if not buffer.startswith("UNA", position):
            self.delimiters = Delimiters()
            self._explicit_una = False
            return position
        self.delimiters = Delimiters.from_service_string(buffer[position + 3 : position + 9])
        self._explicit_una = True
        return position + 9

    def _find_terminator(self, buffer: str, position: int, terminator: str) -> int:
        """The next terminator not escaped by an odd run of release characters. Line breaks
        between them are skipped: a file wrapped at 998 characters may cut `?` from `'`."""
        release = self.delimiters.release
        end = buffer.find(terminator, position)
        while end > position and release and buffer[end - 1] in (release, "\r", "\n"):
            run, index = 0, end - 1
            while index >= position and buffer[index] in (release, "\r", "\n"):
                run += buffer[index] == release
                index -= 1
            if run % 2 == 0:
                break
            end = buffer.find(terminator, end + 1)
        return end

    def _segment(self, raw: str, out: list[Token]) -> None:
        if not raw or raw[0] in _WHITESPACE:
            raw = raw.lstrip(_WHITESPACE)
            if not raw:
                return
        if ("\n" not in raw and "\r" not in raw and _TYPOGRAPHIC_QUOTE not in raw
                and _CP1252_QUOTE not in raw):
            self._one_segment(raw, out)
            return
        pieces = [raw]
        if ((_TYPOGRAPHIC_QUOTE in raw or _CP1252_QUOTE in raw)
                and self.delimiters.terminator == "'"):
            pieces = _split_typographic(raw, self.delimiters.data)
            if len(pieces) > 1:
                out.append(Problem(
                    Severity.WARNING,
                    ProblemCode.TYPOGRAPHIC_TERMINATOR,
                    "a typographic quote \u2019 stands where the segment terminator ' belongs; "
                    "read as a terminator",
                    segment=self._number + 1,
                    tag=pieces[0][:3],
                ))
        if ("\n" in raw or "\r" in raw) and self.delimiters.terminator not in "\r\n":
            unwrapped = []
            for piece in pieces:
                found, notes = _unwrap(piece, self.delimiters.data)
                out.extend(Problem(Severity.WARNING, code, detail, segment=self._number + 1,
                                   tag=found[0][:3] if found else None)
                           for code, detail in notes)
                unwrapped += found
            pieces = unwrapped
        for piece in pieces:
            self._one_segment(piece, out)

    def _one_segment(self, raw: str, out: list[Token]) -> None:
        self._number += 1
        delimiters = self.delimiters
        if delimiters.release and delimiters.release in raw:
            parts = _split_released(raw, delimiters)
        else:
            parts = split_plain(raw, delimiters)
        tag = parts[0]
        if not isinstance(tag, str) or tag not in self._tags:
            if not isinstance(tag, str) or not _TAG.fullmatch(tag):
                out.append(Problem(
                    Severity.ERROR,
                    ProblemCode.INVALID_SEGMENT_TAG,
                    f"{raw[:30]!r} does not start with a segment tag of three letters or "
                    "digits",
                    segment=self._number,
                ))
                return
            if tag not in _ENVELOPE_TAGS:
                self._tags.add(tag)
        segment = Segment(tag, parts[1:], self._number)
        if tag == "UNB":
            self._adopt_syntax_version(segment)
        elif tag == "UNZ":
            self._expect_una = True
        out.append(segment)

    def take_headers(self) -> list[Segment]:
        """The UNB segments read since the last call."""
        headers, self._headers = self._headers, []
        return headers

    def _adopt_syntax_version(self, unb: Segment) -> None:
        """Syntax version 4 (ISO 9735:1998) brings the repetition separator, `*` by default."""
        self._headers.append(unb)
        version = unb.component(0, 1)
        if version[:1] in ("4", "5", "6", "7", "8", "9"):
            if not self._explicit_una:
                self.delimiters = Delimiters(repetition="*")
        elif self.delimiters.repeats:
            d = self.delimiters
            self.delimiters = Delimiters(d.component, d.data, d.decimal, d.release, " ",
                                         d.terminator)


def _offset(pieces: list[str], stop: int, terminator: str) -> int:
    """The length of the text that `pieces[:stop]` were split from, terminators included."""
    return sum(map(len, pieces[:stop])) + stop * len(terminator)


def _escape_suspects(pieces: list[str], text: str, terminator: str,
                     release: str) -> list[bool]:
    """For each piece, whether the terminator after it may be escaped: only a piece that ends
    in the release character or a line break can be (`_escapes_terminator` decides)."""
    if not release or not (release + terminator in text or "\n" + terminator in text
                           or "\r" + terminator in text):
        return [False] * len(pieces)
    return list(map(str.endswith, pieces, repeat((release, "\r", "\n"))))


def _rare_characters(text: str, delimiters: Delimiters) -> list[str]:
    """The characters in `text` that keep a segment off the fast path, besides line breaks
    and the release character: CR, the repetition separator, the typographic quotes."""
    candidates = ["\r", _TYPOGRAPHIC_QUOTE, _CP1252_QUOTE]
    if delimiters.repeats:
        candidates.append(delimiters.repetition)
    return [char for char in candidates if char in text]


def _escapes_terminator(raw: str, release: str) -> bool:
    """Whether `raw` ends in an odd run of release characters (line breaks between them are
    a wrap, not text), so the terminator after it is data."""
    if raw[-1:] != release and raw[-1:] not in ("\r", "\n"):
        return False
    run = 0
    for char in reversed(raw):
        if char == release:
            run += 1
        elif char not in "\r\n":
            break
    return run % 2 == 1


def _skip_whitespace(buffer: str, position: int) -> int:
    while position < len(buffer) and buffer[position] in _WHITESPACE:
        position += 1
    return position


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _unwrap(raw: str, data_separator: str) -> tuple[list[str], list[tuple[ProblemCode, str]]]:
    """Segments in a text that contains line breaks, and what was repaired to get them.

    A segment of the directory (UNH, LIN, QTY ...) with its data separator at the start of a
    line begins a new segment even without a terminator before it, so a segment that lost its
    terminator never swallows the next one. Within what is
    left, line breaks are removed (a hard wrap), unless the text before a break is not a segment
    and the text after it is: then the text before is junk after a terminator.
    """
    lines = [line for line in _LINE_BREAK.split(raw) if line]
    groups: list[list[str]] = [[]]
    notes: list[tuple[ProblemCode, str]] = []
    for index, line in enumerate(lines):
        stripped = line.lstrip(_WHITESPACE)
        if index and _starts_segment(stripped, data_separator):
            before = "".join(groups[-1]).strip(_WHITESPACE)
            if _is_segment_start(before, 0, data_separator):
                notes.append((ProblemCode.UNTERMINATED_SEGMENT,
                              f"the segment before {stripped[:3]} has no terminator; "
                              f"{stripped[:3]} starts a new segment after the line break"))
            else:
                notes.append((ProblemCode.TEXT_OUTSIDE_SEGMENT,
                              f"text {before!r} after a segment terminator is not a segment; "
                              "ignored"))
                groups[-1] = []
            groups.append([])
            line = stripped
        groups[-1].append(line)
    pieces = []
    for group in groups:
        if not group:
            continue
        piece, note = _join_lines(group, data_separator)
        pieces.append(piece)
        if note:
            notes.append(note)
    return pieces, notes


def _join_lines(group: list[str], data_separator: str
                ) -> tuple[str, tuple[ProblemCode, str] | None]:
    joined = "".join(group)
    if _is_segment_start(joined, 0, data_separator):
        if len(group) == 1:
            return joined, None
        return joined, (ProblemCode.WRAPPED_SEGMENT,
                        "line breaks inside the segment were removed (a wrapped file?)")
    for index in range(1, len(group)):
        tail = group[index].lstrip(_WHITESPACE)
        if _is_segment_start(tail, 0, data_separator):
            junk = " ".join(part.strip(_WHITESPACE) for part in group[:index])
            return tail + "".join(group[index + 1 :]), (
                ProblemCode.TEXT_OUTSIDE_SEGMENT,
                f"text {junk!r} after a segment terminator is not a segment; ignored")
    return joined, None


def _is_segment_start(text: str, position: int, data_separator: str) -> bool:
    """A tag followed by a data separator, or a bare tag at the end."""
    if not _TAG.match(text, position):
        return False
    after = position + 3
    return after == len(text) or text[after] == data_separator


def _starts_segment(text: str, data_separator: str) -> bool:
    """Whether `text` (after white space) begins with a directory segment tag and its data
    separator: a segment, not text that happens to hold three capitals."""
    text = text.lstrip(_WHITESPACE)
    return text[:3] in SEGMENT_TAGS and _is_segment_start(text, 0, data_separator)


def _split_typographic(raw: str, data_separator: str) -> list[str]:
    """Split where a typographic quote stands before a directory segment: "D\u2019ART+1" is
    a name, "QTY+21:3\u2019GIR+001" two segments."""
    pieces: list[str] = []
    rest = raw
    while True:
        index = _next_quote(rest, 0)
        while index >= 0 and not _starts_segment(rest[index + 1 :], data_separator):
            index = _next_quote(rest, index + 1)
        if index < 0:
            pieces.append(rest)
            return pieces
        pieces.append(rest[:index])
        rest = rest[_skip_whitespace(rest, index + 1) :]


def _next_quote(text: str, start: int) -> int:
    found = [i for i in (text.find(_TYPOGRAPHIC_QUOTE, start), text.find(_CP1252_QUOTE, start))
             if i >= 0]
    return min(found) if found else -1


def _split_released(raw: str, d: Delimiters) -> list[Element]:
    """Split a segment that contains release characters, character by character."""
    elements: list[Element] = []
    repetitions: list[Simple] = []
    components: list[str] = []
    current: list[str] = []
    release, data, component = d.release, d.data, d.component
    repetition = d.repetition if d.repeats else None
    iterator = iter(raw)
    for char in iterator:
        if char == release:
            current.append(next(iterator, ""))
        elif char == component:
            components.append("".join(current))
            current = []
        elif char in (data, repetition):
            components.append("".join(current))
            repetitions.append(components if len(components) > 1 else components[0])
            if char == data:
                elements.append(tuple(repetitions) if len(repetitions) > 1 else repetitions[0])
                repetitions = []
            components, current = [], []
        else:
            current.append(char)
    components.append("".join(current))
    repetitions.append(components if len(components) > 1 else components[0])
    elements.append(tuple(repetitions) if len(repetitions) > 1 else repetitions[0])
    return elements
