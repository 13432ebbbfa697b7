"""Which reader handles which input: a table that fits on one screen (CONVENTIONS.md).

`read_documents` sniffs the first bytes of a file, picks the reader, and yields canonical
documents and located problems, one message at a time. An email's attachments are read through
the same table (`reader_for`): the email is the envelope.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gateway.domain.documents import Document
from mappings.cxml.reading import is_cxml, read_cxml
from mappings.edifact.messages import map_message
from mappings.edifact.reading import is_edifact, read_edifact
from mappings.email.columns import ColumnProfile
from mappings.email.files import read_csv_file, read_workbook_file, workbook_results
from mappings.email.message import EmailEnvelope, read_email, read_email_message
from mappings.readers import SNIFF_BYTES as _SNIFF_BYTES
from mappings.readers import PickReader
from mappings.readers import Reader as Reader
from mappings.readers import Result as Result
from mappings.ubl.reading import is_ubl, read_ubl
from mappings.x12.reading import is_x12, read_x12
from parsers.edifact import EdifactMessage, InterchangeHeader, parse_edifact
from parsers.errors import ParseError, Problem, ProblemCode, Severity
from parsers.mime import header_sender
from parsers.sheets import SheetLimits, read_xls
from parsers.xml import root_name
from parsers.xml.encoding import sniffable, utf16_codec

# RFC 5322 section 2.2: a field name is printable US-ASCII except the colon, then a colon.
_FIELD = re.compile(rb"^[!-9;-~]+[ \t]*:")
# Fields that a mail system writes and no EDIFACT, CSV or text file starts with.
_MAIL_FIELDS = frozenset({b"from", b"received", b"message-id", b"mime-version",
                          b"return-path", b"delivered-to", b"x-original-to", b"dkim-signature",
                          b"arc-seal", b"authentication-results"})




def _is_email(head: bytes, _name: str = "") -> bool:
    """A header block: every line up to the first empty one is a field or its continuation,
    the first is a field, and a field a mail system writes is among them (an mbox `From `
    line may come first)."""
    lines = head.lstrip(b"\r\n").split(b"\n")
    if len(head) >= _SNIFF_BYTES:
        lines = lines[:-1]  # the last line may be cut short
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    names: set[bytes] = set()
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        field = _FIELD.match(line)
        if field is None and not (names and line[:1] in (b" ", b"\t")):
            return False
        if field is not None:
            names.add(field.group().rstrip(b": \t").lower())
    return bool(names & _MAIL_FIELDS)


def _is_workbook(head: bytes, _name: str = "") -> bool:
    """A zip archive (xlsx; the reader refuses a zip without the xl/ workbook part, and says
    what it is: docx, ods, xlsb)."""
    return head.startswith(b"PK\x03\x04")


def _is_legacy_workbook(head: bytes, _name: str = "") -> bool:
    """An OLE2 compound file: a legacy .xls (the reader refuses an encrypted workbook, a .doc
    or an .msg, and says what it is)."""
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def read_legacy_workbook_file(stream: BinaryIO, name: str, *,
                              profile: ColumnProfile | None = None) -> Iterator[Result]:
    limits = SheetLimits()
    data = stream.read(limits.max_file_bytes + 1)
    yield from workbook_results(read_xls(data, limits), name, profile, "sheet")


def _is_csv(_head: bytes, name: str) -> bool:
    # CSV has no magic number: only a file named .csv is read as one (never a guess).
    return name.lower().endswith(".csv")


def read_email_file(stream: BinaryIO, name: str, *,
                    profile: ColumnProfile | None = None) -> Iterator[Result]:
    """An email, its attachments read with this table (`reader_for`)."""
    return read_email(stream, name, readers=reader_for, profile=profile)


READERS: tuple[Reader, ...] = (
    Reader("edifact", is_edifact, read_edifact, per_supplier=False),
    Reader("x12", is_x12, read_x12, per_supplier=False),
    Reader("ubl", is_ubl, read_ubl, per_supplier=False),
    Reader("cxml", is_cxml, read_cxml, per_supplier=False),
    Reader("email", _is_email, read_email_file),
    Reader("xlsx", _is_workbook, read_workbook_file),
    Reader("xls", _is_legacy_workbook, read_legacy_workbook_file),
    Reader("csv", _is_csv, read_csv_file),
)


def reader_for(head: bytes, name: str) -> Reader | None:
    return next((reader for reader in READERS if reader.sniff(head, name)), None)


def read_stream(stream: BinaryIO, name: str,
                profile: ColumnProfile | None = None) -> Iterator[Result]:
    """Documents and problems of one input stream, whatever its format; a spreadsheet or an
    email read with its supplier's `profile`, when given."""
    head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if hasattr(stream, "peek") else b""
    reader = reader_for(head, name)
    if reader is None:
        yield Problem(Severity.ERROR, ProblemCode.NOT_EDIFACT, _not_recognised(head))
        return
    try:
        yield from reader.read(stream, name, profile=profile)
    except ParseError as exc:
        yield exc.as_problem()


def _not_recognised(head: bytes) -> str:
    """What a file no reader takes is: XML is named by its root element, which says more than
    its first bytes (always the XML declaration)."""
    root = root_name(head)
    if root is not None:
        return (f"format not recognised: XML whose root element is {root!r}, which is not a "
                "UBL Order, OrderResponse, OrderResponseSimple or DespatchAdvice (bare or in "
                "a StandardBusinessDocument envelope) nor cXML")
    if utf16_codec(head) is not None:
        shown = sniffable(head)[:20].decode("utf-8", errors="replace")
        return (f"format not recognised: the file is UTF-16 text starting {shown!r}; EDIFACT "
                "and X12 are read in 8-bit encodings (ASCII, ISO 8859, UTF-8): send it in one "
                "of those")
    shown = head[:20].decode("latin-1", errors="replace")
    return (f"format not recognised: the file starts with {shown!r}, which is not EDIFACT "
            "(UNA/UNB/UNH), X12 (ISA), UBL or cXML, an email, an xlsx workbook, nor named .csv")


@dataclass(frozen=True, slots=True)
class MessageHeading:
    """What an EDIFACT message said about itself (UNH and the UNB it came in) and the syntax
    problems the parser found in it: what a CONTRL answers, kept without the segments."""

    index: int
    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    interchange: InterchangeHeader | None
    problems: tuple[Problem, ...]
    refused: bool


@dataclass(frozen=True, slots=True)
class Reading:
    """A message read whole, for processing: its results and, for an email, its envelope
    (who sent it, its subject), which says who to ask when nothing in it could be read.
    For an EDIFACT file, `edifact` holds each message's heading and each file-level problem
    in the order they came (what an acknowledgement answers)."""

    results: list[Result]
    envelope: EmailEnvelope | None = None
    edifact: tuple[MessageHeading | Problem, ...] = ()
    # An email's EDIFACT attachments (its forwarded messages' too), each as `edifact` holds a
    # bare file, in the order they were read.
    attached: tuple[AttachedInterchanges, ...] = ()
    # An email's X12 attachments (its forwarded messages' too), in the order they were read:
    # what a 997/999 answers, as for a bare X12 file.
    attached_x12: tuple[AttachedX12, ...] = ()


@dataclass(frozen=True, slots=True)
class AttachedInterchanges:
    """An EDIFACT file attached to an email: the name its documents carry (`Document.file`,
    "reply.eml, attachment 'x.edi'") and its headings and file-level problems in order."""

    file: str
    edifact: tuple[MessageHeading | Problem, ...]


@dataclass(frozen=True, slots=True)
class AttachedX12:
    """An X12 file attached to an email: the name its documents carry and its bytes (the
    997/999 reads its functional groups from them, as from a bare file's)."""

    file: str
    raw: bytes


def read_message(raw: bytes, name: str, profile: ColumnProfile | None = None) -> Reading:
    """A message read whole; an email or a spreadsheet with its supplier's `profile`."""
    reader = reader_for(raw[:_SNIFF_BYTES], name)
    if reader is not None and reader.name == "email":
        attached: list[AttachedInterchanges] = []
        attached_x12: list[AttachedX12] = []
        reading = read_email_message(
            raw, name, readers=_noting_interchanges(attached, attached_x12), profile=profile)
        return Reading(list(reading.results), reading.envelope, attached=tuple(attached),
                       attached_x12=tuple(attached_x12))
    if reader is not None and reader.name == "edifact":
        return read_interchanges(raw, name)
    return Reading(list(read_stream(io.BufferedReader(io.BytesIO(raw)), name, profile)))


def read_interchanges(raw: bytes, name: str) -> Reading:
    """An EDIFACT file read as `read_edifact` reads it, keeping each message's heading."""
    results: list[Result] = []
    noted: list[MessageHeading | Problem] = []
    try:
        for item in parse_edifact(io.BufferedReader(io.BytesIO(raw))):
            if isinstance(item, EdifactMessage):
                mapped = map_message(item, name)
                if isinstance(mapped, Document):
                    results.append(mapped)
                    refusal: list[Problem] = []
                else:
                    results += mapped
                    refusal = [p for p in mapped if p not in item.problems]
                noted.append(_heading(item, refusal))
            else:
                results.append(item)
                noted.append(item)
    except ParseError as exc:
        results.append(exc.as_problem())
        noted.append(exc.as_problem())
    return Reading(results, None, tuple(noted))


def _noting_interchanges(attached: list[AttachedInterchanges],
                         attached_x12: list[AttachedX12]) -> PickReader:
    """`reader_for`, but an EDIFACT attachment is read by `read_interchanges`, its headings
    noted in `attached` (what acknowledges it) as its results are handed to the email; an
    X12 attachment is read as a bare file is, its bytes noted in `attached_x12`."""
    def read(stream: BinaryIO, name: str, *,
             profile: ColumnProfile | None = None) -> Iterator[Result]:
        reading = read_interchanges(stream.read(), name)
        attached.append(AttachedInterchanges(name, reading.edifact))
        return iter(reading.results)

    def read_noted_x12(stream: BinaryIO, name: str, *,
                       profile: ColumnProfile | None = None) -> Iterator[Result]:
        # The attachment is in memory already (the email parser decoded it): kept as bytes.
        data = stream.read()
        attached_x12.append(AttachedX12(name, data))
        return read_x12(io.BufferedReader(io.BytesIO(data)), name)

    def pick(head: bytes, name: str) -> Reader | None:
        reader = reader_for(head, name)
        if reader is not None and reader.name == "edifact":
            return Reader("edifact", is_edifact, read, per_supplier=False)
        if reader is not None and reader.name == "x12":
            return Reader("x12", is_x12, read_noted_x12, per_supplier=False)
        return reader
    return pick


def _heading(message: EdifactMessage, refusal: list[Problem]) -> MessageHeading:
    return MessageHeading(message.index, message.reference, message.type, message.version,
                          message.release, message.agency, message.association,
                          message.interchange, (*message.problems, *refusal),
                          message.refused or bool(refusal))


@dataclass(frozen=True, slots=True)
class Preview:
    """What is known of a message before it is read: whether its supplier's profile applies
    (an email or a spreadsheet; not EDIFACT), and an email's From addresses, from its header."""

    per_supplier: bool
    sender_addresses: tuple[str, ...] = ()


def preview_message(raw: bytes, name: str) -> Preview:
    """Cheap: sniffs the first bytes and, for an email, reads its header alone."""
    reader = reader_for(raw[:_SNIFF_BYTES], name)
    if reader is None or not reader.per_supplier:
        return Preview(False)
    sender = header_sender(raw) if reader.name == "email" else None
    return Preview(True, (sender,) if sender else ())


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
