"""An AS2 message to send (RFC 4130 section 2.4): the payload compressed, signed and
encrypted as the partner's entry says, in that order (RFC 5402 section 4: compress before
signing), with the MIC the partner's MDN must return.

EnvelopedData (RFC 5652 section 6) and AuthEnvelopedData (RFC 5083) are built here with
asn1crypto (cryptography's PKCS7EnvelopeBuilder knows no OAEP key transport and no
AuthEnvelopedData): a random content key, AES-CBC or 3DES content (EnvelopedData) or AES-GCM
(AuthEnvelopedData, RFC 5084), the key wrapped with RSA PKCS#1 v1.5 or RSA-OAEP (SHA-256,
MGF1-SHA-256) for the partner's certificate. The signature is RSA PKCS#1 v1.5, or RSA-PSS
(RFC 4056) when the entry asks for it.
"""

from __future__ import annotations

import base64
import os
import zlib
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.as2 import cms
from gateway.as2.mdn import MdnRequest
from gateway.as2.smime import mic, micalg_name


class ContentCipher(StrEnum):
    """asn1crypto's names of the content-encryption algorithms (RFC 3565, RFC 5084)."""

    AES128_CBC = "aes128_cbc"
    AES192_CBC = "aes192_cbc"
    AES256_CBC = "aes256_cbc"
    TRIPLEDES = "tripledes_3key"
    AES128_GCM = "aes128_gcm"
    AES192_GCM = "aes192_gcm"
    AES256_GCM = "aes256_gcm"


_KEY_BYTES = {ContentCipher.AES128_CBC: 16, ContentCipher.AES192_CBC: 24,
              ContentCipher.AES256_CBC: 32, ContentCipher.TRIPLEDES: 24,
              ContentCipher.AES128_GCM: 16, ContentCipher.AES192_GCM: 24,
              ContentCipher.AES256_GCM: 32}
_GCM = frozenset({ContentCipher.AES128_GCM, ContentCipher.AES192_GCM,
                  ContentCipher.AES256_GCM})
# RFC 5084 section 3.2: a 12-byte nonce is the recommended one; the tag written at its full
# 16 bytes (aes-ICVlen, whose default of 12 would otherwise be assumed, is written out).
_GCM_NONCE_BYTES = 12
_GCM_TAG_BYTES = 16


@dataclass(frozen=True, slots=True)
class SendPlan:
    """What the partner's entry asks of a message to it."""

    sign: str | None = "sha256"           # micalg, or None: not signed
    encrypt: ContentCipher | None = ContentCipher.AES256_CBC
    oaep: bool = False
    compress: bool = False
    mdn: MdnRequest | None = None         # None: no MDN asked; `async_url`: asked there
    mdn_timeout_minutes: float = 0.0      # an asynchronous MDN not back by then fails the row
    pss: bool = False                     # RSA-PSS signatures (RFC 4056), not PKCS#1 v1.5


@dataclass(frozen=True, slots=True)
class Packed:
    """The HTTP header fields and body to POST, and the MIC the MDN must name."""

    headers: list[tuple[str, str]]
    body: bytes
    mic: str


def pack(payload: bytes, content_type: str, filename: str, plan: SendPlan,
         signer: cms.KeyPair | None, recipient: x509.Certificate | None) -> Packed:
    """Compress, sign, encrypt; the outermost entity's header becomes HTTP header fields."""
    entity = (f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
              f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'
              ).encode("ascii") + payload
    if plan.compress:
        entity = _pkcs7_mime(compress(entity), "compressed-data")
    micalg = plan.mdn.micalg if plan.mdn else (plan.sign or "sha256")
    mic_over = entity
    if plan.sign is not None:
        if signer is None:
            raise ValueError("signing asked, and no key of ours to sign with")
        entity = _multipart_signed(
            entity, cms.sign_detached(entity, signer, plan.sign, pss=plan.pss), plan.sign)
    elif plan.encrypt is None:
        mic_over = entity.split(b"\r\n\r\n", 1)[1]  # unsigned, unencrypted: the content
    if plan.encrypt is not None:
        if recipient is None:
            raise ValueError("encryption asked, and no valid certificate of the partner")
        entity = _pkcs7_mime(envelope(entity, recipient, plan.encrypt, plan.oaep),
                             "authEnveloped-data" if plan.encrypt in _GCM
                             else "enveloped-data")
    header, body = entity.split(b"\r\n\r\n", 1)
    fields = [tuple(line.split(": ", 1)) for line in header.decode("ascii").split("\r\n")]
    return Packed([(k, v) for k, v in fields], body, mic(mic_over, micalg))


def compress(content: bytes) -> bytes:
    return bytes(asn1_cms.ContentInfo({"content_type": "compressed_data", "content": {
        "version": "v0", "compression_algorithm": {"algorithm": "zlib"},
        "encap_content_info": {"content_type": "data",
                               "content": zlib.compress(content)}}}).dump())


def envelope(content: bytes, recipient: x509.Certificate, cipher: ContentCipher,
             oaep: bool) -> bytes:
    """An EnvelopedData (RFC 5652 section 6), or for AES-GCM an AuthEnvelopedData (RFC 5083),
    for one recipient."""
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the partner's certificate has no RSA key")
    key = os.urandom(_KEY_BYTES[cipher])
    issuer = asn1_x509.Certificate.load(recipient.public_bytes(Encoding.DER))
    recipients = [asn1_cms.RecipientInfo(name="ktri", value={
        "version": "v0",
        "rid": asn1_cms.RecipientIdentifier(name="issuer_and_serial_number", value={
            "issuer": issuer.issuer, "serial_number": issuer.serial_number}),
        "key_encryption_algorithm": _transport_algorithm(oaep),
        "encrypted_key": public_key.encrypt(key, _transport_padding(oaep))})]
    if cipher in _GCM:
        return _auth_enveloped(content, key, cipher, recipients)
    iv = os.urandom(8 if cipher is ContentCipher.TRIPLEDES else 16)
    block = TripleDES(key) if cipher is ContentCipher.TRIPLEDES else algorithms.AES(key)
    padder = padding.PKCS7(block.block_size).padder()
    encryptor = Cipher(block, modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padder.update(content) + padder.finalize()) + \
        encryptor.finalize()
    return bytes(asn1_cms.ContentInfo({"content_type": "enveloped_data", "content": {
        "version": "v0",
        "recipient_infos": recipients,
        "encrypted_content_info": {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": cipher.value,
                                             "parameters": core.OctetString(iv)},
            "encrypted_content": sealed}}}).dump())


def _auth_enveloped(content: bytes, key: bytes, cipher: ContentCipher,
                    recipients: list[asn1_cms.RecipientInfo]) -> bytes:
    """AuthEnvelopedData (RFC 5083 section 2.1) with AES-GCM (RFC 5084 section 3): no
    authenticated attributes, so the additional authenticated data is empty (RFC 5083
    section 2.2); the content encrypted, the tag in `mac`."""
    nonce = os.urandom(_GCM_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, content, None)  # the ciphertext, then the 16-byte tag
    parameters = cms.GcmParameters({"aes_nonce": nonce, "aes_icvlen": _GCM_TAG_BYTES})
    return bytes(asn1_cms.ContentInfo({"content_type": "authenticated_enveloped_data",
                                       "content": {
        "version": "v0",
        "recipient_infos": recipients,
        "auth_encrypted_content_info": {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": cipher.value,
                                             "parameters": parameters},
            "encrypted_content": sealed[:-_GCM_TAG_BYTES]},
        "mac": sealed[-_GCM_TAG_BYTES:]}}).dump())


def _transport_padding(oaep: bool) -> asym_padding.AsymmetricPadding:
    if oaep:
        return asym_padding.OAEP(asym_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    return asym_padding.PKCS1v15()


def _transport_algorithm(oaep: bool) -> dict[str, object]:
    if not oaep:
        return {"algorithm": "rsaes_pkcs1v15"}
    sha256 = {"algorithm": "sha256"}
    return {"algorithm": "rsaes_oaep", "parameters": algos.RSAESOAEPParams({
        "hash_algorithm": sha256,
        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": sha256}})}


def _pkcs7_mime(der: bytes, smime_type: str) -> bytes:
    return (f"Content-Type: application/pkcs7-mime; smime-type={smime_type}; "
            f"name=smime.p7m\r\nContent-Transfer-Encoding: binary\r\n\r\n").encode() + der


def _multipart_signed(entity: bytes, signature: bytes, digest: str) -> bytes:
    boundary = f"----=_as2_{os.urandom(12).hex()}"
    return (f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
            f'micalg={micalg_name(digest)}; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n").encode() + entity + (
        f"\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        f"Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=smime.p7s\r\n\r\n").encode() + \
        base64.encodebytes(signature).replace(b"\n", b"\r\n") + \
        f"\r\n--{boundary}--\r\n".encode()
