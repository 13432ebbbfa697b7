"""A supplier's email -> order responses: its body, its attachments, the messages it forwards.

The email is the envelope. Its body (the text, and the tables of its HTML) is read by
`map_email_body`, with the subject and the From address as hints, and the supplier's
`ColumnProfile` when processing knows it (its date order, number style and column names apply
to the body, the attached sheets and the forwarded messages). Each attachment is read as a
file of its own by the reader the registry's table picks from its first bytes (EDIFACT, an
email, an xlsx workbook; the caller passes the table in as `readers`, usually
`mappings.registry.reader_for`, so this module never imports the registry) or, for CSV, which
has no magic number, from its name or content type; an xlsx or CSV file goes through
`map_tables`. An attachment no reader knows (pdf, image) is a warning;
Outlook's TNEF `winmail.dat` is an error (the MIME parser says what the supplier should do), as
the answer may be inside it. A forwarded message (message/rfc822) is read the same way.

Each document's `file` says where it came from: `reply.eml` (the body),
`reply.eml, attachment 'conf.xlsx'`, `reply.eml, forwarded message`. Each problem's detail
starts with the part it was found in, unless it is about the top-level body, whose problems
already name their line ("line 7 of the email body: ...").

An email whose every part together answers nothing yields no document and a
`NOTHING_READABLE` error: never a guessed confirmation. A body that answers nothing next to an
attachment that does ("please find our confirmation attached") is no problem.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from gateway.domain.documents import Document, DocumentStatus, LineStatus, SourceFormat
from mappings.email.body import EmailHints, map_email_body
from mappings.email.columns import ColumnProfile
from mappings.email.commitment import commits_in_advance
from mappings.email.files import read_csv_file
from mappings.email.quotes import split_answer
from mappings.email.statements import order_numbers_in
from mappings.readers import SNIFF_BYTES, PickReader, Result
from parsers.errors import ParseError, Problem, ProblemCode, Severity
from parsers.mime import (
    Attachment,
    Disposition,
    HtmlError,
    MailLimits,
    MailProblem,
    MailProblemCode,
    MimeError,
    ParsedEmail,
    html_tables,
    parse_email,
)

_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
# Each spreadsheet is read within the limits of one file (parsers.sheets SheetLimits, about a
# second of work at worst), and an email may carry up to 100 attachments: the sheets of one
# message, forwarded ones included, are counted so that one email cannot make a hundred files'
# work. Past this many, the others are refused unread with the reason (docs/limits.md).
MAX_SHEETS_PER_MESSAGE = 10
_SHEET_READERS = frozenset({"xlsx", "xls", "csv"})


@dataclass(slots=True)
class _Budget:
    """What one message has spent of its reading budget, over its forwarded messages too,
    and the reader table its attachments are read with."""

    readers: PickReader
    sheets: int = 0


def unread_problems(problems: Iterable[Problem]) -> list[Problem]:
    """An email's errors in the order a buyer should read them. Every error in an email is part
    of the supplier's answer that was not read with confidence (a statement, a row, an
    attachment refused over a limit or as a compressed bomb, TNEF, a refused EDIFACT message),
    and the buyer has to read the email (processing raises UNREADABLE_REPLY). The specific
    reasons come first; "nothing readable" only sums them up."""
    return sorted((p for p in problems if p.is_error),
                  key=lambda p: p.code is ProblemCode.NOTHING_READABLE)

# The nearest code of the shared list (README: the JSON contract) for each email problem.
_CODES: dict[MailProblemCode, ProblemCode] = {
    MailProblemCode.MALFORMED_HEADER: ProblemCode.ASSUMED_VALUE,
    MailProblemCode.INVALID_ADDRESS: ProblemCode.INVALID_IDENTIFIER,
    MailProblemCode.INVALID_DATE: ProblemCode.INVALID_DATE,
    MailProblemCode.MISSING_HEADER: ProblemCode.MISSING_VALUE,
    MailProblemCode.MALFORMED_STRUCTURE: ProblemCode.ASSUMED_VALUE,
    MailProblemCode.UNKNOWN_CHARSET: ProblemCode.CHARSET_MISMATCH,
    MailProblemCode.CHARSET_MISMATCH: ProblemCode.CHARSET_MISMATCH,
    MailProblemCode.UNDECLARED_CHARSET: ProblemCode.ASSUMED_VALUE,
    MailProblemCode.BAD_TRANSFER_ENCODING: ProblemCode.UNDECODABLE_BYTES,
    MailProblemCode.UNKNOWN_TRANSFER_ENCODING: ProblemCode.ASSUMED_VALUE,
    MailProblemCode.UNSAFE_FILENAME: ProblemCode.ASSUMED_VALUE,
    MailProblemCode.UNSUPPORTED_ATTACHMENT: ProblemCode.UNSUPPORTED_ATTACHMENT,
    MailProblemCode.TOO_MANY_ATTACHMENTS: ProblemCode.UNSUPPORTED_SYNTAX,
    MailProblemCode.ATTACHMENTS_TOO_LARGE: ProblemCode.UNSUPPORTED_SYNTAX,
    MailProblemCode.TOO_DEEPLY_NESTED: ProblemCode.UNSUPPORTED_SYNTAX,
    MailProblemCode.TOO_MANY_PARTS: ProblemCode.UNSUPPORTED_SYNTAX,
    MailProblemCode.TEXT_TOO_LONG: ProblemCode.UNSUPPORTED_SYNTAX,
    MailProblemCode.UNREADABLE_HTML: ProblemCode.UNREADABLE_TEXT,
}


@dataclass(frozen=True, slots=True)
class EmailEnvelope:
    """What an email says about itself: who wrote it (the From address, then the From of each
    message it forwards), its Message-ID and subject, and the order numbers the subject names."""

    message_id: str | None
    sender_addresses: tuple[str, ...]
    subject: str | None
    order_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EmailReading:
    """An email read: its envelope (None when it cannot be read as an email at all) and its
    documents and problems."""

    envelope: EmailEnvelope | None
    results: tuple[Result, ...]


def read_email(source: BinaryIO | bytes, name: str, *, readers: PickReader,
               profile: ColumnProfile | None = None) -> Iterator[Result]:
    """The documents and problems of one raw email (RFC 5322 bytes as received)."""
    raw = source if isinstance(source, bytes) else source.read(MailLimits().max_message_bytes + 1)
    yield from read_email_message(raw, name, readers=readers, profile=profile).results


def read_email_message(raw: bytes, name: str, limits: MailLimits | None = None, *,
                       readers: PickReader,
                       profile: ColumnProfile | None = None) -> EmailReading:
    """`readers` picks the reader of an attachment by its first bytes and name
    (`mappings.registry.reader_for`). `profile` is the supplier's: its date order and number
    style for the body, its column names and letters for tables and attached sheets, in
    forwarded messages too."""
    try:
        parsed = parse_email(raw, limits)
    except MimeError as exc:
        return EmailReading(None, (exc.as_problem(),))
    results = _read(parsed, name, _Budget(readers), top=True, profile=profile)
    if not any(isinstance(r, Document) for r in results) and not any(
            isinstance(r, Problem) and r.code is ProblemCode.NOTHING_READABLE for r in results):
        results.append(Problem(Severity.ERROR, ProblemCode.NOTHING_READABLE,
                               "the email has no text and no attachment that answers an order"))
    return EmailReading(_envelope(parsed), tuple(results))


def _envelope(parsed: ParsedEmail) -> EmailEnvelope:
    senders = [m.from_address for m in (parsed, *_forwarded(parsed)) if m.from_address]
    return EmailEnvelope(parsed.message_id, tuple(dict.fromkeys(senders)), parsed.subject,
                         tuple(dict.fromkeys(order_numbers_in(parsed.subject or ""))))


def _forwarded(parsed: ParsedEmail) -> Iterator[ParsedEmail]:
    for inner in parsed.forwarded:
        yield inner
        yield from _forwarded(inner)


def _read(parsed: ParsedEmail, label: str, budget: _Budget, *, top: bool,
          profile: ColumnProfile | None = None) -> list[Result]:
    """One email's own problems, body, attachments and forwarded messages, in that order."""
    where = "" if top else f"forwarded message (part {parsed.part}): "
    results: list[Result] = [_mail_problem(p) for p in parsed.problems]
    parts: list[Result] = []
    for attachment in parsed.attachments:
        parts += _read_attachment(attachment, label, where, budget, profile)
    if _confirms_attachments(parsed.text_body or ""):
        _commit_sheet_lines(parts)
    for inner in parsed.forwarded:
        parts += _read(inner, f"{label}, forwarded message", budget, top=False,
                       profile=profile)
    answered = any(isinstance(r, Document) for r in parts)
    results += _read_body(parsed, label, where, answered, profile)
    return results + parts


def _confirms_attachments(text: str) -> bool:
    """Whether the reply's own text says its attachment is a confirmation ("Please find our
    confirmation attached", "anbei unsere Auftragsbestätigung")."""
    return any(commits_in_advance(line) for _, line in split_answer(text).lines)


def _commit_sheet_lines(parts: list[Result]) -> None:
    """A sheet sent as "our confirmation": its rows without a status word of their own are
    accepted (a row whose status or remark says otherwise keeps that, or was refused)."""
    for document in parts:
        if not isinstance(document, Document) or (
                document.source_format is not SourceFormat.SPREADSHEET):
            continue
        for line in document.lines:
            if line.status is None:
                line.status = LineStatus.ACCEPTED
        if document.status is None and all(
                line.status is LineStatus.ACCEPTED for line in document.lines):
            document.status = DocumentStatus.ACCEPTED


def _read_body(parsed: ParsedEmail, label: str, where: str, answered: bool,
               profile: ColumnProfile | None = None) -> list[Result]:
    text = parsed.text_body or ""
    try:
        tables = html_tables(parsed.html_body) if parsed.html_body else ()
    except HtmlError as exc:
        return [_relocated(exc.as_problem(), where)]
    if not text.strip() and not tables:
        return []
    hints = EmailHints(subject=parsed.subject, sender=parsed.from_address,
                       date_order=profile.date_order if profile else None,
                       number_style=profile.number_style if profile else None, profile=profile)
    results = map_email_body(text, tables, hints=hints, file=label)
    if answered:
        # "Please find our confirmation attached": the attachment is the answer.
        results = [r for r in results
                   if not (isinstance(r, Problem) and r.code is ProblemCode.NOTHING_READABLE)]
    return [_relocated(r, where) if isinstance(r, Problem) else r for r in results]


def _read_attachment(attachment: Attachment, label: str, where: str, budget: _Budget,
                     profile: ColumnProfile | None = None) -> list[Result]:
    shown = attachment.filename or f"part {attachment.part}"
    prefix = f"{where}attachment {shown!r} (part {attachment.part}): "
    if attachment.content_type in _TNEF_TYPES or shown.lower() == "winmail.dat":
        return []  # reported by the MIME parser, with what the supplier should do
    if attachment.disposition is Disposition.INLINE and attachment.content_id \
            and attachment.content_type.startswith("image/"):
        return []  # a picture the HTML body shows (a logo in the signature)
    file = f"{label}, attachment {shown!r}"
    results = _attachment_results(attachment, file, budget, profile)
    if results is None:
        return [Problem(Severity.WARNING, ProblemCode.UNSUPPORTED_ATTACHMENT,
                        f"{prefix}attachment {shown!r} ({attachment.content_type}) not read: "
                        "only EDIFACT, X12, UBL, cXML, email, xlsx, xls and csv attachments "
                        "are read")]
    try:
        found = list(results)
    except ParseError as exc:
        found = [exc.as_problem()]
    return [_relocated(r, prefix) if isinstance(r, Problem) else r for r in found]


def _attachment_results(attachment: Attachment, file: str, budget: _Budget,
                        profile: ColumnProfile | None) -> Iterator[Result] | None:
    """The reader for an attachment, as for a file: by its first bytes, a CSV by its name or
    content type (read with the part's declared charset)."""
    name = attachment.filename or ""
    is_csv = attachment.content_type in _CSV_TYPES or name.lower().endswith(".csv")
    reader = budget.readers(attachment.content[:SNIFF_BYTES], name)
    if is_csv or (reader is not None and reader.name in _SHEET_READERS):
        budget.sheets += 1
        if budget.sheets > MAX_SHEETS_PER_MESSAGE:
            return iter([Problem(
                Severity.ERROR, ProblemCode.UNSUPPORTED_ATTACHMENT,
                f"not read: the email carries more than {MAX_SHEETS_PER_MESSAGE} spreadsheets, "
                "the most one message is read with; send the others in another email")])
    stream = io.BufferedReader(io.BytesIO(attachment.content))
    if reader is not None and reader.name != "csv":
        return reader.read(stream, file, profile=profile)
    if is_csv:
        return read_csv_file(stream, file, table_name=name or f"part {attachment.part}",
                             encoding=attachment.charset, profile=profile)
    return None


def _mail_problem(problem: MailProblem) -> Problem:
    """Located by its part path (IMAP numbering, as a mail program's "view source" shows)."""
    part = f"part {problem.part}: " if problem.part else ""
    return Problem(problem.severity, _CODES[problem.code], f"{part}{problem.detail}")


def _relocated(problem: Problem, prefix: str) -> Problem:
    return replace(problem, detail=prefix + problem.detail) if prefix else problem
