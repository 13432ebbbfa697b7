"""Header fields as text: unfolding, 8-bit bytes, encoded words, addresses, dates, file names.

The message is parsed with a policy that hands header values back as they were sent (see
`RAW_POLICY`), so every decision about their bytes is made here and reported:

- Unfolding removes the line breaks of folded lines (RFC 5322 section 2.2.3).
- Raw 8-bit bytes in a header are UTF-8 when valid (RFC 6532), else the part's declared charset,
  else Windows-1252, with a note.
- Encoded words (RFC 2047) are decoded by their charset through `charsets.decode_labelled`, so
  that `=?GB2312?B?...?=` is read as GB 18030; adjacent encoded words of one charset are joined
  before decoding, since some mailers split a multi-byte character across two words.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime

from parsers.mime.charsets import DecodedText, codecs_for, decode_labelled, decode_windows_1252
from parsers.mime.model import Mailbox


class _RawHeaderPolicy(Compat32):
    """compat32, the most forgiving parser, except that a header value is returned unfolded and
    undecoded (compat32 would wrap 8-bit values in a `Header` and lose their bytes)."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return "".join(value.splitlines())


RAW_POLICY = _RawHeaderPolicy()

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f\"*:<>?|]")
_MAX_NAME = 255


def raw_bytes(value: str) -> bytes:
    """The bytes of a header value as the parser kept them (undecodable bytes as surrogates)."""
    return value.encode("ascii", "surrogateescape")


def header_text(value: str, hint: str | None = None) -> tuple[str, list[str]]:
    """A header value as text, and notes on every guess made while decoding it."""
    text, notes = eight_bit_text(value, hint)
    decoded, more = decode_encoded_words(text)
    return decoded.strip(), notes + more


def eight_bit_text(value: str, hint: str | None = None) -> tuple[str, list[str]]:
    """Raw 8-bit bytes in a header decoded: UTF-8, else the `hint` charset, else Windows-1252."""
    try:
        data = raw_bytes(value)
    except UnicodeEncodeError:  # already text (a caller passed decoded text)
        return value, []
    if data.isascii():
        return data.decode("ascii"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    for codec in codecs_for(hint):
        try:
            return data.decode(codec), [f"8-bit header text read as {hint}, the part's charset"]
        except UnicodeDecodeError:
            continue
    return decode_windows_1252(data), ["8-bit header text is not UTF-8; read as Windows-1252"]


def decode_encoded_words(text: str) -> tuple[str, list[str]]:
    """RFC 2047 encoded words decoded; white space between two of them dropped (section 6.2)."""
    pieces: list[str] = []
    notes: list[str] = []
    pending: tuple[str, bytes] | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        position = match.end()
        charset, data = match.group(1), _word_bytes(match.group(2), match.group(3))
        if data is None:
            notes.append(f"encoded word {match.group(0)[:60]!r} is not valid; kept as sent")
            _flush(pending, pieces, notes)
            pending = None
            pieces.append(between + match.group(0))
            continue
        if pending is not None and not between.strip():
            if pending[0].lower() == charset.lower():
                pending = (pending[0], pending[1] + data)
                continue
            between = ""
        _flush(pending, pieces, notes)
        pieces.append(between)
        pending = (charset, data)
    _flush(pending, pieces, notes)
    pieces.append(text[position:])
    return "".join(pieces), notes


def _word_bytes(encoding: str, encoded: str) -> bytes | None:
    if encoding in "qQ":
        return binascii.a2b_qp(encoded.encode("ascii"), header=True)
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error:
        return None


def _flush(pending: tuple[str, bytes] | None, pieces: list[str], notes: list[str]) -> None:
    if pending is not None:
        decoded: DecodedText = decode_labelled(pending[1], pending[0])
        pieces.append(decoded.text)
        if decoded.note:
            notes.append(f"encoded word: {decoded.note}")
    return


def mailboxes(value: str | None, hint: str | None = None) -> tuple[tuple[Mailbox, ...], list[str]]:
    """The addresses of an address-list header (RFC 5322 section 3.4), display names decoded.
    Group syntax with no members (`undisclosed-recipients:;`) gives none, without a note."""
    if value is None:
        return (), []
    text, notes = eight_bit_text(value, hint)
    found: list[Mailbox] = []
    for name, address in getaddresses([text]):
        if not name and not address:
            continue
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or "@" in local.strip('"') or " " in address:
            notes.append(f"{address or name!r} is not an email address; ignored")
            continue
        decoded_name, name_notes = decode_encoded_words(name)
        notes.extend(name_notes)
        found.append(Mailbox(address.lower(), decoded_name.strip() or None))
    return tuple(found), notes


def message_id(value: str | None) -> str | None:
    """The first `<id>` of a Message-ID or In-Reply-To field, else its text stripped."""
    if value is None:
        return None
    match = _MESSAGE_ID.search(value)
    if match:
        return match.group(0)
    return value.strip() or None


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every `<id>` of a References field (RFC 5322 section 3.6.4), oldest first."""
    return tuple(_MESSAGE_ID.findall(value or ""))


def message_date(value: str | None) -> tuple[datetime | None, str | None]:
    """The Date field as an aware datetime (RFC 5322 section 3.3). A date without a usable zone
    (`-0000` or none) is read as UTC: `-0000` means exactly that; no zone at all is noted."""
    if value is None or not value.strip():
        return None, None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"date {value.strip()[:60]!r} is not an RFC 5322 date"
    if parsed.tzinfo is not None:
        return parsed, None
    note = None if value.rstrip().endswith("-0000") else (
        f"date {value.strip()[:60]!r} has no time zone; read as UTC")
    return parsed.replace(tzinfo=UTC), note


def safe_filename(name: str | None) -> tuple[str | None, str | None]:
    """A file name reduced to a bare name that can never act as a path, and a note when that
    changed it: directories (`/`, `\\`), drives and streams (`:`), control characters and the
    characters Windows forbids are removed, `.` and `..` refused, the length capped."""
    if name is None or not name.strip():
        return None, None
    bare = re.split(r"[/\\]", name)[-1]
    bare = _UNSAFE_IN_NAME.sub("_", bare).strip().strip(".").strip()
    if len(bare) > _MAX_NAME:
        _stem, dot, extension = bare.rpartition(".")
        keep = extension[:16] if dot else ""
        bare = bare[: _MAX_NAME - len(keep) - 1] + "." + keep if keep else bare[:_MAX_NAME]
    if not bare:
        return None, f"file name {name[:80]!r} is not a usable name; ignored"
    if bare != name:
        return bare, f"file name {name[:80]!r} reduced to {bare!r}"
    return bare, None
