"""CMS (RFC 5652) operations AS2 needs, on `cryptography` and `asn1crypto`.

`cryptography` signs S/MIME but neither opens EnvelopedData with every key transport and
cipher AS2 products use, nor verifies SignedData, nor reads CompressedData (RFC 3274): the
structures are read with asn1crypto and the primitives run in cryptography.

- decrypt: EnvelopedData with RSA PKCS#1 v1.5 or RSA-OAEP key transport (RFC 8017, RFC 3560)
  and 3DES-CBC or AES-CBC content; AuthEnvelopedData (RFC 5083) with AES-GCM (RFC 5084).
- verify: SignedData with RSA PKCS#1 v1.5 or RSA-PSS (RFC 4056), SHA-1 and the SHA-2 family,
  with or without signed attributes (RFC 5652 section 5.4).
- decompress: CompressedData with zlib, never past a size cap.
- sign: detached SignedData with RSA PKCS#1 v1.5 or RSA-PSS, SHA-1 and the SHA-2 family.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.as2.errors import (
    AuthenticationFailed,
    DecryptionFailed,
    IntegrityCheckFailed,
    MalformedMessage,
    TooLarge,
)

# RFC 5751 / RFC 4130 micalg names, and the hash each means.
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}
# One text whether the RSA key transport or the content's padding or tag failed: an MDN that
# told them apart would be a padding oracle (Bleichenbacher) for whoever sends us messages.
NOT_OURS = "the message does not decrypt with our key (or was altered)"
_CBC_CIPHERS: dict[str, Any] = {"tripledes_3key": TripleDES, "aes128_cbc": algorithms.AES,
                "aes192_cbc": algorithms.AES, "aes256_cbc": algorithms.AES}


class GcmParameters(core.Sequence):  # type: ignore[misc]
    """RFC 5084 section 3.2 (asn1crypto leaves these parameters unparsed)."""

    _fields = [("aes_nonce", core.OctetString),  # noqa: RUF012 (asn1crypto's shape)
               ("aes_icvlen", core.Integer, {"default": 12})]


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key of ours and the certificate that names it."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class Verified:
    signer: x509.Certificate
    digest_algorithm: str  # "sha256", the micalg the signer used
    # The content's digest by that algorithm, as checked against the signed attributes (None
    # without them): the MIC over the same content needs no second pass over it.
    content_digest: bytes | None = None


def content_info(der: bytes) -> tuple[str, Any]:
    """The content type ("enveloped_data", "signed_data", ...) and its parsed content."""
    try:
        info = asn1_cms.ContentInfo.load(der)
        return str(info["content_type"].native), info["content"]
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMessage(f"not a CMS structure: {exc}") from exc


# -- decryption -------------------------------------------------------------------------------

def decrypt(der: bytes, keys: Sequence[KeyPair]) -> bytes:
    """The content of an EnvelopedData or AuthEnvelopedData for one of our keys."""
    kind, data = content_info(der)
    if kind not in ("enveloped_data", "authenticated_enveloped_data"):
        raise MalformedMessage(f"expected enveloped data, found {kind}")
    try:
        info = data["auth_encrypted_content_info" if kind != "enveloped_data"
                    else "encrypted_content_info"]
        algorithm = info["content_encryption_algorithm"]
        sealed = info["encrypted_content"].native or b""
        mac = data["mac"].native if kind != "enveloped_data" else b""
        aad = data["auth_attrs"].dump(force=True) if kind != "enveloped_data" \
            and data["auth_attrs"] else b""
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMessage(f"the enveloped data cannot be read: {exc}") from exc
    try:
        cek = _content_key(data["recipient_infos"], keys)
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMessage(f"the recipients cannot be read: {exc}") from exc
    try:
        if kind == "enveloped_data":
            return _decrypt_cbc(algorithm, cek, sealed)
        return _decrypt_gcm(algorithm, cek, sealed, mac, aad)
    except (ValueError, TypeError, KeyError) as exc:
        # A wrong key can come out of RSA v1.5 with any length (implicit rejection): the
        # cipher's complaint about it says no more than any other failure.
        raise DecryptionFailed(NOT_OURS) from exc


def _content_key(recipients: Any, keys: Sequence[KeyPair]) -> bytes:
    for recipient in recipients:
        if recipient.name != "ktri":
            continue
        info = recipient.chosen
        for pair in keys:
            if not _names(info["rid"], pair.certificate):
                continue
            try:
                return pair.key.decrypt(info["encrypted_key"].native,
                                        _key_transport(info["key_encryption_algorithm"]))
            except ValueError as exc:
                raise DecryptionFailed(NOT_OURS) from exc
    raise DecryptionFailed("encrypted for none of our certificates (no recipient matches)")


def _names(rid: Any, certificate: x509.Certificate) -> bool:
    """Whether a RecipientIdentifier or SignerIdentifier names this certificate."""
    if rid.name == "issuer_and_serial_number":
        issuer = rid.chosen["issuer"].dump()
        return bool(rid.chosen["serial_number"].native == certificate.serial_number
                    and issuer == certificate.issuer.public_bytes())
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return bool(rid.chosen.native == ski.value.digest)


def _key_transport(algorithm: Any) -> asym_padding.AsymmetricPadding:
    name = algorithm["algorithm"].native
    if name == "rsaes_pkcs1v15":
        return asym_padding.PKCS1v15()
    if name == "rsaes_oaep":
        params = algorithm["parameters"]
        digest = _hash(params["hash_algorithm"]["algorithm"].native)
        mgf = _hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
        label = params["p_source_algorithm"]["parameters"].native or None
        return asym_padding.OAEP(asym_padding.MGF1(mgf), digest, label)
    raise DecryptionFailed(f"key transport {name} is not supported (RSA v1.5 or OAEP)")


def _decrypt_cbc(algorithm: Any, key: bytes, sealed: bytes) -> bytes:
    name = algorithm["algorithm"].native
    cipher_class = _CBC_CIPHERS.get(name)
    if cipher_class is None:
        raise DecryptionFailed(f"content cipher {name} is not supported (3DES, AES-CBC, "
                               "AES-GCM)")
    iv = algorithm["parameters"].native
    cipher = cipher_class(key)
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = padding.PKCS7(cipher.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionFailed(NOT_OURS) from exc


def _decrypt_gcm(algorithm: Any, key: bytes, sealed: bytes, tag: bytes, aad: bytes) -> bytes:
    name = algorithm["algorithm"].native
    if not name.endswith("_gcm"):
        raise DecryptionFailed(f"authenticated content cipher {name} is not supported")
    params = GcmParameters.load(algorithm["parameters"].dump())
    nonce = params["aes_nonce"].native
    if len(tag) != params["aes_icvlen"].native:
        raise DecryptionFailed("the GCM tag's length is not the one announced")
    if aad:
        aad = b"\x31" + aad[1:]  # authAttrs are MACed as a SET OF (RFC 5083 section 2.2)
    try:
        return AESGCM(key).decrypt(nonce, sealed + tag, aad or None)
    except InvalidTag as exc:
        raise DecryptionFailed(NOT_OURS) from exc


# -- signatures -------------------------------------------------------------------------------

def signed_content(der: bytes) -> bytes | None:
    """The encapsulated content of an opaque SignedData (None when detached)."""
    kind, data = content_info(der)
    if kind != "signed_data":
        raise MalformedMessage(f"expected signed data, found {kind}")
    content = data["encap_content_info"]["content"]
    return None if content.native is None else bytes(content.native)


def verify(der: bytes, candidates: Iterable[bytes], trusted: Sequence[x509.Certificate]
           ) -> tuple[Verified, bytes]:
    """Check a SignedData over one of `candidates` (the signed bytes as received, and their
    canonical forms) against the partner's certificates. Returns what verified and which
    candidate it was over."""
    kind, data = content_info(der)
    if kind != "signed_data":
        raise MalformedMessage(f"expected signed data, found {kind}")
    signers = list(data["signer_infos"])
    if not signers:
        raise AuthenticationFailed("a signature with no signer")
    signer = signers[0]
    certificate = _signer_certificate(signer["sid"], trusted)
    digest_name = signer["digest_algorithm"]["algorithm"].native
    digest = _hash(digest_name)
    attrs = signer["signed_attrs"]
    content_digest = None
    try:
        if attrs.native is not None and len(attrs):
            content, content_digest = _digest_match(attrs, candidates, digest)
            signed = b"\x31" + attrs.dump()[1:]  # signed over as SET OF (RFC 5652 5.4)
        else:
            content = _signature_match(signer, candidates, certificate, digest)
            signed = content
        _check_signature(signer, certificate, signed, digest)
    except (ValueError, TypeError, KeyError) as exc:
        raise AuthenticationFailed(f"the signature cannot be checked: {exc}") from exc
    return Verified(certificate, digest_name, content_digest), content


def _signer_certificate(sid: Any, trusted: Sequence[x509.Certificate]) -> x509.Certificate:
    for certificate in trusted:
        if _names(sid, certificate):
            return certificate
    raise AuthenticationFailed("signed by a certificate that is not one of the partner's "
                               "valid certificates")


def _digest_match(attrs: Any, candidates: Iterable[bytes], digest: hashes.HashAlgorithm
                  ) -> tuple[bytes, bytes]:
    wanted = next((attr["values"][0].native for attr in attrs
                   if attr["type"].native == "message_digest"), None)
    if wanted is None:
        raise AuthenticationFailed("signed attributes without a message digest")
    for content in candidates:
        found = _digest(digest, content)
        if hmac.compare_digest(found, wanted):
            return content, found
    raise IntegrityCheckFailed("the content's digest is not the signed one: the content was "
                               "changed after signing")


def _signature_match(signer: Any, candidates: Iterable[bytes], certificate: x509.Certificate,
                     digest: hashes.HashAlgorithm) -> bytes:
    for content in candidates:
        try:
            _check_signature(signer, certificate, content, digest)
        except AuthenticationFailed:
            continue
        return content
    raise IntegrityCheckFailed("the signature is over other content: the content was changed "
                               "after signing")


def _check_signature(signer: Any, certificate: x509.Certificate, signed: bytes,
                     digest: hashes.HashAlgorithm) -> None:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise AuthenticationFailed("only RSA signatures are supported")
    algorithm = signer["signature_algorithm"]
    pad: asym_padding.AsymmetricPadding = asym_padding.PKCS1v15()
    if algorithm["algorithm"].native == "rsassa_pss":
        params = algorithm["parameters"]
        digest = _hash(params["hash_algorithm"]["algorithm"].native)
        mgf = _hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
        pad = asym_padding.PSS(asym_padding.MGF1(mgf), params["salt_length"].native)
    try:
        public_key.verify(signer["signature"].native, signed, pad, digest)
    except InvalidSignature as exc:
        raise AuthenticationFailed("the signature does not verify with the partner's "
                                   "certificate") from exc


def _hash(name: str) -> hashes.HashAlgorithm:
    algorithm = HASHES.get(name)
    if algorithm is None:
        raise AuthenticationFailed(f"digest {name} is not supported (SHA-1 or SHA-2)")
    return algorithm()


def _digest(algorithm: hashes.HashAlgorithm, content: bytes) -> bytes:
    return hashlib.new(algorithm.name, content).digest()


# DER pieces of a detached SignedData that do not change from one signature to the next.
_DATA = bytes.fromhex("06092a864886f70d010701")             # id-data
_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")      # id-signedData
_CONTENT_TYPE = bytes.fromhex("06092a864886f70d010903")     # id-contentType
_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")   # id-messageDigest
_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")     # id-signingTime
_VERSION_1 = bytes.fromhex("020101")


@dataclass(frozen=True, slots=True)
class _SignerTemplate:
    """What a signer's SignedData holds besides its signed attributes and signature: the
    DigestAlgorithm, the SignerIdentifier and the certificates field, already in DER."""

    digest_algorithm: bytes
    signature_algorithm: bytes
    sid: bytes
    certificates: bytes


@lru_cache(maxsize=32)
def _signer_template(certificate_der: bytes, digest: str, pss: bool = False
                     ) -> _SignerTemplate:
    """Built with asn1crypto once per certificate, digest and padding (building the whole
    SignedData with asn1crypto for every MDN cost four times the RSA signature itself)."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    sid = asn1_cms.IssuerAndSerialNumber({"issuer": certificate.issuer,
                                          "serial_number": certificate.serial_number})
    return _SignerTemplate(
        asn1_cms.DigestAlgorithm({"algorithm": digest}).dump(),
        _signature_algorithm(digest, pss).dump(), sid.dump(), _tlv(0xA0, certificate_der))


def _signature_algorithm(digest: str, pss: bool) -> algos.SignedDigestAlgorithm:
    """rsaEncryption, or RSASSA-PSS with the digest's hash for the message and for MGF1 and
    a salt as long as the hash (RFC 4056 section 3; RFC 4055 section 3.1). asn1crypto leaves
    out a field at its default value, as DER asks (X.690 section 11.5): with SHA-1 the
    parameters are an empty SEQUENCE."""
    if not pss:
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": {
        "hash_algorithm": {"algorithm": digest},
        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": digest}},
        "salt_length": HASHES[digest].digest_size}})


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element (X.690 section 8.1): tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _der_time(moment: datetime) -> bytes:
    """signingTime: UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5652 section 11.3)."""
    moment = moment.astimezone(UTC)
    if moment.year < 2050:
        return _tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return _tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def signed_attributes(digest: bytes, moment: datetime) -> bytes:
    """The SignedAttributes as signed (a SET OF, tag 0x31): content type, signing time,
    message digest. DER sorts a SET OF by encoding (X.690 section 11.6): each Attribute is
    a SEQUENCE whose length byte grows in this order, whatever the digest's size."""
    return _tlv(0x31, b"".join((
        _tlv(0x30, _CONTENT_TYPE + _tlv(0x31, _DATA)),
        _tlv(0x30, _SIGNING_TIME + _tlv(0x31, _der_time(moment))),
        _tlv(0x30, _MESSAGE_DIGEST + _tlv(0x31, _tlv(0x04, digest))))))


def sign_detached(content: bytes, signer: KeyPair, digest: str,
                  now: datetime | None = None, pss: bool = False) -> bytes:
    """A detached SignedData (DER) over the exact bytes given (already canonical), RSA
    PKCS#1 v1.5 (or RSA-PSS with `pss`, RFC 4056) with signed attributes (RFC 5652 section
    5.4). Built here rather than with cryptography's PKCS7SignatureBuilder, which refuses
    SHA-1: AS2 partners still ask for SHA-1 receipts (IBM Sterling's
    `signed-receipt-micalg=optional,sha1`). Written as DER directly around the parts that
    change (the attributes and the signature); the same bytes as asn1crypto's encoding of
    the structure (tests/unit/test_as2_mdn.py)."""
    algorithm = _hash(digest)
    template = _signer_template(signer.certificate.public_bytes(Encoding.DER), digest, pss)
    attrs = signed_attributes(_digest(algorithm, content), now or datetime.now(UTC))
    padding_scheme: asym_padding.AsymmetricPadding = (
        asym_padding.PSS(asym_padding.MGF1(algorithm), algorithm.digest_size) if pss
        else asym_padding.PKCS1v15())
    signature = signer.key.sign(attrs, padding_scheme, algorithm)
    info = _tlv(0x30, b"".join((
        _VERSION_1, template.sid, template.digest_algorithm,
        b"\xa0" + attrs[1:],  # [0] IMPLICIT in the SignerInfo, SET OF when signed
        template.signature_algorithm, _tlv(0x04, signature))))
    signed_data = _tlv(0x30, b"".join((
        _VERSION_1, _tlv(0x31, template.digest_algorithm), _tlv(0x30, _DATA),
        template.certificates, _tlv(0x31, info))))
    return _tlv(0x30, _SIGNED_DATA + _tlv(0xA0, signed_data))


# -- compression ------------------------------------------------------------------------------

def decompress(der: bytes, cap: int) -> bytes:
    """The content of a CompressedData (RFC 3274), refused once it would pass `cap` bytes:
    the output is never allocated past the cap (a zip bomb stops at cap + 1 bytes)."""
    kind, data = content_info(der)
    if kind != "compressed_data":
        raise MalformedMessage(f"expected compressed data, found {kind}")
    if data["compression_algorithm"]["algorithm"].native != "zlib":
        raise MalformedMessage("compression other than zlib (RFC 3274 names only zlib)")
    packed = data["encap_content_info"]["content"].native or b""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(packed, cap + 1)
    except zlib.error as exc:
        raise MalformedMessage(f"the compressed data does not inflate: {exc}") from exc
    if len(out) > cap or inflater.unconsumed_tail:
        raise TooLarge(f"decompressed, the content passes the cap of {cap} bytes")
    return out
