"""What a reader is: the shared piece of the reader table (`mappings.registry.READERS`) and
the email reader (`mappings.email.message`), which reads each attachment with a reader of
that table.

The table is passed to the email reader (`PickReader`, usually `registry.reader_for`) rather
than imported by it, so the registry depends on the email reader and never the other way
round (an import-linter contract keeps it so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from gateway.domain.documents import Document
from mappings.email.columns import ColumnProfile
from parsers.errors import Problem

Result = Document | Problem
# How far a reader is picked by its first bytes: enough to look past blank lines some systems
# put before the UNA, and to see a mail header block.
SNIFF_BYTES = 4096


class ReadFile(Protocol):
    """Reads one stream named `name`; `profile` is how its supplier lays out sheets and writes
    dates and numbers (emails and spreadsheets; EDIFACT says what each value is)."""

    def __call__(self, stream: BinaryIO, name: str, /, *,
                 profile: ColumnProfile | None = None) -> Iterator[Result]: ...


@dataclass(frozen=True, slots=True)
class Reader:
    name: str
    sniff: Callable[[bytes, str], bool]  # (the first bytes, the file name)
    read: ReadFile
    # Read the supplier's way (`ColumnProfile`): processing finds the supplier first.
    per_supplier: bool = True


# The reader for some bytes (their first `SNIFF_BYTES`) and a file name, or None.
PickReader = Callable[[bytes, str], Reader | None]
