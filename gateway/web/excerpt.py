"""The raw message an exception came from, cut to what a buyer needs to see, with the part that
raised it highlighted. Pure functions over the bytes: nothing here renders HTML; the templates
escape every character of it (supplier text is data).

- EDIFACT: one segment per line (ISO 9735: the segment terminator, default `'`, ends a segment;
  the release character, default `?`, makes the next character literal; UNA may change both).
  The exception's document is the `message_index`-th UNH message (1-based); its line at
  `position` (1-based, the document's line order) is the `position`-th LIN group, which is
  highlighted from its LIN to the segment before the next LIN or UNS.
- Email: the From, To, Subject and Date headers, the text body line by line (an HTML body is
  shown as the text derived from it, never as HTML), and the attachments' names; body lines
  that name the order number are highlighted.
- Anything else (a CSV sheet, say): the text decoded as UTF-8 (invalid bytes replaced), line
  by line, the lines naming the order number highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINES = 200
MAX_LINE_CHARS = 500


@dataclass(frozen=True, slots=True)
class ExcerptLine:
    number: int
    text: str
    highlighted: bool


@dataclass(slots=True)
class Excerpt:
    kind: str
    lines: list[ExcerptLine] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    truncated: bool = False


def edifact_segments(raw: bytes) -> list[str]:
    """The segments of an interchange as written (terminator dropped, release kept)."""
    text = raw.decode("latin-1")
    release, terminator = "?", "'"
    if text.startswith("UNA") and len(text) >= 9:
        release, terminator = text[6], text[8]
    segments: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == release:
            current.append(char)
            escaped = True
        elif char == terminator:
            segments.append("".join(current).strip("\r\n"))
            current = []
        else:
            current.append(char)
    rest = "".join(current).strip()
    if rest:
        segments.append(rest)
    return segments


def _line_group(segments: list[str], message_index: int | None,
                position: int | None) -> tuple[int, int] | None:
    """Indexes [start, end) of the highlighted segments, or None."""
    if position is None:
        return None
    unh_seen = 0
    lin_seen = 0
    start: int | None = None
    for index, segment in enumerate(segments):
        tag = segment[:3]
        if tag == "UNH":
            unh_seen += 1
            lin_seen = 0
            if start is not None:
                return start, index
        if message_index is not None and unh_seen != message_index:
            continue
        if tag in ("LIN", "UNS", "UNT", "CPS", "CNT") and start is not None:
            return start, index
        if tag == "LIN":
            lin_seen += 1
            if lin_seen == position:
                start = index
    return (start, len(segments)) if start is not None else None


def edifact_excerpt(raw: bytes, message_index: int | None, position: int | None) -> Excerpt:
    segments = edifact_segments(raw)
    group = _line_group(segments, message_index, position)
    lines = [ExcerptLine(number, _clip(segment),
                         group is not None and group[0] <= number - 1 < group[1])
             for number, segment in enumerate(segments, 1)]
    return _window(Excerpt("edifact"), lines, group[0] if group else 0)


def text_excerpt(text: str, marks: list[str], kind: str = "text") -> Excerpt:
    wanted = [mark for mark in marks if mark]
    lines = [ExcerptLine(number, _clip(line), any(mark in line for mark in wanted))
             for number, line in enumerate(text.splitlines(), 1)]
    first = next((line.number - 1 for line in lines if line.highlighted), 0)
    return _window(Excerpt(kind), lines, first)


def email_excerpt(raw: bytes, marks: list[str]) -> Excerpt:
    from parsers.mime.message import parse_email

    parsed = parse_email(raw)
    body = parsed.text_body or ""
    excerpt = text_excerpt(body, marks, "email")
    sender = parsed.sender
    excerpt.headers = [
        ("From", str(sender.address) if sender is not None else ""),
        ("To", ", ".join(str(m.address) for m in parsed.to)),
        ("Subject", parsed.subject or ""),
        ("Date", parsed.date.isoformat() if parsed.date else ""),
    ]
    excerpt.attachments = [a.filename or "(no name)" for a in parsed.attachments]
    return excerpt


def message_excerpt(raw: bytes, filename: str | None, message_index: int | None,
                    position: int | None, marks: list[str]) -> Excerpt:
    """Picks the view by what the bytes are (the same sniffing processing uses)."""
    from mappings.registry import reader_for

    reader = reader_for(raw[:4096], filename or "")
    name = reader.name if reader is not None else ""
    if name == "edifact":
        return edifact_excerpt(raw, message_index, position)
    if name == "email":
        return email_excerpt(raw, marks)
    if name in ("xlsx", "xls"):
        return Excerpt("binary")
    return text_excerpt(raw.decode("utf-8", errors="replace"), marks)


def _window(excerpt: Excerpt, lines: list[ExcerptLine], focus: int) -> Excerpt:
    start = max(0, focus - MAX_LINES // 4)
    excerpt.lines = lines[start:start + MAX_LINES]
    excerpt.truncated = len(excerpt.lines) < len(lines)
    return excerpt


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + "…"
