"""Parse one XML document safely, or say where it is broken.

Supplier XML is hostile input (docs/limits.md):

- no network access and no DTD loading: a cXML `<!DOCTYPE cXML SYSTEM "http://...">` is
  common and is never fetched;
- no entity expansion: a document whose DOCTYPE declares entities (billion laughs, an external
  entity naming a local file: XXE) is refused before parsing, and lxml is told not to resolve
  any entity besides; a declaration the byte search cannot see (an encoding such as UTF-7,
  RFC 2152, writes "<!" as "+ADwAIQ-") is found in the parsed DTD and refused all the same;
- a size cap checked before the bytes are parsed, and a nesting depth cap: libxml2's own,
  256 levels without XML_PARSE_HUGE (`huge_tree`, never set), enforced while parsing, before
  anything deeper is built, as are its caps on a text node (10 MB) and a start tag (its
  attributes and namespace declarations); over any, a located `OVER_LIMIT` error. (A walk
  of the tree to check a lower depth would cost as much as the parse itself: every element
  would get its Python proxy.);
- a document that is not well-formed is refused with the line and column libxml2 reports;
- UTF-16 is read as UTF-8 (parsers/xml/encoding.py), so every check sees the same bytes.

lxml's errors never escape: each becomes an `XmlError` (parsers/errors.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from parsers.errors import (
    ForbiddenXmlError,
    MalformedXmlError,
    ProblemCode,
    XmlLimitError,
)
from parsers.xml.encoding import as_utf8, sniffable

# The largest XML document read (a PEPPOL order of thousands of lines is a few megabytes).
MAX_XML_BYTES = 32 << 20
# The deepest nesting accepted: libxml2's limit without XML_PARSE_HUGE (UBL documents nest
# about 10 levels, cXML about 12).
MAX_DEPTH = 256
_BOM = b"\xef\xbb\xbf"
# The prolog before the root element: declarations, comments, processing instructions and a
# DOCTYPE (whose internal subset, in brackets, is where entities are declared).
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_DOCTYPE = b"<!DOCTYPE"
_ENTITY = b"<!ENTITY"
# The bytes a name goes on with: a keyword followed by one of these is another word.
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_SNIFF_LIMIT = 1 << 16
# The first read of a document, doubled on each further read up to `_MAX_CHUNK`.
_FIRST_CHUNK = 1 << 16
_MAX_CHUNK = 1 << 22


@dataclass(frozen=True, slots=True)
class XmlDocument:
    """A parsed document: its root element and the namespace of the root, as written."""

    root: etree._Element
    namespace: str
    name: str
    # What was read otherwise than declared (parsers.xml.encoding): warnings for the mapping.
    repairs: tuple[str, ...] = ()


def root_name(head: bytes) -> str | None:
    """The local name of the root element of an XML document from its first bytes, or None
    when the bytes are not XML (past a byte-order mark, white space, the XML declaration,
    comments, processing instructions and a DOCTYPE)."""
    text = sniffable(head).removeprefix(_BOM).lstrip()
    if not text.startswith(b"<"):
        return None
    position = 0
    while position < len(text):
        start = text.find(b"<", position)
        if start < 0:
            return None
        if text.startswith(b"<?", start):
            position = _after(text, start, b"?>")
        elif text.startswith(b"<!--", start):
            position = _after(text, start, b"-->")
        elif text.startswith(b"<!", start):
            position = _after(text, start, b">") if b"[" not in text[start:start + 200] \
                else _after(text, start, b"]>")
        else:
            match = _ROOT.match(text, start)
            return match.group(2).decode("ascii") if match else None
        if position < 0:
            return None
    return None


def _after(text: bytes, start: int, end: bytes) -> int:
    found = text.find(end, start)
    return found + len(end) if found >= 0 else -1


def read_document(stream: BinaryIO, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """The bytes of `stream`, at most one past `max_bytes` (so that `parse_xml` sees a document
    over the cap and refuses it). Read in growing chunks: `stream.read(max_bytes + 1)` would
    have a buffered stream allocate the whole cap (32 MiB) for every document, however small,
    which costs more than parsing a 20 kB document."""
    chunks: list[bytes] = []
    size, chunk_size = 0, _FIRST_CHUNK
    while size <= max_bytes:
        chunk = stream.read(min(chunk_size, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        chunk_size = min(chunk_size * 2, _MAX_CHUNK)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> XmlDocument:
    """The document in `data`; raises `XmlError` (located where libxml2 says)."""
    if len(data) > max_bytes:
        raise XmlLimitError(ProblemCode.OVER_LIMIT,
                            f"the XML document is over {max_bytes} bytes: refused")
    data, repair = as_utf8(data)
    _refuse_entities(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = _position(exc)
        if _over_limit(exc):
            raise XmlLimitError(ProblemCode.OVER_LIMIT,
                                f"the XML is over a limit of the parser at line {line}, column "
                                f"{column} (nesting, text or tag size, entity expansion): "
                                f"{exc.msg}", line, column) from exc
        raise MalformedXmlError(ProblemCode.MALFORMED_XML,
                                f"not well-formed XML at line {line}, column {column}: "
                                f"{exc.msg}", line, column) from exc
    _refuse_parsed_entities(root)
    tag = str(root.tag)
    repairs = (repair,) if repair else ()
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return XmlDocument(root, namespace, name, repairs)
    return XmlDocument(root, "", tag, repairs)


def _over_limit(exc: etree.XMLSyntaxError) -> bool:
    """libxml2 stopped at one of its limits (XML_ERR_RESOURCE_LIMIT: nesting over 256, a text
    node over 10 MB, a start tag over its buffer, entity amplification), not at broken XML."""
    code: object = getattr(exc, "code", None)
    return code == etree.ErrorTypes.ERR_RESOURCE_LIMIT or "depth" in str(exc).lower()


def _refuse_entities(data: bytes) -> None:
    """A DOCTYPE that declares entities is refused whole (never expanded, never fetched)."""
    doctype = _keyword(data, _DOCTYPE, 0, min(len(data), _SNIFF_LIMIT))
    if doctype < 0:
        return
    if _keyword(data, _ENTITY, doctype, len(data)) >= 0:
        line = data.count(b"\n", 0, doctype) + 1
        raise ForbiddenXmlError(ProblemCode.FORBIDDEN_XML,
                                f"the DOCTYPE at line {line} declares entities: entity "
                                "declarations are never processed, the document is refused",
                                line, None)


def _refuse_parsed_entities(root: etree._Element) -> None:
    """Entities the DOCTYPE declared though its bytes did not show it (never expanded:
    `resolve_entities=False`; the document is refused as the byte search would have)."""
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is None:
        return
    # Read untyped: the stubs do not declare `DTD.iterentities` (lxml 2.3 on).
    entities = getattr(dtd, "iterentities")()  # noqa: B009
    names = [str(getattr(entity, "name", "")) for entity in entities]
    if names:
        raise ForbiddenXmlError(ProblemCode.FORBIDDEN_XML,
                                f"the DOCTYPE, written in {docinfo.encoding}, declares entities "
                                f"({', '.join(names[:5])}): entity declarations are "
                                "never processed, the document is refused", None, None)


def _keyword(data: bytes, keyword: bytes, start: int, end: int) -> int:
    """Where `keyword` stands whole (not the start of a longer name) in `data[start:end]`, or
    -1. A byte search, not a pattern: it runs over every byte of every document."""
    position = data.find(keyword, start, end)
    while position >= 0:
        after = position + len(keyword)
        if after >= end or data[after] not in _NAME_BYTES:
            return position
        position = data.find(keyword, after, end)
    return -1


def _position(exc: etree.XMLSyntaxError) -> tuple[int | None, int | None]:
    """The line and column libxml2 gave the error; read untyped, as `tag_of` reads a tag (the
    stubs promise two ints)."""
    position: object = getattr(exc, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        line, column = position
        return (line if isinstance(line, int) else None,
                column if isinstance(column, int) else None)
    return exc.lineno, None


def line_of(element: etree._Element) -> int | None:
    """The element's line in the document. Read untyped: the stubs give `sourceline` no type
    (mypyc took it for None and refused every int)."""
    line: object = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None


def tag_of(node: etree._Element) -> object:
    """The node's tag as lxml gives it: "{namespace}name" or "name" for an element, a function
    (etree.Comment, etree.Entity, etree.ProcessingInstruction) for other nodes. The stubs say
    `str`, and a module compiled with mypyc would check that and fail on an entity reference
    (kept in the tree, never expanded: `resolve_entities=False`); read here untyped."""
    return getattr(node, "tag")  # noqa: B009 (the attribute's declared type is not its type)


def local_name(element: etree._Element) -> str:
    """The element's name without its namespace (comments and entities: empty)."""
    tag = tag_of(element)
    return tag[tag.rfind("}") + 1:] if isinstance(tag, str) else ""
