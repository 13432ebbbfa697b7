"""Read one raw email (RFC 5322 with MIME, RFC 2045-2049) into a `ParsedEmail`.

The stdlib `email` package splits the message into parts with the compat32 policy, which never
raises on malformed input and records what it repaired as defects; every defect becomes a located
`MailProblem`. Header values, charsets and file names are decoded by this package (`headers`,
`charsets`), not by the stdlib, so each guess is reported.

The body is chosen as a mail reader shows it: in multipart/alternative the text/plain
alternative is the text and the last text/html alternative the HTML (RFC 2046 section 5.1.4:
the last is the richest); in multipart/mixed every inline text part without a file name belongs
to the body, in order. Every other leaf part is an attachment; a message/rfc822 part is read
recursively as a forwarded email.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import Message
from email.policy import Policy

from parsers.errors import Severity
from parsers.mime.charsets import codecs_for, decode_labelled
from parsers.mime.errors import (
    EmptyMessageError,
    HtmlError,
    MailProblem,
    MailProblemCode,
    MessageTooLargeError,
    MimeError,
    error,
    warning,
)
from parsers.mime.headers import (
    RAW_POLICY,
    header_text,
    mailboxes,
    message_date,
    message_id,
    message_ids,
    safe_filename,
)
from parsers.mime.html import html_to_text
from parsers.mime.model import Attachment, Disposition, Mailbox, MailLimits, ParsedEmail

_KNOWN_ENCODINGS = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64",
                              "x-uuencode", "uuencode", "uue", "x-uue"})
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_BASE64_DEFECTS = frozenset({"InvalidBase64PaddingDefect", "InvalidBase64CharactersDefect",
                             "InvalidBase64LengthDefect"})
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
# RFC 5322 section 2.1: the header ends at the first empty line.
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class _Budget:
    """What the limits allow, shared by a message and every message forwarded in it."""

    limits: MailLimits
    attachments: int = 0
    total_bytes: int = 0
    count_reported: bool = False
    text_chars: int = 0


class _TooManyParts(Exception):
    """Raised from inside the stdlib parser to stop it (private to this module)."""


class _PartCounter:
    """The stdlib parser's message factory: counts the parts as the parser splits them off and
    stops it before it allocates one past the limit (the parts of forwarded messages too)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts = -1  # the parser calls its factory once on creation, to try its signature

    def __call__(self, policy: Policy = RAW_POLICY) -> Message:
        self.parts += 1
        if self.parts > self.limit:
            raise _TooManyParts
        return Message(policy=policy)


@dataclass
class _Body:
    """What a walk over one message's parts collects (mutable, private to this module)."""

    budget: _Budget
    problems: list[MailProblem] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[ParsedEmail] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def branch(self) -> _Body:
        """The same lists, except the body texts: for one alternative of several."""
        return replace(self, plain=[], html=[])


def parse_email(raw: bytes, limits: MailLimits | None = None) -> ParsedEmail:
    """One raw RFC 5322 message (bytes as received) as a `ParsedEmail`.

    Raises `MessageTooLargeError` past `limits.max_message_bytes` and `EmptyMessageError` for
    empty input; anything else wrong is a located problem in the result."""
    limits = limits or MailLimits()
    if len(raw) > limits.max_message_bytes:
        raise MessageTooLargeError(f"the message has {len(raw)} bytes, more than the "
                                   f"{limits.max_message_bytes} accepted")
    if not raw.strip():
        raise EmptyMessageError("the message is empty")
    try:
        message = email.message_from_bytes(raw, _PartCounter(limits.max_parts),
                                           policy=RAW_POLICY)
    except _TooManyParts:
        return _header_only(raw, error(MailProblemCode.TOO_MANY_PARTS, (
            f"the message has more than {limits.max_parts} MIME parts (body parts, "
            "attachments and forwarded messages counted together); none of its parts is read"),
            ""))
    except RecursionError as exc:  # the stdlib parser recurses once per nested multipart
        raise MimeError("the message nests its parts too deeply to be read") from exc
    except (ValueError, TypeError, LookupError, IndexError) as exc:
        raise MimeError(f"the message cannot be split into parts: {exc}") from exc
    return _read_message(message, "", 0, _Budget(limits))


def header_sender(raw: bytes) -> str | None:
    """The From address of a message's own header, its body left unparsed: who sent it, known
    cheaply before the message is read (a forwarded message's From needs `parse_email`).
    None when there is no readable address; never raises."""
    end = _HEADER_END.search(raw)
    try:
        message = email.message_from_bytes(raw[:end.start()] if end else raw, policy=RAW_POLICY)
    except (RecursionError, ValueError, TypeError, LookupError, IndexError):
        return None
    boxes, _notes = mailboxes(message.get("from"), _charset_label(message))
    return boxes[0].address if boxes else None


def _header_only(raw: bytes, refusal: MailProblem) -> ParsedEmail:
    """A message whose parts are not read: its own header and why."""
    end = _HEADER_END.search(raw)
    message = email.message_from_bytes(raw[:end.start()] if end else raw, policy=RAW_POLICY)
    body = _Body(_Budget(MailLimits()), problems=[refusal])
    fields = _Fields(message, "", _charset_label(message), body.problems)
    return _parsed(message, fields, body, (None, None), "")


def _read_message(message: Message, path: str, depth: int, budget: _Budget) -> ParsedEmail:
    body = _Body(budget)
    hint = _charset_label(message)
    fields = _Fields(message, path, hint, body.problems)
    if message.is_multipart() and not _is_forward(message):
        _walk_children(message, path, depth, body)
        _record_defects(message, path, body.problems)
    else:
        _walk(message, _child(path, 1), depth, body)
    return _parsed(message, fields, body, _body_texts(body, path), path)


def _parsed(message: Message, fields: _Fields, body: _Body,
            texts: tuple[str | None, str | None], path: str) -> ParsedEmail:
    text_body, html_body = texts
    return ParsedEmail(
        message_id=message_id(message.get("message-id")), sender=fields.sender(),
        to=fields.addresses("to"), cc=fields.addresses("cc"), subject=fields.text("subject"),
        date=fields.date(), text_body=text_body, html_body=html_body,
        attachments=tuple(body.attachments), forwarded=tuple(body.forwarded),
        problems=tuple(body.problems), in_reply_to=message_id(message.get("in-reply-to")),
        references=message_ids(message.get("references")), reply_to=fields.addresses("reply-to"),
        part=path)


@dataclass
class _Fields:
    """Reads the header fields of one message, adding a problem for each guess."""

    message: Message
    path: str
    hint: str | None
    problems: list[MailProblem]

    def text(self, name: str) -> str | None:
        value = self.message.get(name)
        if value is None:
            return None
        text, notes = header_text(value, self.hint)
        self._note(MailProblemCode.MALFORMED_HEADER, name, notes)
        return text

    def addresses(self, name: str) -> tuple[Mailbox, ...]:
        values = self.message.get_all(name) or []
        found: list[Mailbox] = []
        for value in values:
            boxes, notes = mailboxes(value, self.hint)
            found.extend(boxes)
            self._note(MailProblemCode.INVALID_ADDRESS, name, notes)
        return tuple(found)

    def sender(self) -> Mailbox | None:
        if self.message.get("from") is None:
            self.problems.append(warning(MailProblemCode.MISSING_HEADER,
                                         "the message has no From field", self.path))
            return None
        boxes = self.addresses("from")
        return boxes[0] if boxes else None

    def date(self) -> datetime | None:
        parsed, note = message_date(self.message.get("date"))
        self._note(MailProblemCode.INVALID_DATE, "date", [note] if note else [])
        return parsed

    def _note(self, code: MailProblemCode, name: str, notes: list[str]) -> None:
        label = name.capitalize() if name != "reply-to" else "Reply-To"
        self.problems.extend(warning(code, f"{label}: {note}", self.path) for note in notes)


def _walk(part: Message, path: str, depth: int, body: _Body) -> None:
    limits = body.budget.limits
    if depth > limits.max_depth:
        body.problems.append(error(MailProblemCode.TOO_DEEPLY_NESTED, "parts nested deeper "
                                   f"than {limits.max_depth} levels were not read", path))
        return
    if _is_forward(part):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            body.forwarded.append(_read_message(inner[0], path, depth + 1, body.budget))
    elif part.get_content_type() == "multipart/alternative" and part.is_multipart():
        _walk_alternatives(part, path, depth, body)
    elif part.is_multipart() and part.get_content_maintype() == "multipart":
        _walk_children(part, path, depth, body)
    else:
        _leaf(part, path, body)
    _record_defects(part, path, body.problems)


def _walk_children(part: Message, path: str, depth: int, body: _Body) -> None:
    children = part.get_payload()
    if isinstance(children, list):
        for number, child in enumerate(children, 1):
            _walk(child, _child(path, number), depth + 1, body)


def _walk_alternatives(part: Message, path: str, depth: int, body: _Body) -> None:
    plain: list[str] = []
    html: list[str] = []
    children = part.get_payload()
    for number, child in enumerate(children if isinstance(children, list) else [], 1):
        branch = body.branch()
        _walk(child, _child(path, number), depth + 1, branch)
        plain = plain or branch.plain
        html = branch.html or html
    body.plain.extend(plain)
    body.html.extend(html)


def _leaf(part: Message, path: str, body: _Body) -> None:
    content_type = part.get_content_type()
    if content_type.startswith("multipart/"):
        # A multipart whose boundary never occurs (a defect is recorded): its body is text.
        content_type = "text/plain"
    hint = _charset_label(part)
    filename = _filename(part, path, hint, body.problems)
    disposition = part.get_content_disposition()
    encoding = str(part.get("content-transfer-encoding", "7bit")).strip().lower()
    if encoding not in _KNOWN_ENCODINGS:
        body.problems.append(warning(MailProblemCode.UNKNOWN_TRANSFER_ENCODING,
                                     f"unknown Content-Transfer-Encoding {encoding!r}; the "
                                     "content is taken as it stands", path))
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    if content_type in ("text/plain", "text/html") and disposition != "attachment" \
            and filename is None:
        text = _decode_text(data, hint, path, body.problems)
        if _within_text_budget(text, path, body):
            (body.plain if content_type == "text/plain" else body.html).append(text)
        return
    if content_type in _TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        body.problems.append(error(MailProblemCode.UNSUPPORTED_ATTACHMENT, (
            f"attachment {filename or 'winmail.dat'!r} is in Outlook's TNEF format, which is "
            "not read; ask the sender to send plain attachments (not rich text)"), path))
    _keep_attachment(Attachment(
        filename=filename, content_type=content_type,
        disposition=_disposition(disposition, part, path, body.problems), content=data,
        part=path,
        charset=hint if part.get_content_maintype() == "text" else None,
        content_id=message_id(part.get("content-id"))), body)


def _keep_attachment(attachment: Attachment, body: _Body) -> None:
    budget = body.budget
    limits = budget.limits
    if budget.attachments >= limits.max_attachments:
        if not budget.count_reported:
            budget.count_reported = True
            body.problems.append(error(MailProblemCode.TOO_MANY_ATTACHMENTS, (
                f"more than {limits.max_attachments} attachments; this one and every later "
                "one were not read"), attachment.part))
        return
    if budget.total_bytes + attachment.size > limits.max_total_bytes:
        body.problems.append(error(MailProblemCode.ATTACHMENTS_TOO_LARGE, (
            f"attachment {attachment.filename or attachment.content_type!r} "
            f"({attachment.size} bytes) would take the attachments past "
            f"{limits.max_total_bytes} bytes; not read"), attachment.part))
        return
    budget.attachments += 1
    budget.total_bytes += attachment.size
    body.attachments.append(attachment)


def _within_text_budget(text: str, path: str, body: _Body) -> bool:
    """Whether a body text part is read: the body text of a message and every message
    forwarded in it together stay within `max_text_chars`."""
    budget = body.budget
    limit = budget.limits.max_text_chars
    if budget.text_chars + len(text) > limit:
        body.problems.append(error(MailProblemCode.TEXT_TOO_LONG, (
            f"the body text of this part has {len(text)} characters, which would take the "
            f"message's body text past the {limit} read; it is not read"), path))
        return False
    budget.text_chars += len(text)
    return True


def _decode_text(data: bytes, label: str | None, path: str, problems: list[MailProblem]) -> str:
    decoded = decode_labelled(data, label)
    if decoded.note:
        if label is None:
            code = MailProblemCode.UNDECLARED_CHARSET
        elif not codecs_for(label):
            code = MailProblemCode.UNKNOWN_CHARSET
        else:
            code = MailProblemCode.CHARSET_MISMATCH
        problems.append(warning(code, decoded.note, path))
    return decoded.text.replace("\r\n", "\n").replace("\r", "\n")


def _filename(part: Message, path: str, hint: str | None,
              problems: list[MailProblem]) -> str | None:
    """The file name of a part: Content-Disposition `filename`, else Content-Type `name`
    (RFC 2183 section 2.3; `name` is what older mailers send), RFC 2231 and RFC 2047 decoded."""
    value = part.get_param("filename", None, header="content-disposition")
    if value is None:
        value = part.get_param("name", None)
    if value is None:
        return None
    if isinstance(value, tuple):
        charset, _language, encoded = value
        raw = str(encoded).encode("latin-1", "surrogateescape")
        decoded = decode_labelled(raw, charset or None)
        text, notes = decoded.text, [decoded.note] if decoded.note else []
    else:
        text, notes = header_text(str(value), hint)
    name, note = safe_filename(text)
    problems.extend(warning(MailProblemCode.MALFORMED_HEADER, f"file name: {item}", path)
                    for item in notes)
    if note:
        problems.append(warning(MailProblemCode.UNSAFE_FILENAME, note, path))
    return name


def _disposition(value: str | None, part: Message, path: str,
                 problems: list[MailProblem]) -> Disposition:
    """RFC 2183 section 2.8: an unknown disposition type is treated as `attachment`. A part
    without one is inline when the HTML can refer to it (it has a Content-ID, RFC 2392), else an
    attachment, as mail readers show them."""
    if value == "inline" or (value is None and part.get("content-id") is not None):
        return Disposition.INLINE
    if value is None:
        return Disposition.ATTACHMENT
    if value != "attachment":
        problems.append(warning(MailProblemCode.MALFORMED_HEADER,
                                f"unknown Content-Disposition {value!r}; read as attachment",
                                path))
    return Disposition.ATTACHMENT


def _body_texts(body: _Body, path: str) -> tuple[str | None, str | None]:
    html_body = "\n".join(body.html) if body.html else None
    if body.plain:
        return "\n".join(body.plain), html_body
    if html_body is None:
        return None, None
    try:
        return html_to_text(html_body), html_body
    except HtmlError as exc:
        body.problems.append(exc.as_mail_problem(path))
        return None, html_body


def _record_defects(part: Message, path: str, problems: list[MailProblem]) -> None:
    """The stdlib's repairs and doubts (email.errors defects) as located problems."""
    for defect in part.defects:
        name = type(defect).__name__
        what = (type(defect).__doc__ or name).strip().splitlines()[0]
        detail = f"{what} {defect}".strip() if str(defect) else what
        if name in _BASE64_DEFECTS:
            severity = Severity.ERROR if name == "InvalidBase64LengthDefect" else Severity.WARNING
            problems.append(MailProblem(severity, MailProblemCode.BAD_TRANSFER_ENCODING,
                                        f"broken base64: {detail}", path))
        else:
            problems.append(warning(MailProblemCode.MALFORMED_STRUCTURE, detail, path))


def _charset_label(part: Message) -> str | None:
    value = part.get_param("charset", None)
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None


def _is_forward(part: Message) -> bool:
    return part.get_content_type() in _FORWARD_TYPES and part.is_multipart()


def _child(path: str, number: int) -> str:
    return f"{path}.{number}" if path else str(number)
