"""The supplier's own words in a reply: the text above the quoted original.

A reply carries the buyer's purchase order back, quoted; read as an answer it would confirm
every line exactly as ordered. The answer ends at the first of:

- a line starting with `>` (plain-text quoting, and HTML blockquotes as converted upstream);
- `-----Original Message-----`, `-----Ursprüngliche Nachricht-----`, `-------- 原始邮件 --------`
  (Outlook, Thunderbird, Foxmail and their translations);
- an Outlook header block: `From:` / `Von:` / `发件人:` followed within three lines by `Sent:`,
  `Gesendet:`, `Date:`, `Datum:`, `发送时间:` or `日期:`;
- an attribution line: `On ... wrote:`, `Am ... schrieb ...:`, `在 ... 写道:` (also when the
  mail program wrapped it over two lines);
- the signature separator `-- ` (RFC 3676, 4.3).

Text below the quote is not read. When it holds something that looks like an answer (an
inline reply between quoted lines), the caller is told, so that it is not silently lost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SEPARATORS = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|"
    r"原始邮件|原始郵件)\s*-{2,}|_{10,})\s*$", re.IGNORECASE)
_FROM = re.compile(r"^\s*\*?(?:from|von|发件人|寄件者)\s*\*?\s*:", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(?:sent|gesendet|date|datum|发送时间|日期|寄件日期)\s*\*?\s*:",
                   re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^\s*(?:on\s.+\swrote|am\s.+\sschrieb.*|在.+写道)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|am|在)\s", re.IGNORECASE)
_SIGNATURE = "-- "
_HEADER_WINDOW = 3


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply's own lines as (line number in the body from 1, NFKC text), the quoted part
    in the same form, and the line where the quote starts (None: nothing quoted)."""

    lines: tuple[tuple[int, str], ...]
    quoted: tuple[tuple[int, str], ...]
    quote_starts: int | None


def split_answer(body: str) -> Answer:
    """The reply's own text and the quoted original below it."""
    raw = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [unicodedata.normalize("NFKC", line) for line in raw]
    end = _quote_start(raw, lines)
    numbered = tuple((number, text) for number, text in enumerate(lines, 1))
    if end is None:
        return Answer(numbered, (), None)
    return Answer(numbered[:end], numbered[end:], end + 1)


def _quote_start(raw: list[str], lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if (line.lstrip().startswith(">") or _SEPARATORS.match(line)
                or raw[index] == _SIGNATURE or _is_header_block(lines, index)
                or _ATTRIBUTION.match(line)):
            return index
        wrapped = " ".join(lines[index:index + 2])
        if _ATTRIBUTION_START.match(line) and _ATTRIBUTION.match(wrapped):
            return index
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _FROM.match(lines[index]):
        return False
    return any(_SENT.match(line) for line in lines[index + 1:index + 1 + _HEADER_WINDOW])
