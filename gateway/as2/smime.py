"""Open an AS2 message: the S/MIME layers in any nesting, down to the payload.

Layers (RFC 4130 section 2.4.2, RFC 5402 for compression): multipart/signed (RFC 1847),
application/pkcs7-mime holding EnvelopedData or AuthEnvelopedData (encrypted), SignedData
(opaque signature) or CompressedData. What a layer holds is taken from its CMS content type,
not from `smime-type`: products name it loosely (IBM Sterling labels compressed data
`name=smime.p7m`).

The received-content MIC (RFC 4130 section 7.3.1):
- signed: over the signed MIME entity, header and content, canonicalised (the bytes the
  signature verified over);
- encrypted, not signed: over the decrypted MIME entity, header and content, canonicalised;
- neither: over the message content without its MIME header (the HTTP body, its transfer
  encoding undone). A compressed-only message is "neither": the MIC is over the body sent.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from gateway.as2 import cms
from gateway.as2.errors import InsufficientSecurity, MalformedMessage
from gateway.as2.mime import Entity, canonical, signed_parts, split_entity

MAX_LAYERS = 8
PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")


@dataclass(frozen=True, slots=True)
class Security:
    """What opening a partner's message needs: our keys, the partner's certificates valid
    now, what its entry requires, and the cap on decompressed content."""

    keys: Sequence[cms.KeyPair]
    certificates: Sequence[x509.Certificate]
    max_content_bytes: int
    require_signed: bool = False
    require_encrypted: bool = False


@dataclass(slots=True)
class Opened:
    """The payload and how it came: the layers outside in, the signature's digest."""

    payload: bytes
    content_type: str
    filename: str | None
    mic_content: bytes
    layers: list[str] = field(default_factory=list)
    signed_with: str | None = None  # the signer's digest algorithm ("sha256")
    encrypted: bool = False
    # `mic_content`'s digest by `signed_with`, when the signature's check computed it.
    signed_digest: bytes | None = None

    @property
    def signed(self) -> bool:
        return self.signed_with is not None


def open_message(outer: Entity, security: Security) -> Opened:
    """Every layer opened, checked against the partner's entry; raises an `As2Error`."""
    entity = outer
    layers: list[str] = []
    signed_over: bytes | None = None
    decrypted: bytes | None = None
    signed_with: str | None = None
    signed_digest: bytes | None = None
    for _depth in range(MAX_LAYERS):
        kind = entity.content_type
        if kind == "multipart/signed":
            signed_bytes, signature = signed_parts(entity)
            verified, content = cms.verify(signature.decoded_body(),
                                           signed_forms(signed_bytes), security.certificates)
            layers.append(f"signed:{verified.digest_algorithm}")
            if signed_over is None:
                signed_with, signed_over = verified.digest_algorithm, content
                signed_digest = verified.content_digest
            entity = split_entity(content)
            continue
        if kind not in PKCS7_MIME:
            opened = _payload(entity, outer, layers, signed_over, decrypted, signed_with,
                              security)
            opened.signed_digest = signed_digest
            return opened
        der = entity.decoded_body()
        content_type, _data = cms.content_info(der)
        if content_type in ("enveloped_data", "authenticated_enveloped_data"):
            content = cms.decrypt(der, security.keys)
            layers.append("encrypted")
            decrypted = content if decrypted is None else decrypted
            entity = _inner_entity(content, entity)
            continue
        if content_type == "signed_data":
            inner = cms.signed_content(der)
            if inner is None:
                raise MalformedMessage("application/pkcs7-mime signed data without content")
            verified, content = cms.verify(der, [inner], security.certificates)
            layers.append(f"signed:{verified.digest_algorithm}")
            if signed_over is None:
                signed_with, signed_over = verified.digest_algorithm, content
                signed_digest = verified.content_digest
        elif content_type == "compressed_data":
            content = cms.decompress(der, security.max_content_bytes)
            layers.append("compressed")
        else:
            raise MalformedMessage(f"application/pkcs7-mime holding {content_type}")
        entity = split_entity(content)
    raise MalformedMessage(f"more than {MAX_LAYERS} S/MIME layers")


def _inner_entity(content: bytes, outer: Entity) -> Entity:
    """The decrypted MIME entity; or, when a product encrypted the bare payload (mendelson
    does when the message is only encrypted), the payload under the outer entity's name."""
    try:
        inner = split_entity(content)
    except MalformedMessage:
        inner = None
    if inner is not None and inner.get("content-type"):
        return inner
    disposition = outer.get("content-disposition")
    headers = (("content-type", "application/octet-stream"),
               *((("content-disposition", disposition),) if disposition else ()))
    return Entity(b"", content, headers)


def signed_forms(signed: bytes) -> Iterator[bytes]:
    """The signed part as received, then canonical (products sign the canonical form, and
    some captures reach us with bare LF line ends). Made one at a time: most messages verify
    in the first form, and a canonical copy of 100 KB is not free."""
    yield signed
    seen = {signed}
    try:
        part = split_entity(signed)
    except MalformedMessage:
        part = None
    if part is not None and part.header:
        # A binary body keeps its bytes; only the header's line ends are canonical.
        header_only = canonical(part.header) + b"\r\n\r\n" + part.body
        if header_only not in seen:
            seen.add(header_only)
            yield header_only
    whole = canonical(signed)
    if whole not in seen:
        yield whole


def _payload(entity: Entity, outer: Entity, layers: list[str], signed_over: bytes | None,
             decrypted: bytes | None, signed_with: str | None, security: Security) -> Opened:
    if security.require_encrypted and decrypted is None:
        raise InsufficientSecurity("the partner's entry requires encrypted messages")
    if security.require_signed and signed_with is None:
        raise InsufficientSecurity("the partner's entry requires signed messages")
    mic_content = (signed_over if signed_over is not None
                   else canonical(decrypted) if decrypted is not None
                   else outer.decoded_body())
    filename = entity.param("filename", header="content-disposition") or None
    return Opened(entity.decoded_body(), entity.content_type, filename, mic_content, layers,
                  signed_with, decrypted is not None)


def mic(content: bytes, algorithm: str) -> str:
    """`Received-Content-MIC` value: base64 digest, then the micalg name (RFC 4130 7.3.1)."""
    name = algorithm.lower().replace("-", "")
    if name not in cms.HASHES:
        raise MalformedMessage(f"MIC algorithm {algorithm} is not supported")
    digest = base64.b64encode(hashlib.new(name, content).digest()).decode("ascii")
    return f"{digest}, {micalg_name(name)}"


def received_mic(opened: Opened, algorithm: str) -> str:
    """`mic` over what was received; the digest the signature's check already took is used
    when the MIC asks for the signer's own algorithm (the common case: 100 KB not hashed
    twice)."""
    name = algorithm.lower().replace("-", "")
    if opened.signed_digest is not None and name == opened.signed_with:
        return f"{base64.b64encode(opened.signed_digest).decode('ascii')}, {micalg_name(name)}"
    return mic(opened.mic_content, algorithm)


def micalg_name(name: str) -> str:
    """RFC 5751 section 3.4.3.2 names: sha-256; sha1 stays sha1 (RFC 3851 spelling that
    AS2 products send and expect)."""
    return "sha1" if name == "sha1" else f"sha-{name[3:]}"
