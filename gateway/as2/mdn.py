"""The MDN (RFC 4130 section 7, RFC 3798): what the sender asked for, and the receipt built.

An MDN is a multipart/report (report-type=disposition-notification) with a human-readable
part and a message/disposition-notification part; signed when the sender's
`Disposition-Notification-Options` asks for `signed-receipt-protocol=...pkcs7-signature`, as
a multipart/signed whose signature uses the first `signed-receipt-micalg` we support.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from cryptography import x509

from gateway.as2 import cms
from gateway.as2.errors import (
    As2Error,
    DispositionModifier,
    InsufficientSecurity,
    MalformedMessage,
)
from gateway.as2.mime import (
    Entity,
    entity_from_headers,
    multipart_parts,
    parse_header_block,
    signed_parts,
    split_entity,
)
from gateway.as2.smime import micalg_name, signed_forms

DEFAULT_MICALG = "sha256"
REPORTING_UA = "supplier-gateway AS2"
DUPLICATE_DOCUMENT = "duplicate-document"
_NOT_PRINTABLE = re.compile(r"[^ -~]")


@dataclass(frozen=True, slots=True)
class MdnRequest:
    """What the sender asked for in its headers (RFC 4130 section 7.3)."""

    wanted: bool
    signed: bool
    micalg: str
    async_url: str | None

    @property
    def synchronous(self) -> bool:
        return self.wanted and self.async_url is None


def mdn_request(headers: dict[str, str]) -> MdnRequest:
    """From lower-cased HTTP header names to what MDN to return."""
    options = _options(headers.get("disposition-notification-options", ""))
    protocols = [p.strip().lower() for p in options.get("signed-receipt-protocol", [])[1:]]
    micalgs = [a.strip().lower().replace("-", "")
               for a in options.get("signed-receipt-micalg", [])[1:]]
    micalg = next((a for a in micalgs if a in cms.HASHES), DEFAULT_MICALG)
    return MdnRequest(wanted="disposition-notification-to" in headers,
                      signed="pkcs7-signature" in protocols, micalg=micalg,
                      async_url=headers.get("receipt-delivery-option") or None)


def _options(value: str) -> dict[str, list[str]]:
    """`name=importance,value,value; name=...` (RFC 4130 section 7.3)."""
    found: dict[str, list[str]] = {}
    for item in value.split(";"):
        name, _, values = item.partition("=")
        if values:
            found[name.strip().lower()] = values.split(",")
    return found


@dataclass(frozen=True, slots=True)
class Disposition:
    """`processed`, `processed/error: <modifier>` or `processed/warning: <text>`."""

    modifier: DispositionModifier | None = None
    warning: str | None = None

    @property
    def value(self) -> str:
        if self.modifier is not None:
            return f"processed/error: {self.modifier.value}"
        if self.warning is not None:
            return f"processed/warning: {self.warning}"
        return "processed"

    @property
    def is_error(self) -> bool:
        return self.modifier is not None


@dataclass(frozen=True, slots=True)
class Receipt:
    """The MDN to answer: the HTTP headers that carry its outer MIME header, and its body."""

    headers: list[tuple[str, str]]
    body: bytes
    message_id: str


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    original_message_id: str
    our_id: str
    partner_id: str
    disposition: Disposition
    mic: str | None
    explanation: str


def build_receipt(facts: ReceiptFacts, request: MdnRequest, signer: cms.KeyPair | None,
                  now: datetime, domain: str = "as2.invalid") -> Receipt:
    """The MDN, signed when the sender asked and a key of ours is known."""
    message_id = f"<{secrets.token_hex(12)}@{domain}>"
    boundary = f"----=_report_{secrets.token_hex(12)}"
    report = _report(facts, boundary)
    content_type = f'multipart/report; report-type=disposition-notification; ' \
                   f'boundary="{boundary}"'
    headers = [("AS2-Version", "1.2"), ("AS2-From", _quoted(facts.our_id)),
               ("AS2-To", _quoted(facts.partner_id)), ("Message-ID", message_id),
               ("Date", format_datetime(now)), ("MIME-Version", "1.0")]
    if not (request.signed and signer is not None):
        return Receipt([*headers, ("Content-Type", content_type)], report, message_id)
    part = f"Content-Type: {content_type}\r\n\r\n".encode("ascii") + report
    signature = cms.sign_detached(part, signer, request.micalg)
    outer = f"----=_signed_{secrets.token_hex(12)}"
    body = b"".join([
        f"--{outer}\r\n".encode("ascii"), part, f"\r\n--{outer}\r\n".encode("ascii"),
        b"Content-Type: application/pkcs7-signature; name=smime.p7s; smime-type=signed-data"
        b"\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=smime.p7s\r\n\r\n",
        _base64_lines(signature), f"\r\n--{outer}--\r\n".encode("ascii")])
    signed_type = (f'multipart/signed; protocol="application/pkcs7-signature"; '
                   f'micalg={micalg_name(request.micalg)}; boundary="{outer}"')
    return Receipt([*headers, ("Content-Type", signed_type)], body, message_id)


def _report(facts: ReceiptFacts, boundary: str) -> bytes:
    notification = [
        f"Reporting-UA: {REPORTING_UA}",
        f"Original-Recipient: rfc822; {_quoted(facts.our_id)}",
        f"Final-Recipient: rfc822; {_quoted(facts.our_id)}",
        f"Original-Message-ID: {_one_line(facts.original_message_id)}",
        f"Disposition: automatic-action/MDN-sent-automatically; {facts.disposition.value}",
    ]
    if facts.mic is not None:
        notification.append(f"Received-Content-MIC: {facts.mic}")
    lines = [f"--{boundary}", "Content-Type: text/plain; charset=us-ascii",
             "Content-Transfer-Encoding: 7bit", "", _ascii(facts.explanation), "",
             f"--{boundary}", "Content-Type: message/disposition-notification",
             "Content-Transfer-Encoding: 7bit", "", *notification, "", f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _quoted(as2_id: str) -> str:
    """An AS2 id with a space or a special is sent quoted (RFC 4130 section 6.2)."""
    as2_id = _one_line(as2_id)
    return f'"{as2_id}"' if any(c in as2_id for c in ' ()<>@,;:\\"[]') else as2_id


def _one_line(value: str) -> str:
    """A value from the sender, kept on one header line (no header injection): what is not
    printable ASCII becomes `?`."""
    return _NOT_PRINTABLE.sub("?", value[:998])


def _ascii(text: str) -> str:
    return "\r\n".join(_one_line(line) for line in text.splitlines())


def _base64_lines(der: bytes) -> bytes:
    text = base64.b64encode(der)
    return b"\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    """An MDN a partner returned, read and (when signed) verified."""

    original_message_id: str
    disposition: str  # "processed", "processed/error: decryption-failed", ...
    mic: str | None  # "base64, micalg" as sent
    signed_with: str | None

    @property
    def is_error(self) -> bool:
        return "/error" in self.disposition or "/failure" in self.disposition

    def mic_matches(self, expected: str) -> bool:
        """The partner's MIC names the same digest and algorithm as ours (RFC 4130
        section 7.3.1; `sha-256` and `sha256` are one algorithm)."""
        if self.mic is None:
            return False
        return _mic_parts(self.mic) == _mic_parts(expected)


def read_receipt(headers: list[tuple[str, str]], body: bytes,
                 certificates: Sequence[x509.Certificate], require_signed: bool = True
                 ) -> ReadReceipt:
    """Read an MDN: verify its signature against the partner's certificates, then take the
    disposition-notification fields. Raises an `As2Error`."""
    entity = entity_from_headers(headers, body)
    signed_with = None
    if entity.content_type == "multipart/signed":
        signed_bytes, signature = signed_parts(entity)
        verified, content = cms.verify(signature.decoded_body(), signed_forms(signed_bytes),
                                       certificates)
        signed_with, entity = verified.digest_algorithm, split_entity(content)
    elif require_signed:
        raise InsufficientSecurity("the MDN is not signed and the partner's entry asks for "
                                   "signed MDNs")
    if entity.content_type != "multipart/report":
        raise MalformedMessage(f"an MDN must be multipart/report, not {entity.content_type}")
    fields = _notification_fields(entity)
    disposition = fields.get("disposition", "")
    return ReadReceipt(fields.get("original-message-id", ""),
                       disposition.split(";", 1)[1].strip() if ";" in disposition else "",
                       fields.get("received-content-mic"), signed_with)


def is_receipt(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether an AS2 request is an MDN (an asynchronous receipt to a message we sent,
    RFC 4130 section 7.3) rather than a message: a multipart/report, or a multipart/signed
    whose signed part is one. Products sign MDNs and messages alike, so the signed part's own
    Content-Type decides. Reads only the first part's header; never raises."""
    declared = next((value for name, value in headers if name.lower() == "content-type"), "")
    # The media type alone first (cheap: most requests are pkcs7-mime messages); parameters
    # are parsed only for multipart/signed, whose boundary is needed.
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "multipart/signed":
        return media_type == "multipart/report"
    try:
        entity = entity_from_headers(headers, body)
        return _first_part_type(body, entity.param("boundary").encode("latin-1")) \
            == "multipart/report"
    except As2Error:
        return False


_PEEK_BYTES = 16 * 1024


def _first_part_type(body: bytes, boundary: bytes) -> str:
    """The Content-Type of a multipart body's first part, from its header alone: the body
    of a signed message is not scanned for every boundary (it may be 50 MiB)."""
    marker = b"--" + boundary
    at = body.find(marker, 0, _PEEK_BYTES) if boundary else -1
    if at == -1:
        return ""
    start = body.find(b"\n", at)
    if start == -1:
        return ""
    head = body[start + 1:start + 1 + _PEEK_BYTES]
    end = head.find(b"\n\r\n") if b"\n\r\n" in head else head.find(b"\n\n")
    if end == -1:
        return ""
    return Entity(b"", b"", parse_header_block(head[:end + 1])).content_type


def claimed_original_message_id(headers: list[tuple[str, str]], body: bytes) -> str:
    """The Original-Message-ID an MDN names, read WITHOUT verifying its signature: only to
    find the message it claims to answer (whose partner's certificates then verify it).
    Raises an `As2Error` when it is not an MDN one can read."""
    entity = entity_from_headers(headers, body)
    if entity.content_type == "multipart/signed":
        entity = split_entity(signed_parts(entity)[0])
    if entity.content_type != "multipart/report":
        raise MalformedMessage(f"an MDN must be multipart/report, not {entity.content_type}")
    return _notification_fields(entity).get("original-message-id", "").strip()


def _notification_fields(report: Entity) -> dict[str, str]:
    for raw in multipart_parts(report.body, report.param("boundary").encode("latin-1")):
        part = split_entity(raw)
        if part.content_type == "message/disposition-notification":
            # The fields are a header block of their own (RFC 3798 section 3.1).
            block = part.body.strip(b"\r\n") + b"\r\n\r\n"
            return dict(split_entity(block).headers)
    raise MalformedMessage("an MDN without a message/disposition-notification part")


def _mic_parts(value: str) -> tuple[str, str]:
    digest, _, algorithm = value.partition(",")
    return digest.strip(), algorithm.strip().lower().replace("-", "")
