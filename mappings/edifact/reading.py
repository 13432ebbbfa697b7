"""EDIFACT bytes to canonical documents: the registry's EDIFACT reader, kept apart from the
email and spreadsheet readers so that reading EDIFACT alone (`gateway parse file.edi`) loads
neither of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from gateway.domain.documents import Document
from mappings.edifact.messages import map_message
from parsers.edifact import EdifactMessage, parse_edifact
from parsers.errors import Problem

if TYPE_CHECKING:
    from mappings.email.columns import ColumnProfile


def is_edifact(head: bytes, _name: str = "") -> bool:
    """The first bytes, past a UTF-8 byte-order mark and white space, are UNA, UNB or UNH."""
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:3] in (b"UNA", b"UNB", b"UNH")


def read_edifact(stream: BinaryIO, name: str, *,
                 profile: ColumnProfile | None = None) -> Iterator[Document | Problem]:
    """EDIFACT is read the same for every supplier: `profile` does not apply."""
    for item in parse_edifact(stream):
        if isinstance(item, EdifactMessage):
            mapped = map_message(item, name)
            if isinstance(mapped, Document):
                yield mapped
            else:
                yield from mapped
        else:
            yield item
