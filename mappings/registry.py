"""Which reader handles which input: a table that fits on one screen (CONVENTIONS.md).

`read_documents` sniffs the first bytes of a file, picks the reader, and yields canonical
documents and located problems, one message at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gateway.domain.documents import Document
from mappings.edifact.messages import map_message
from parsers.edifact import EdifactMessage, parse_edifact
from parsers.errors import ParseError, Problem, ProblemCode, Severity

Result = Document | Problem
# Enough to look past blank lines some systems put before the UNA.
_SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Reader:
    name: str
    sniff: Callable[[bytes], bool]
    read: Callable[[BinaryIO, str], Iterator[Result]]


def _is_edifact(head: bytes) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:3] in (b"UNA", b"UNB", b"UNH")


def read_edifact(stream: BinaryIO, name: str) -> Iterator[Result]:
    for item in parse_edifact(stream):
        if isinstance(item, EdifactMessage):
            mapped = map_message(item, name)
            if isinstance(mapped, Document):
                yield mapped
            else:
                yield from mapped
        else:
            yield item


READERS: tuple[Reader, ...] = (
    Reader("edifact", _is_edifact, read_edifact),
)


def read_stream(stream: BinaryIO, name: str) -> Iterator[Result]:
    """Documents and problems of one input stream, whatever its format."""
    head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if hasattr(stream, "peek") else b""
    for reader in READERS:
        if reader.sniff(head):
            try:
                yield from reader.read(stream, name)
            except ParseError as exc:
                yield exc.as_problem()
            return
    shown = head[:20].decode("latin-1", errors="replace")
    yield Problem(Severity.ERROR, ProblemCode.NOT_EDIFACT,
                  f"format not recognised: the file starts with {shown!r}, which is not "
                  "EDIFACT (UNA/UNB/UNH)")


def read_documents(path: Path) -> Iterator[Result]:
    """Documents and problems of one file. An unreadable file is one problem, not a crash."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        yield Problem(Severity.ERROR, ProblemCode.NOT_EDIFACT,
                      f"cannot read the file: {exc.strerror or exc}")
        return
    with stream:
        yield from read_stream(stream, str(path))
