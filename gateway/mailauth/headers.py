"""The header block of a raw message, read within bounds (RFC 5322 section 2.2): the fields
in order, unfolded, names lowercased. The body is never read."""

from __future__ import annotations

import re
from email.utils import getaddresses

# A header block larger than this, or with more fields, is not read at all (what lies beyond
# could be a second From or Subject that the mail reader sees).
MAX_HEADER_BYTES = 256 * 1024
MAX_FIELDS = 1000
# A line and its end: CRLF, a bare CR or a bare LF, as the mail reader (Python's email
# package) ends lines. A form feed or a Unicode line separator ends none.
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")
# A line the reader takes as part of the header: a field (any printable ASCII name, without
# space, before the colon), a continuation, or a Unix "From " envelope line. Any other line,
# like an empty one, ends the header: the rest is body.
_HEADER_LINE = re.compile(r"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """(lowercased name, unfolded value) of each field, top first, read exactly where the mail
    reader reads them: the fields the check reads (the From, the Subject, Authentication-
    Results) must be those the reader takes. A bare CR (which RFC 5322 section 2.2 forbids)
    ends a line for the reader, not for dkimpy: read otherwise, `X: 1<CR><CR>promise` above a
    genuine signed header would show the check the supplier's signed From and the reader a
    body that starts with the promise. None when the header is larger than the bounds."""
    cut = len(raw) > MAX_HEADER_BYTES
    text = raw[:MAX_HEADER_BYTES].decode("utf-8", errors="replace")
    fields: list[tuple[str, str]] = []
    for match in _LINE.finditer(text):
        line = match.group(1)
        if not line or not _HEADER_LINE.match(line):
            # The header's end; or the window's, inside the header: not read at all.
            return [] if cut and not match.group(2) else fields
        if line[0] in " \t":
            if fields:   # a continuation line (folding, section 2.2.3)
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}")
            continue
        name, _colon, value = line.partition(":")
        if line.startswith("From ") or not name:   # an envelope line, or no name: no field
            continue
        if len(fields) >= MAX_FIELDS:
            return []
        fields.append((name.lower(), value.strip()))
    return [] if cut else fields


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
