"""XML documents (UBL, cXML) read as hostile input: no network, no DTD, no entities."""

from parsers.xml.document import (
    MAX_DEPTH,
    MAX_XML_BYTES,
    XmlDocument,
    line_of,
    local_name,
    parse_xml,
    read_document,
    root_name,
    tag_of,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_XML_BYTES",
    "XmlDocument",
    "line_of",
    "local_name",
    "parse_xml",
    "read_document",
    "root_name",
    "tag_of",
]
