"""Supplier XML is hostile: entities are never expanded (billion laughs, XXE), no DTD is
fetched, size and depth are capped, and a broken document is one located error that leaves
the rest of a batch alone."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from lxml import etree

from gateway.domain.documents import Document
from mappings import xmlvalues
from mappings.registry import read_documents, read_stream
from mappings.xmlvalues import children, descend, local_name_of, text_of
from parsers.errors import (
    ForbiddenXmlError,
    MalformedXmlError,
    Problem,
    ProblemCode,
    XmlLimitError,
)
from parsers.xml import parse_xml, read_document, root_name

UBL_ORDER = (b'<?xml version="1.0"?>\n<Order xmlns="urn:oasis:names:specification:ubl:schema:'
             b'xsd:Order-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:'
             b'CommonBasicComponents-2"><cbc:ID>%s</cbc:ID></Order>')

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Order [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2">&lol3;</Order>"""


def test_billion_laughs_is_refused_before_parsing() -> None:
    with pytest.raises(ForbiddenXmlError) as caught:
        parse_xml(BILLION_LAUGHS)
    assert caught.value.line == 2


def test_external_entity_naming_a_local_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    data = (b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY x SYSTEM "file://'
            + str(secret).encode() + b'">]><cXML>&x;</cXML>')
    with pytest.raises(ForbiddenXmlError):
        parse_xml(data)


def test_an_entity_declared_far_into_the_doctype_is_refused_at_the_doctype_line() -> None:
    padding = b"<!-- " + b"x" * (1 << 17) + b" -->\n"
    data = (b'<?xml version="1.0"?>\n\n<!DOCTYPE Order [\n' + padding
            + b'<!ENTITY\tx "y">]>\n<Order>&x;</Order>')
    with pytest.raises(ForbiddenXmlError) as caught:
        parse_xml(data)
    assert caught.value.line == 3


def test_an_entity_declared_in_an_encoding_that_hides_the_doctype_bytes_is_refused() -> None:
    # UTF-7 (RFC 2152) writes "<!" as "+ADwAIQ-": no "<!DOCTYPE" in the bytes, yet libxml2
    # decodes it to a DOCTYPE with its entities.
    doctype = '<!DOCTYPE Order [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    hidden = doctype.encode("utf-7")
    for mark, coded in ((b"<", b"+ADw-"), (b">", b"+AD4-"), (b"!", b"+ACE-")):
        hidden = hidden.replace(mark, coded)
    assert b"<!DOCTYPE" not in hidden
    assert b"<!ENTITY" not in hidden
    data = (b'<?xml version="1.0" encoding="UTF-7"?>\n' + hidden
            + b'\n<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2">&x;</Order>')
    with pytest.raises(ForbiddenXmlError) as caught:
        parse_xml(data)
    assert "entities" in caught.value.detail
    [problem] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "o.xml"))
    assert isinstance(problem, Problem)
    assert problem.code is ProblemCode.FORBIDDEN_XML


def test_a_doctype_whose_subset_has_no_entity_declaration_is_parsed() -> None:
    # "<!ENTITYX" inside a comment is no declaration; the document parses.
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE Order [<!-- <!ENTITYX -->]>\n'
            b'<Order><ID>1</ID></Order>')
    assert parse_xml(data).name == "Order"


def test_doctype_naming_a_dtd_on_the_network_is_read_without_fetching_it() -> None:
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE cXML SYSTEM "http://192.0.2.1/cXML.dtd">\n'
            b'<cXML payloadID="1"><Header/></cXML>')
    document = parse_xml(data)
    assert document.name == "cXML"
    assert document.root.get("payloadID") == "1"


@pytest.mark.parametrize("reference", [
    b'<!DOCTYPE cXML SYSTEM "http://127.0.0.1:{port}/cXML.dtd">',
    b'<!DOCTYPE cXML PUBLIC "-//x//y" "http://127.0.0.1:{port}/cXML.dtd">',
    b'<?xml-stylesheet href="http://127.0.0.1:{port}/s.xsl"?>',
    b'<!DOCTYPE cXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/p.dtd"> %remote;]>',
])
def test_nothing_a_document_names_on_the_network_is_fetched(reference: bytes) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = str(listener.getsockname()[1]).encode()
        data = (b'<?xml version="1.0"?>\n' + reference.replace(b"{port}", port)
                + b'\n<cXML payloadID="1"><Header/><xi:include xmlns:xi="http://www.w3.org/'
                b'2001/XInclude" href="http://127.0.0.1:' + port + b'/x.xml"/></cXML>')
        list(read_stream(io.BufferedReader(io.BytesIO(data)), "c.xml"))
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_a_dtd_the_doctype_names_as_a_local_file_is_not_read(tmp_path: Path) -> None:
    # Read, this DTD would define &x; and give the root a default attribute.
    dtd = tmp_path / "cXML.dtd"
    dtd.write_text('<!ENTITY x "FETCHED">\n<!ATTLIST cXML fetched CDATA "yes">\n')
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE cXML SYSTEM "' + dtd.as_uri().encode()
            + b'">\n<cXML payloadID="1"><Header>&x;</Header></cXML>')
    root = parse_xml(data).root
    assert root.get("fetched") is None
    assert b"FETCHED" not in etree.tostring(root)


def test_malformed_xml_is_located_by_line_and_column() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_xml(b"<?xml version='1.0'?>\n<Order>\n  <ID>1</Id>\n</Order>")
    assert caught.value.line == 3
    assert caught.value.column is not None
    assert "line 3" in caught.value.detail


def test_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(XmlLimitError):
        parse_xml(b"<a>" + b" " * 2000 + b"</a>", max_bytes=1000)


def test_depth_limit_refuses_deep_nesting() -> None:
    data = b"<a>" * 300 + b"</a>" * 300
    with pytest.raises(XmlLimitError) as caught:
        parse_xml(data)
    assert caught.value.line == 1
    assert parse_xml(b"<a>" * 200 + b"</a>" * 200).name == "a"


@pytest.mark.parametrize("body", [
    b"<Note>" + b"x" * 10_000_001 + b"</Note>",     # libxml2's longest text node (10 MB)
    b"<Note " + b" ".join(b'a%d="1"' % n for n in range(1_000_000)) + b"/>",
])
def test_libxml2_limits_are_reported_as_limits_not_as_broken_xml(body: bytes) -> None:
    with pytest.raises(XmlLimitError) as caught:
        parse_xml(b'<?xml version="1.0"?>\n<Order>\n' + body + b"</Order>")
    assert caught.value.code is ProblemCode.OVER_LIMIT
    assert caught.value.line == 3
    assert "well-formed" not in caught.value.detail


def test_root_name_looks_past_prolog_comments_and_doctype() -> None:
    head = (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- note -->\n<!DOCTYPE cXML SYSTEM "x.dtd">'
            b'\n<cXML>')
    assert root_name(head) == "cXML"
    assert root_name(b"<ubl:OrderResponse xmlns:ubl='x'>") == "OrderResponse"
    assert root_name(b"ISA*00*") is None
    assert root_name('<?xml version="1.0"?><cXML>'.encode("utf-16")) == "cXML"
    assert root_name('<?xml version="1.0"?><cXML>'.encode("utf-16-be")) == "cXML"


UBL_RESPONSE = """<?xml version="1.0" encoding="{encoding}"?>
<OrderResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>R-9</cbc:ID><cbc:OrderResponseCode>AP</cbc:OrderResponseCode>
 <cac:OrderReference><cbc:ID>4500000999</cbc:ID></cac:OrderReference>
 <cac:OrderLine><cac:LineItem><cbc:ID>1</cbc:ID><cbc:Quantity>4</cbc:Quantity>
 <cac:Item><cbc:Name>Stück Öse</cbc:Name><cac:SellersItemIdentification><cbc:ID>S-1</cbc:ID>
 </cac:SellersItemIdentification></cac:Item></cac:LineItem></cac:OrderLine>
</OrderResponse>"""


def _read_one(data: bytes) -> Document:
    [document] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "r.xml"))
    assert isinstance(document, Document), document
    return document


@pytest.mark.parametrize(("encoding", "codec"), [
    ("UTF-16", "utf-16"),             # with a byte-order mark
    ("UTF-16", "utf-16-be"),          # XML 1.0 appendix F: found by "<?" as two bytes each
    ("UTF-16LE", "utf-16-le"),
])
def test_a_document_in_utf16_is_read(encoding: str, codec: str) -> None:
    # XML 1.0, 4.3.3: every XML processor reads UTF-8 and UTF-16.
    document = _read_one(UBL_RESPONSE.format(encoding=encoding).encode(codec))
    assert (document.document_number, document.order_numbers) == ("R-9", ["4500000999"])
    assert document.lines[0].item.description == "Stück Öse"
    assert document.warnings == []


@pytest.mark.parametrize("declared", ["UTF-16", "ISO-8859-1", "windows-1252"])
def test_utf8_bytes_under_another_declared_encoding_are_read_as_utf8_with_a_warning(
        declared: str) -> None:
    # .NET's XmlWriter over a string writes encoding="utf-16" whatever the file's bytes are.
    document = _read_one(UBL_RESPONSE.format(encoding=declared).encode("utf-8"))
    assert document.lines[0].item.description == "Stück Öse"
    [warning] = document.warnings
    assert (warning.code, warning.segment) == (ProblemCode.CHARSET_MISMATCH.value, 1)
    assert declared in warning.detail


def test_latin1_bytes_under_their_declared_encoding_are_read_without_a_warning() -> None:
    document = _read_one(UBL_RESPONSE.format(encoding="ISO-8859-1").encode("latin-1"))
    assert document.lines[0].item.description == "Stück Öse"
    assert document.warnings == []


def test_entities_declared_in_a_utf16_document_are_refused_before_parsing() -> None:
    data = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    with pytest.raises(ForbiddenXmlError) as caught:
        parse_xml(data.encode("utf-16"))
    assert caught.value.line == 2


def test_an_x12_file_in_utf16_is_refused_naming_its_encoding() -> None:
    data = ("ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*BUYER          *261204*0915*"
            "U*00401*000000009*0*P*>~").encode("utf-16")
    [problem] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "a.x12"))
    assert isinstance(problem, Problem)
    assert "UTF-16" in problem.detail
    assert "'ISA*00*" in problem.detail


def test_broken_document_in_a_batch_is_one_error_and_the_others_read(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(UBL_ORDER % b"4711")
    broken = tmp_path / "broken.xml"
    broken.write_bytes((UBL_ORDER % b"4712")[:-8])
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(BILLION_LAUGHS)
    results = [r for path in (broken, hostile, good) for r in read_documents(path)]
    errors = [r for r in results if isinstance(r, Problem)]
    assert [e.code for e in errors] == [ProblemCode.MALFORMED_XML, ProblemCode.FORBIDDEN_XML]
    assert all(e.segment is not None for e in errors)
    documents = [r for r in results if isinstance(r, Document)]
    assert [d.document_number for d in documents] == ["4711"]


def test_ubl_namespace_other_than_the_standard_is_a_warning() -> None:
    data = UBL_ORDER.replace(b"xsd:Order-2", b"xsd:Order-9") % b"1"
    [document] = list(read_stream(io.BufferedReader(io.BytesIO(data)), "order.xml"))
    assert isinstance(document, Document)
    assert document.warnings[0].code == ProblemCode.INVALID_CODE.value


class _TrickleStream(io.RawIOBase):
    """A stream that hands out at most `step` bytes a read, as a pipe or socket may."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.position = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.position:self.position + size]
        self.position += len(chunk)
        return chunk


def test_a_document_is_read_whole_from_a_stream_that_trickles() -> None:
    data = UBL_ORDER % b"1" * 50
    assert read_document(_TrickleStream(data, 7), max_bytes=10_000) == data


def test_reading_stops_one_byte_past_the_cap_so_the_parse_refuses_it() -> None:
    stream = io.BytesIO(b"<a>" + b" " * 300_000 + b"</a>")
    data = read_document(stream, max_bytes=200_000)
    assert len(data) == 200_001
    with pytest.raises(XmlLimitError):
        parse_xml(data, max_bytes=200_000)


def test_children_are_found_by_local_name_in_any_namespace_first_one_kept() -> None:
    root = etree.fromstring(b'<r xmlns:a="urn:a" xmlns:b="urn:b"><!-- note --><a:ID>1</a:ID>'
                            b'<b:ID>2</b:ID><Name> x </Name></r>')
    found = children(root)
    assert sorted(found) == ["ID", "Name"]
    assert text_of(found["ID"]) == "1"
    assert text_of(found["Name"]) == "x"
    assert text_of(descend(root, "Name")) == "x"
    assert descend(root, "Missing", "ID") is None


def test_many_namespaces_do_not_grow_the_local_name_table_past_its_cap() -> None:
    tags = "".join(f'<n{i}:Item xmlns:n{i}="urn:bench:{i}">{i}</n{i}:Item>'
                   for i in range(xmlvalues._LOCAL_NAMES_MAX + 10))
    root = etree.fromstring(f"<r>{tags}</r>".encode())
    assert all(local_name_of(child.tag) == "Item" for child in root)
    assert len(xmlvalues._LOCAL_NAMES) <= xmlvalues._LOCAL_NAMES_MAX
