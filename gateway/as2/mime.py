"""The MIME layer of an AS2 message, on the exact bytes.

A signature covers bytes, so nothing here re-serialises a part the way the standard library's
`email` package does (it refolds headers and changes line ends). An entity is split into its
header block and body where the first empty line is; a multipart body is cut at its boundary
lines (RFC 2046 section 5.1.1: the CRLF before a boundary belongs to the boundary).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email.message import Message

from gateway.as2.errors import MalformedMessage

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LONE_LF = re.compile(rb"(?<!\r)\n")


@dataclass(frozen=True, slots=True)
class Entity:
    """A MIME entity: its header block (without the empty line) and its body, as received."""

    header: bytes
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), default)

    @property
    def content_type(self) -> str:
        return _parsed(self.get("content-type", "text/plain")).get_content_type()

    def param(self, name: str, header: str = "content-type") -> str:
        value = _parsed(self.get(header), header).get_param(name, header=header)
        return value if isinstance(value, str) else ""

    @property
    def transfer_encoding(self) -> str:
        return self.get("content-transfer-encoding", "binary").strip().lower()

    def decoded_body(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone (binary, 8bit, 7bit, base64)."""
        if self.transfer_encoding == "base64":
            try:
                return base64.b64decode(re.sub(rb"\s+", b"", self.body), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedMessage(f"a base64 body that does not decode: {exc}") from exc
        if self.transfer_encoding in ("binary", "8bit", "7bit"):
            return self.body
        raise MalformedMessage(f"transfer encoding {self.transfer_encoding!r} is not used by "
                               "AS2 (binary or base64)")


def split_entity(raw: bytes) -> Entity:
    """Header block and body of a MIME entity; an entity with no header is all body."""
    if raw.startswith((b"\r\n", b"\n")):
        return Entity(b"", raw[2 if raw.startswith(b"\r\n") else 1:], ())
    match = _HEADER_END.search(raw)
    if match is None:
        raise MalformedMessage("a MIME part with no empty line after its header")
    header = raw[:match.start()]
    return Entity(header, raw[match.end():], parse_header_block(header))


def parse_header_block(header: bytes) -> tuple[tuple[str, str], ...]:
    """Field names in lower case with their unfolded values (RFC 5322 section 2.2.3)."""
    fields: list[tuple[str, str]] = []
    for line in header.decode("latin-1").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name.strip().lower(), value.strip()))
        elif line.strip():
            raise MalformedMessage(f"a header line without a colon: {line[:80]!r}")
    return tuple(fields)


def entity_from_headers(headers: list[tuple[str, str]], body: bytes) -> Entity:
    """The outermost entity of an AS2 message, whose MIME header came as HTTP headers."""
    block = "\r\n".join(f"{name}: {value}" for name, value in headers
                        if name.lower().startswith("content-") or name.lower() == "mime-version")
    return Entity(block.encode("latin-1"), body,
                  tuple((name.lower(), value.strip()) for name, value in headers))


def signed_parts(entity: Entity) -> tuple[bytes, Entity]:
    """The two parts of a multipart/signed body (RFC 1847): the signed part's exact bytes
    and the signature part."""
    boundary = entity.param("boundary")
    if not boundary:
        raise MalformedMessage("multipart/signed without a boundary")
    parts = multipart_parts(entity.body, boundary.encode("latin-1"))
    if len(parts) != 2:
        raise MalformedMessage(f"multipart/signed with {len(parts)} parts instead of 2")
    return parts[0], split_entity(parts[1])


def multipart_parts(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts between boundary lines, found with `bytes.find` (a regular expression tried
    at every position of a 100 KB body cost more than the signature check)."""
    marker = b"--" + boundary
    parts: list[bytes] = []
    start: int | None = None
    at = body.find(marker)
    while at != -1:
        line_start = at == 0 or body[at - 1:at] == b"\n"
        if line_start:
            end = at - 1 if at else 0
            if end and body[end - 1:end] == b"\r":
                end -= 1
            after = at + len(marker)
            closing = body[after:after + 2] == b"--"
            rest_end = body.find(b"\n", after)
            trailer = body[after + (2 if closing else 0):
                           len(body) if rest_end == -1 else rest_end].rstrip(b"\r")
            if not trailer.strip(b" \t"):
                if start is not None:
                    parts.append(body[start:end])
                if closing:
                    return parts
                start = len(body) if rest_end == -1 else rest_end + 1
        at = body.find(marker, at + len(marker))
    raise MalformedMessage("a multipart body without its closing boundary")


def canonical(raw: bytes) -> bytes:
    """Line ends as CRLF (RFC 5751 section 3.1.1), the form a signature and a MIC are over.
    Already canonical (every LF after a CR, counted in C) it is returned as it is."""
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw
    return _LONE_LF.sub(b"\r\n", raw)


def _parsed(value: str, header: str = "content-type") -> Message:
    message = Message()
    message[header] = value
    return message
