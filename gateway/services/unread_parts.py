"""What a reply tells the supplier of the parts of their email that were not read: the place
(a line of the body, an attachment), their own words there, and why, in a kind every language
of the reply has a sentence for (`outbound.email.content.UnreadWhy`).

The email reader locates each problem in its English remark ("line 6 of the email body:
'…' makes its answer depend on a condition …"; "attachment 'AB.xlsx' (part 2): …"), quoting
the supplier's text and file names with Python's `repr`; the place and the quote are taken
back from there, the reason from the problem's code. The English reply keeps the remark whole.
"""

from __future__ import annotations

import ast
import re

from outbound.email.content import UnreadPart, UnreadWhy
from parsers.errors import Problem, ProblemCode

_BODY_LINE = re.compile(r"(?:forwarded message \(part [^)]*\): )?lines? (\d+)(?:-\d+)? of the "
                        r"email body: ")
_ATTACHMENT = re.compile(r"(?:forwarded message \(part [^)]*\): )?attachment ")

_WHY: dict[ProblemCode, UnreadWhy] = {
    ProblemCode.UNREADABLE_TEXT: UnreadWhy.NOT_COMMITTED,
    ProblemCode.AMBIGUOUS_VALUE: UnreadWhy.AMBIGUOUS,
    ProblemCode.INVALID_DATE: UnreadWhy.INVALID_VALUE,
    ProblemCode.INVALID_NUMBER: UnreadWhy.INVALID_VALUE,
    ProblemCode.NOTHING_READABLE: UnreadWhy.NOTHING_ANSWERED,
    ProblemCode.UNSUPPORTED_ATTACHMENT: UnreadWhy.ATTACHMENT,
}


def unread_part(problem: Problem) -> UnreadPart:
    """The part of the email `problem` is about, for the reply."""
    detail = problem.detail
    body = _BODY_LINE.match(detail)
    if body is not None:
        return UnreadPart(_WHY.get(problem.code, UnreadWhy.OTHER), detail,
                          line=int(body.group(1)), quote=quoted_at(detail, body.end()))
    attachment = _ATTACHMENT.match(detail)
    name = quoted_at(detail, attachment.end()) if attachment is not None else None
    if name is not None:
        return UnreadPart(UnreadWhy.ATTACHMENT, detail, attachment=name)
    return UnreadPart(_WHY.get(problem.code, UnreadWhy.OTHER), detail)


def quoted_at(text: str, start: int) -> str | None:
    """The string literal (as `repr` writes one) that begins at `start`, unquoted; None when
    none does. One pass over the literal."""
    quote = text[start:start + 1]
    if quote not in ("'", '"'):
        return None
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return _literal(text[start:index + 1])
        index += 1
    return None


def _literal(source: str) -> str | None:
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None
