"""Authentication-Results header fields (RFC 8601), parsed strictly, trusted selectively.

A receiving MX records what it checked in a field that starts with its authserv-id::

    Authentication-Results: mx.buyer.example; dkim=pass header.d=acme.example header.s=s1;
        spf=pass smtp.mailfrom=orders@acme.example; dmarc=pass header.from=acme.example

Anyone can write such a field into a message before it reaches that MX, so only a field
whose authserv-id is configured as trusted is read, and of those only the topmost (the last
one added; an upstream MX is required to remove or rename fields bearing its own id that came
from outside, RFC 8601 section 5, but a forged one below its own is ignored here too). Every
other Authentication-Results field is dropped before anything reads it (section 5); the
stored bytes keep them, exactly as received.

The grammar (section 2.2) in short: `authserv-id [version] (; none | 1*(; method=result
[reason=value] *(ptype.property=value)))`, with comments in parentheses anywhere. A field
that does not parse is not trusted (its results are not guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_FIELD_LENGTH = 16 * 1024
MAX_RESULTS = 64

_SPACE_TO_END = re.compile(r"\s*\Z")
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;="]+)|(=)|(;))')


@dataclass(frozen=True, slots=True)
class MethodResult:
    method: str                       # dkim, spf, dmarc ...
    result: str                       # pass, fail ...
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)   # "header.d" -> "acme.example"


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...]


class AuthResultsSyntaxError(ValueError):
    """The field does not follow RFC 8601 section 2.2."""


def parse(value: str) -> AuthResults:
    if len(value) > MAX_FIELD_LENGTH:
        raise AuthResultsSyntaxError(f"longer than {MAX_FIELD_LENGTH} characters")
    tokens = _tokens(_without_comments(value))
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token == ";":
            groups.append([])
        else:
            groups[-1].append(token)
    head, *specs = groups
    if not head or len(head) > 2 or "=" in head or (len(head) == 2 and not head[1].isdigit()):
        raise AuthResultsSyntaxError("no authserv-id before the first ';'")
    if len(specs) == 1 and specs[0] == ["none"]:
        return AuthResults(head[0].lower(), ())
    if not specs or len(specs) > MAX_RESULTS:
        raise AuthResultsSyntaxError("no results, or too many")
    return AuthResults(head[0].lower(), tuple(_result(spec) for spec in specs))


def _result(spec: list[str]) -> MethodResult:
    if len(spec) < 3 or len(spec) % 3 or any(spec[i] != "=" for i in range(1, len(spec), 3)):
        raise AuthResultsSyntaxError(f"not method=result [name=value ...]: {' '.join(spec)}")
    pairs = [(spec[i].lower(), spec[i + 2]) for i in range(0, len(spec), 3)]
    (method, result), rest = pairs[0], pairs[1:]
    reason = None
    properties: dict[str, str] = {}
    for name, value in rest:
        if name == "reason" and reason is None and not properties:
            reason = value
        elif "." in name.strip(".") and name not in properties:
            properties[name] = value
        else:
            raise AuthResultsSyntaxError(f"unexpected {name}= in the {method} result")
    return MethodResult(method.partition("/")[0], result.lower(), reason, properties)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if _SPACE_TO_END.match(text, position):
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise AuthResultsSyntaxError(f"unreadable at character {position}")
        quoted, word, equals, semicolon = match.groups()
        tokens.append(quoted.replace("\\", "") if quoted is not None
                      else word or equals or semicolon)
        position = match.end()
    return tokens


def _without_comments(text: str) -> str:
    """RFC 5322 comments (nested, with quoted-pairs) become a space; quoted strings are kept.
    One pass, linear in the text."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    if depth or quoted:
        raise AuthResultsSyntaxError("an unclosed comment or quoted string")
    return "".join(out)


def trusted_results(fields: list[tuple[str, str]],
                    trusted_ids: frozenset[str]) -> AuthResults | None:
    """The topmost Authentication-Results field of a trusted authserv-id; every other one is
    ignored. None when there is none, or when that topmost field does not parse (a trusted
    MX never writes one that does not: something is wrong, nothing is taken from it)."""
    if not trusted_ids:
        return None
    for name, value in fields:
        if name != "authentication-results":
            continue
        try:
            found = parse(value)
        except AuthResultsSyntaxError:
            # Whose it is cannot be told for sure: if it may be a trusted MX's, stop rather
            # than read an older (possibly forged) field below it.
            if any(trusted in value.lower() for trusted in trusted_ids):
                return None
            continue
        if found.authserv_id in trusted_ids:
            return found
    return None
