"""The header block of a raw message, read within bounds (RFC 5322 section 2.2): the fields
in order, unfolded, names lowercased. The body is never read."""

from __future__ import annotations

import re
from email.utils import getaddresses

# A header block larger than this is read only this far (fields cut off are not seen).
MAX_HEADER_BYTES = 256 * 1024
MAX_FIELDS = 1000
_LINE_END = re.compile(r"\r?\n")


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """(lowercased name, unfolded value) of each field, top first."""
    end = _header_end(raw)
    block = raw[:end].decode("utf-8", errors="replace")
    fields: list[tuple[str, str]] = []
    # Lines end at CRLF (or a bare LF); str.splitlines would also split at a form feed or a
    # Unicode line separator inside a value, letting a Subject smuggle in a field.
    for line in _LINE_END.split(block):
        if line[:1] in (" ", "\t"):
            if fields:   # a continuation line (folding, section 2.2.3)
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            continue
        if len(fields) >= MAX_FIELDS:
            break
        fields.append((name.lower(), value.strip()))
    return fields


def _header_end(raw: bytes) -> int:
    window = raw[:MAX_HEADER_BYTES]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(window)


def from_domain(fields: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The domain of the one author address (RFC 7489 section 6.6.1): a message with no
    `From:`, several, or one with several addresses has none to authenticate. Returns
    (domain, why there is none)."""
    address, why_none = from_address(fields)
    return (address.rpartition("@")[2], None) if address else (None, why_none)


def from_address(fields: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The one author address, lowercased, its domain without a root dot; (None, why) as for
    `from_domain`."""
    values = [value for name, value in fields if name == "from"]
    if len(values) != 1:
        return None, f"{len(values)} From fields"
    addresses = [address for _name, address in getaddresses(values) if address]
    if len(addresses) != 1 or "@" not in addresses[0]:
        return None, "the From field does not hold exactly one address"
    local, _at, domain = addresses[0].rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    return (f"{local.strip().lower()}@{domain}", None) if domain else (
        None, "the From address has no domain")
