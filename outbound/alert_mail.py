# Chinese text uses its own full-width punctuation (RUF001 warns of look-alikes in code).
# ruff: noqa: RUF001
"""Alert and digest mail to buyers: one RFC 5322 message, plain text and HTML
(multipart/alternative), in the buyer's language (English, German, Chinese).

Composed directly as MIME (see `_message`). Everything that came from a supplier (order
numbers, expected and actual values, supplier names) is data: HTML-escaped in the HTML part,
and header values are RFC 2047 encoded.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr
from html import escape

from gateway.domain.alerts import DigestItem

_TEXT: dict[str, dict[str, str]] = {
    "en": {"alert": "Supplier exception", "digest": "Daily digest of supplier exceptions",
           "order": "order", "line": "line", "expected": "expected", "actual": "actual",
           "supplier": "Supplier", "none": "no order", "intro_alert":
           "An exception needs your attention:", "intro_digest":
           "What changed since the last digest, by supplier, worst first:",
           "changes": "changes in this period", "footer":
           "Work on it with: gateway exceptions show {id}",
           "opened": "opened", "worsened": "worsened", "reopened": "reopened",
           "escalated": "escalated (open past its SLA)", "resolved": "resolved"},
    "de": {"alert": "Lieferanten-Ausnahme", "digest": "Tagesübersicht der Lieferanten-Ausnahmen",
           "order": "Bestellung", "line": "Position", "expected": "erwartet",
           "actual": "erhalten", "supplier": "Lieferant", "none": "keine Bestellung",
           "intro_alert": "Eine Ausnahme braucht Ihre Aufmerksamkeit:", "intro_digest":
           "Was sich seit der letzten Übersicht geändert hat, nach Lieferant, das Dringendste "
           "zuerst:", "changes": "Änderungen in diesem Zeitraum", "footer":
           "Bearbeiten mit: gateway exceptions show {id}",
           "opened": "neu", "worsened": "verschärft", "reopened": "wieder offen",
           "escalated": "eskaliert (über der Frist offen)", "resolved": "erledigt"},
    "zh": {"alert": "供应商异常", "digest": "供应商异常每日汇总", "order": "订单",
           "line": "行", "expected": "预期", "actual": "实际", "supplier": "供应商",
           "none": "无订单", "intro_alert": "以下异常需要您处理：",
           "intro_digest": "自上次汇总以来的变化，按供应商分组，最严重的在前：",
           "changes": "本期变化次数", "footer": "处理方式：gateway exceptions show {id}",
           "opened": "新建", "worsened": "加重", "reopened": "重新打开",
           "escalated": "已升级（超过处理时限）", "resolved": "已解决"},
}
_SEVERITY = {"en": {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"},
             "de": {"high": "HOCH", "medium": "MITTEL", "low": "NIEDRIG"},
             "zh": {"high": "高", "medium": "中", "low": "低"}}


@dataclass(frozen=True, slots=True)
class MailSender:
    """Whom alert mail comes from, parsed once: the `From` header's value and the bare
    address. `email.utils.parseaddr` and `formataddr` cost more than composing the rest of
    an alert, and a batch of reconciliations writes hundreds of alerts from one sender."""

    header: str
    address: str

    @classmethod
    def of(cls, sender: str) -> MailSender:
        name, address = parseaddr(sender)
        return cls(formataddr((name, address), charset="utf-8"), address)


def words(language: str) -> dict[str, str]:
    return _TEXT.get(language, _TEXT["en"])


def alert_message(sender: str | MailSender, to: tuple[str, ...], item: DigestItem,
                  language: str, message_id: str, now: datetime) -> bytes:
    """One exception's change, at once. `message_id` without angle brackets."""
    text = words(language)
    subject = (f"[{_SEVERITY[_lang(language)][item.severity.value]}] {text['alert']} "
               f"{text[item.change.value]}: {item.code} · {item.supplier_name} · "
               f"{_where(item, text)}")
    plain = "\n".join([text["intro_alert"], "", *_plain_item(item, text, language), "",
                       text["footer"].format(id=item.exception_id), ""])
    html = (f"<p>{escape(text['intro_alert'])}</p>\n<ul>{_html_item(item, text, language)}"
            f"</ul>\n<p>{escape(text['footer'].format(id=item.exception_id))}</p>\n")
    return _message(sender, to, subject, plain, html, message_id, now)


def digest_message(sender: str, to: tuple[str, ...],
                   groups: list[tuple[str, list[DigestItem]]], language: str,
                   message_id: str, now: datetime) -> bytes:
    text = words(language)
    count = sum(len(items) for _code, items in groups)
    subject = f"{text['digest']} ({count}) · {now.date().isoformat()}"
    plain_lines = [text["intro_digest"], ""]
    html_parts = [f"<p>{escape(text['intro_digest'])}</p>"]
    for code, items in groups:
        heading = f"{text['supplier']} {items[0].supplier_name} ({code})"
        plain_lines += [heading, "-" * min(len(heading), 72)]
        html_parts.append(f"<h3>{escape(heading)}</h3>\n<ul>")
        for item in items:
            plain_lines += [*_plain_item(item, text, language), ""]
            html_parts.append(_html_item(item, text, language))
        html_parts.append("</ul>")
    return _message(sender, to, subject, "\n".join(plain_lines) + "\n",
                    "\n".join(html_parts) + "\n", message_id, now)


def _plain_item(item: DigestItem, text: dict[str, str], language: str) -> list[str]:
    lines = [f"* {_SEVERITY[_lang(language)][item.severity.value]} {item.code} "
             f"({text[item.change.value]}) #{item.exception_id}: {_where(item, text)}",
             f"  {text['expected']}: {item.expected or '-'}; "
             f"{text['actual']}: {item.actual or '-'}"]
    if item.changes > 1:
        lines.append(f"  {text['changes']}: {item.changes}")
    return lines


def _html_item(item: DigestItem, text: dict[str, str], language: str) -> str:
    extra = (f"<br>{escape(text['changes'])}: {item.changes}" if item.changes > 1 else "")
    return (f"<li><strong>{escape(_SEVERITY[_lang(language)][item.severity.value])} "
            f"{escape(item.code)}</strong> ({escape(text[item.change.value])}) "
            f"#{item.exception_id}: {escape(_where(item, text))}<br>"
            f"{escape(text['expected'])}: {escape(item.expected or '-')}; "
            f"{escape(text['actual'])}: {escape(item.actual or '-')}{extra}</li>\n")


def _where(item: DigestItem, text: dict[str, str]) -> str:
    if item.order_number is None:
        return text["none"]
    where = f"{text['order']} {item.order_number}"
    return f"{where} {text['line']} {item.line_no}" if item.line_no else where


def _lang(language: str) -> str:
    return language if language in _SEVERITY else "en"


def _message(sender: str | MailSender, to: tuple[str, ...], subject: str, plain: str,
             html: str, message_id: str, now: datetime) -> bytes:
    """The RFC 5322 bytes, composed directly: the high alerts are written inside the
    reconciliation's transaction, where the `email` package's message objects cost several
    milliseconds each. Both parts are quoted-printable (RFC 2045 section 6.7), which keeps every
    line within 76 octets whatever the text (RFC 5321 section 4.5.3.1.6 allows 1000) and can
    never contain the boundary: `=` is always encoded as `=3D`, and the boundary starts `=_`.
    Header values from supplier text are RFC 2047 encoded, never raw."""
    if isinstance(sender, str):
        sender = MailSender.of(sender)
    # Control characters from supplier text would break the header: spaces instead.
    subject = "".join(c if c.isprintable() else " " for c in subject)[:_SUBJECT_MAX]
    boundary = f"=_{message_id.partition('@')[0][:40]}"
    head = [f"From: {sender.header}",
            f"To: {', '.join(to)}",
            f"Subject: {_header(subject, 'Subject')}",
            f"Date: {format_datetime(now)}",
            f"Message-ID: <{message_id}>",
            # RFC 3834: sent by a program on its own; auto-responders do not answer it.
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"']
    document = f"<!DOCTYPE html>\n<html><body>\n{html}</body></html>\n"
    parts = [_part("plain", plain), _part("html", document)]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part for part in parts)
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body \
        + b"--" + boundary.encode() + b"--\r\n"


_SUBJECT_MAX = 200


def _header(value: str, name: str) -> str:
    """An unstructured header value; non-ASCII as RFC 2047 `B` encoded-words of at most 75
    characters each (section 2), on folded lines, never splitting a character (section 5)."""
    if value.isascii():
        return value
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in value:
        width = len(char.encode("utf-8"))
        if size + width > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    words.append("".join(chunk))
    return "\r\n ".join(
        f"=?utf-8?b?{base64.b64encode(word.encode('utf-8')).decode('ascii')}?="
        for word in words)


_WORD_BYTES = 45   # 60 base64 characters + the 12 of =?utf-8?b??= stay within 75


def _part(subtype: str, text: str) -> bytes:
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(lines.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii") \
        + encoded + (b"" if encoded.endswith(b"\r\n") else b"\r\n")
