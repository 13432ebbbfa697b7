"""A streaming X12 tokenizer: bytes in, `X12Segment`s out, one at a time.

The separators are not fixed in X12: each interchange declares them in its ISA header (the
element separator is the fourth character, ISA16 the component separator, the character after
ISA16 the segment terminator, and from version 00402 on ISA11 the repetition separator). So the
tokenizer reads an ISA, takes its separators, and reads with them until the IEA; the next
interchange in the same file may declare others.

Real traffic is sloppy, and each repair is reported as a `Problem`, never silent:

- a UTF-8 byte-order mark before the ISA;
- a newline as the segment terminator (CR, LF and CR LF alike), or line breaks after each
  terminator (read as nothing: every partner sends them);
- text after the last IEA or between interchanges that is not an ISA (dropped, with a warning);
- a last segment with no terminator.

Bounded: the input is read in chunks and a segment longer than `MAX_SEGMENT` characters is
refused before it is buffered further. The module is long by nature: one loop over a stream.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import BinaryIO

from parsers.edifact.charsets import UTF8_BOM, AdaptiveDecoder
from parsers.errors import (
    NotX12Error,
    Problem,
    ProblemCode,
    Severity,
    X12Error,
    X12SegmentTooLongError,
)
from parsers.x12.segments import Separators, X12Segment

CHUNK_SIZE = 1 << 16
# The longest segment accepted; real X12 segments are short (a PID description is 80).
MAX_SEGMENT = 1 << 16
# Enough characters to hold any ISA (106 when written to the standard, more when padded badly).
_ISA_WINDOW = 512
_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
# Where the fixed-length ISA has its second and third element separators (ISA01 and ISA02 are
# two and ten characters).
_ISA_SEPARATORS = (6, 17)
_SHOWN = 40

Token = X12Segment | Problem


def is_x12(head: bytes) -> bool:
    """The first bytes, past a UTF-8 byte-order mark and white space, are an ISA header.

    An element separator that is a letter, digit or space is unusable, but the ISA is still
    recognised when the separator stands where the fixed-length ISA (X12.5) puts its next two
    (after ISA01 and ISA02), so that it is refused for what it is, not as an unknown format.
    """
    head = head.removeprefix(UTF8_BOM).lstrip()
    if head[:3] != b"ISA" or len(head) <= 3:
        return False
    separator = head[3:4]
    if not separator.isalnum() and separator not in (b" ", b"\r", b"\n", b"\t"):
        return True
    return all(head[position:position + 1] == separator for position in _ISA_SEPARATORS)


def iter_segments(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    """Yield the segments of an X12 byte stream, with located problems among them.

    Raises `NotX12Error` when the stream does not start with an ISA (after a BOM and white
    space), `X12Error` for an unusable first ISA and `X12SegmentTooLongError` for a segment
    without a terminator within `MAX_SEGMENT` characters.
    """
    return _Tokenizer(stream, chunk_size).run()


class _Tokenizer:
    """The stream state: the text read and not yet split, and the interchange's separators."""

    def __init__(self, stream: BinaryIO, chunk_size: int) -> None:
        self.stream = stream
        self.chunk_size = max(chunk_size, 1)
        self.decoder = AdaptiveDecoder(None)
        self.buffer = ""
        self.final = False
        self.number = 0
        self.interchanges = 0
        # Tags already found valid: most files use a few dozen, checked once each.
        self.tags: set[str] = set()

    def run(self) -> Iterator[Token]:
        head = self.stream.read(self.chunk_size)
        if head.startswith(UTF8_BOM):
            head = head[len(UTF8_BOM):]
            yield Problem(Severity.WARNING, ProblemCode.TEXT_OUTSIDE_SEGMENT,
                          "a UTF-8 byte-order mark stands before the ISA; ignored")
        if not is_x12(head):
            shown = head.lstrip()[:20].decode("latin-1")
            raise NotX12Error(ProblemCode.NOT_X12,
                              f"not an X12 interchange: expected ISA at the start, found {shown!r}")
        self.buffer = self._decode(head)
        while True:
            separators = yield from self._next_header()
            if separators is None:
                break
            yield from self._interchange(separators)
        if self.decoder.note:
            yield Problem(Severity.WARNING, ProblemCode.CHARSET_MISMATCH, self.decoder.note)
        if self.decoder.replaced:
            yield Problem(Severity.WARNING, ProblemCode.UNDECODABLE_BYTES,
                          f"{self.decoder.replaced} byte(s) invalid in {self.decoder.codec} "
                          "were read as ISO 8859-1")

    def _decode(self, data: bytes) -> str:
        return self.decoder.decode(data, final=not data)

    def _more(self) -> bool:
        """Reads the next chunk into the buffer; False at the end of the stream."""
        if self.final:
            return False
        data = self.stream.read(self.chunk_size)
        self.final = not data
        self.buffer += self._decode(data)
        return not self.final

    def _next_header(self) -> Generator[Token, None, Separators | None]:
        """Finds the next usable ISA, reporting text before it and ISAs whose separators
        cannot be read; returns its separators, or None at the end of the stream.
        Generator-returning: `yield from` gives the separators. A loop, not recursion: a file
        may hold any number of unusable ISAs."""
        while (yield from self._to_isa()):
            separators = yield from self._usable_isa()
            if separators is not None:
                return separators
        return None

    def _to_isa(self) -> Generator[Token, None, bool]:
        """Drops the text before the next "ISA" (reported), reading until the buffer starts
        with it and holds an ISA's worth of characters; False at the end of the stream."""
        junk = 0
        shown = ""
        while True:
            stripped = self.buffer.lstrip()
            start = stripped.find("ISA")
            if start >= 0 and len(stripped) - start < _ISA_WINDOW and self._more():
                continue
            if start < 0 and not self.final:
                # Keep two characters: an "ISA" may be cut by the chunk's end.
                end = max(len(stripped) - 2, 0)
                junk += len(stripped[:end].strip())
                shown = (shown + stripped[:end])[:_SHOWN]
                self.buffer = stripped[end:]
                self._more()
                continue
            end = start if start >= 0 else len(stripped)
            junk += len(stripped[:end].strip())
            shown = (shown + stripped[:end])[:_SHOWN]
            self.buffer = stripped[end:]
            yield from self._junk(junk, shown)
            return start >= 0

    def _usable_isa(self) -> Generator[Token, None, Separators | None]:
        """The separators of the ISA the buffer starts with, or of the first usable one after
        unusable ones (each reported); None to have `_to_isa` read on. Each ISA is read from a
        window of `_ISA_WINDOW` characters and the buffer is cut once, not per ISA: reading
        stays linear however many there are."""
        buffer, position = self.buffer, 0
        while True:
            window = buffer[position:position + _ISA_WINDOW]
            try:
                separators, length = Separators.from_isa(window)
            except X12Error:
                if self.interchanges == 0:
                    raise
                yield Problem(Severity.ERROR, ProblemCode.BAD_SERVICE_STRING,
                              "an ISA whose separators cannot be read: the interchange after "
                              f"segment {self.number} is not read", segment=self.number + 1,
                              tag="ISA")
                following = buffer.find("ISA", position + 3)
                if following < 0 or (len(buffer) - following < _ISA_WINDOW and not self.final):
                    self.buffer = buffer[position + 3:]
                    return None
                position = following
                continue
            self.interchanges += 1
            yield self._segment(window[:length - 1], separators)
            self.buffer = buffer[position + length:]
            return separators

    def _junk(self, count: int, text: str) -> Iterator[Problem]:
        text = text.strip()
        if count and text:
            where = "after the last IEA" if self.interchanges else "before the first ISA"
            yield Problem(Severity.WARNING, ProblemCode.TEXT_OUTSIDE_SEGMENT,
                          f"{count} character(s) of text {where} that are no segment were "
                          f"ignored: {text[:_SHOWN]!r}", segment=self.number or None)

    def _interchange(self, separators: Separators) -> Iterator[Token]:
        """Segments up to and including the IEA (or the end of the stream). The buffer is
        split once per chunk, never sliced per segment: reading stays linear in the input."""
        terminator = separators.terminator
        newline = terminator == "\n"
        while True:
            pieces = self.buffer.split(terminator)
            self.buffer = pieces.pop()
            for position, text in enumerate(pieces):
                text = text.strip("\r") if newline else text.lstrip("\r\n\t ")
                if not text or text.isspace():
                    continue
                token = self._segment(text, separators)
                yield token
                if token.__class__ is X12Segment and token.tag == "IEA":
                    rest = pieces[position + 1:]
                    self.buffer = terminator.join([*rest, self.buffer]) if rest else self.buffer
                    return
            if len(self.buffer) > MAX_SEGMENT:
                raise X12SegmentTooLongError(
                    ProblemCode.UNTERMINATED_SEGMENT,
                    f"no segment terminator {terminator!r} within {MAX_SEGMENT} characters "
                    f"after segment {self.number}: the segment is refused")
            if self._more():
                continue
            text = self.buffer.strip()
            self.buffer = ""
            if text:
                yield Problem(Severity.WARNING, ProblemCode.UNTERMINATED_SEGMENT,
                              "the last segment has no terminator", segment=self.number + 1)
                yield self._segment(text, separators)
            return

    def _segment(self, text: str, separators: Separators) -> Token:
        self.number += 1
        elements = text.split(separators.element)
        tag = elements[0]
        if tag not in self.tags:
            tag = tag.strip()
            if _TAG.fullmatch(tag) is None:
                return Problem(Severity.WARNING, ProblemCode.INVALID_SEGMENT_TAG,
                               f"{text[:_SHOWN]!r} does not start with a segment tag; ignored",
                               None, self.number, None)
            if tag == elements[0]:
                self.tags.add(tag)
        return X12Segment(tag, elements[1:], self.number, separators, len(text))
