"""cXML's own synchronous answer to a cXML document posted over HTTP (cXML User's Guide,
"Request-Response Model"): the poster's system waits for `<cXML><Response><Status .../>`,
not for the API's JSON. The upload endpoint answers that way when the body is a cXML
document sent as `text/xml` or `application/xml`; everything else about the upload (stored
before the answer, processed afterwards) is unchanged.

Status 201 ("Accepted"): the document is stored and will be processed; whether it reconciles
is not known yet. A duplicate is 200 ("OK"): it was stored before.
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import quoteattr

from mappings.cxml.reading import is_cxml

_XML_TYPES = ("text/xml", "application/xml")


def wants_cxml_answer(content_type: str, raw: bytes) -> bool:
    """A cXML document posted as XML (a multipart upload or another type gets JSON)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in _XML_TYPES and is_cxml(raw[:4096])


def cxml_answer(message_id: int, duplicate_of: int | None, domain: str,
                now: datetime) -> bytes:
    """The cXML Response document for a stored upload."""
    if duplicate_of is None:
        code, text, detail = "201", "Accepted", f"stored as message #{message_id}"
    else:
        code, text, detail = "200", "OK", f"received before as message #{duplicate_of}"
    payload = quoteattr(f"{message_id}.{int(now.timestamp())}@{domain}")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">\n'
            f'<cXML payloadID={payload} timestamp="{now.isoformat(timespec="seconds")}">'
            f'<Response><Status code="{code}" text="{text}">{detail}</Status></Response>'
            "</cXML>\n").encode()
