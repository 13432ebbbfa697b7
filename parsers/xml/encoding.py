"""The bytes of an XML document as libxml2 is to read them: UTF-16 made UTF-8, and a declared
encoding its bytes contradict corrected (with a remark), before anything else looks at them.

XML 1.0, 4.3.3: every processor reads UTF-8 and UTF-16; appendix F: a UTF-16 document starts
with a byte-order mark, or without one with "<?" as two bytes each. Transcoding it first lets
the entity check search the same bytes for every document, and keeps lines as they were.

Two declarations real senders get wrong are read as what their bytes are, as EDIFACT's UTF-8
under a UNOC label is: `encoding="utf-16"` on UTF-8 bytes (.NET's XmlWriter over a string
declares UTF-16 whatever the file is written in), and an ISO 8859 or Windows-125x label on
bytes that are valid UTF-8 and not ASCII.
"""

from __future__ import annotations

import re

from parsers.errors import MalformedXmlError, ProblemCode

_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_WITHOUT_BOM = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
# The XML declaration's encoding pseudo-attribute (XML 1.0, 2.8 and 4.3.3), looked for in the
# first bytes only: the declaration is short and comes first.
_DECLARATION = re.compile(
    rb"\A(?:\xef\xbb\xbf)?<\?xml[ \t\r\n][^?>]*?encoding[ \t\r\n]*=[ \t\r\n]*"
    rb"([\"'])([A-Za-z][A-Za-z0-9._\-]*)\1")
_DECLARATION_BYTES = 1024
_UTF16_NAMES = frozenset({"utf-16", "utf-16le", "utf-16be", "utf16", "unicode"})
_SINGLE_BYTE_PREFIXES = ("iso-8859-", "iso8859-", "iso_8859-", "windows-125", "cp125", "latin")
_SINGLE_BYTE_NAMES = frozenset({"us-ascii", "ascii", "l1"})


def utf16_codec(head: bytes) -> str | None:
    """The UTF-16 codec the first bytes of a document announce, or None."""
    for mark, codec in (*_BOMS, *_WITHOUT_BOM):
        if head.startswith(mark):
            return codec
    return None


def sniffable(head: bytes) -> bytes:
    """The first bytes of a document as UTF-8 when they are UTF-16 (a character cut at the
    end is dropped), else as they are: what the root element is sniffed from."""
    codec = utf16_codec(head)
    if codec is None:
        return head
    text = head[:len(head) // 2 * 2].decode(codec, errors="ignore")
    return text.removeprefix("\ufeff").encode("utf-8")


def as_utf8(data: bytes) -> tuple[bytes, str | None]:
    """The document's bytes for libxml2 and, when its declaration was corrected, why."""
    codec = utf16_codec(data)
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            raise MalformedXmlError(ProblemCode.UNDECODABLE_BYTES,
                                    f"the document starts as UTF-16 but byte {exc.start} is "
                                    "not UTF-16") from exc
        data = text.removeprefix("\ufeff").encode("utf-8")
        return _declared_utf8(data, _DECLARATION.match(data[:_DECLARATION_BYTES])), None
    match = _DECLARATION.match(data[:_DECLARATION_BYTES])
    if match is None:
        return data, None
    declared = match.group(2).decode("ascii")
    name = declared.lower()
    if name in _UTF16_NAMES:
        return _declared_utf8(data, match), (
            f"the XML declaration says encoding {declared!r}, but the bytes are not UTF-16: "
            "read as UTF-8")
    if _single_byte(name) and not data.isascii() and _is_utf8(data):
        return _declared_utf8(data, match), (
            f"the XML declaration says encoding {declared!r}, but the bytes are UTF-8: read "
            "as UTF-8")
    return data, None


def _declared_utf8(data: bytes, match: re.Match[bytes] | None) -> bytes:
    if match is None:
        return data
    return data[:match.start(2)] + b"UTF-8" + data[match.end(2):]


def _single_byte(name: str) -> bool:
    return name in _SINGLE_BYTE_NAMES or name.startswith(_SINGLE_BYTE_PREFIXES)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
