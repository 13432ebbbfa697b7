"""AS2 test material: the captures from other AS2 products in ../shared/as2-interop (never
copied here), and messages built independently by the system's `openssl cms`.

Debian's OpenSSL is built without zlib (`openssl cms -compress` answers "unsupported
compression algorithm"), so compressed layers are built here with asn1crypto and zlib, and
the captured mendelson and Sterling messages carry real compressed data from those products.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    load_pem_private_key,
    pkcs12,
)
from cryptography.x509.oid import NameOID

from gateway.as2.cms import KeyPair
from gateway.as2.partners import As2Directory, As2Partner

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT.parent / "shared" / "as2-interop"
MENDELSON = ("mecas2_signed.as2", "mecas2_encrypted.as2", "mecas2_signed_encrypted.as2",
             "mecas2_compressed.as2", "mecas2_compressed_signed_encrypted.as2")
STERLING = ("sb2bi_signed_cmp.msg",)

# The partner file's tables for our station BUYER-AS2 with `ours.key` and `ours.pem`.
OUR_STATION = """[as2]
[[as2.stations]]
as2_id = "BUYER-AS2"
key = "ours.key"
certificate = "ours.pem"
"""
# A partner file for the tests' usual pair: our station, and supplier ACME (AS2 id ACME-AS2)
# trusted by `acme.pem`, all in one folder.
ACME_PARTNER_FILE = "\n" + OUR_STATION + """
[[suppliers]]
code = "ACME"
name = "Acme"
as2_id = "ACME-AS2"
[suppliers.as2]
certificates = ["acme.pem"]
"""


def require_interop() -> Path:
    """The captures' folder; skip when it is absent outside CI, fail under CI=true."""
    if INTEROP.is_dir():
        return INTEROP
    if os.environ.get("CI") == "true":
        pytest.fail(f"the AS2 captures are missing at {INTEROP}; CI always has them")
    pytest.skip(f"the AS2 captures are not at {INTEROP} (only CI and developers have them)")


def require_openssl() -> str:
    found = shutil.which("openssl")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("openssl is missing; CI has Debian's openssl")
    pytest.skip("the openssl command is not installed")


def capture(name: str) -> tuple[list[tuple[str, str]], bytes]:
    """A captured HTTP request: its header fields (unfolded) and its body."""
    raw = (require_interop() / name).read_bytes()
    end = re.search(rb"\n\r?\n", raw)
    assert end is not None
    headers: list[tuple[str, str]] = []
    for line in raw[:end.start()].decode("latin-1").split("\n"):
        if line[:1] in (" ", "\t"):
            headers[-1] = (headers[-1][0], f"{headers[-1][1]} {line.strip()}")
        else:
            name_, _, value = line.partition(":")
            headers.append((name_.strip(), value.strip()))
    return headers, raw[end.end():]


def _pair_from_p12(path: Path, password: bytes) -> KeyPair:
    key, certificate, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert certificate is not None
    return KeyPair(key, certificate)


def interop_directory() -> As2Directory:
    """Our side as the captures were made for: `pyas2lib` for mendelson (cert_test), and
    `as2server` for Sterling (cert_oldpyas2). The captured certificates are expired, so
    their dates are not checked for these partners only."""
    folder = require_interop()
    mendelson_side = _pair_from_p12(folder / "cert_test.p12", b"test")
    key = load_pem_private_key((folder / "cert_oldpyas2_private.pem").read_bytes(),
                               b"password")
    assert isinstance(key, rsa.RSAPrivateKey)
    sterling_side = KeyPair(key, x509.load_pem_x509_certificate(
        (folder / "cert_oldpyas2_public.pem").read_bytes()))
    mendelson = x509.load_pem_x509_certificate((folder / "cert_mecas2_public.pem").read_bytes())
    sterling = x509.load_pem_x509_certificate((folder / "cert_sb2bi_public.pem").read_bytes())
    return As2Directory(
        {"pyas2lib": (mendelson_side,), "as2server": (sterling_side,)},
        {"mecas2": As2Partner("mecas2", "MEC", (mendelson,), require_signed=False,
                              check_validity=False),
         "SIAS2PRD": As2Partner("SIAS2PRD", "SB2BI", (sterling,), check_validity=False)})


# -- messages built by openssl ----------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    """A key and certificate made by `openssl req` for a test."""

    key_path: Path
    cert_path: Path

    @property
    def pair(self) -> KeyPair:
        key = load_pem_private_key(self.key_path.read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return KeyPair(key, self.certificate)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())


def make_party(folder: Path, name: str, days: int = 30, expired: bool = False) -> Party:
    """A key and a self-signed certificate; an expired one is re-issued for 2020 (OpenSSL
    3.0's `req` cannot set past dates)."""
    openssl = require_openssl()
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-subj", f"/CN={name}", "-days", str(days)],
                   check=True, capture_output=True)
    if expired:
        party = Party(key, cert)
        subject = party.certificate.subject
        cert.write_bytes(
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(party.pair.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2020, 2, 1, tzinfo=UTC))
            .sign(party.pair.key, hashes.SHA256()).public_bytes(Encoding.PEM))
    return Party(key, cert)


def openssl_cms(args: list[str], data: bytes, folder: Path) -> bytes:
    source, out = folder / "cms-in.bin", folder / "cms-out.der"
    source.write_bytes(data)
    subprocess.run([require_openssl(), "cms", *args, "-binary", "-in", str(source),
                    "-outform", "DER", "-out", str(out)], check=True, capture_output=True)
    return out.read_bytes()


def sign(entity: bytes, signer: Party, folder: Path, md: str = "sha256",
         pss: bool = False) -> bytes:
    extra = ["-keyopt", "rsa_padding_mode:pss"] if pss else []
    return openssl_cms(["-sign", "-signer", str(signer.cert_path), "-inkey",
                        str(signer.key_path), "-md", md, *extra], entity, folder)


def encrypt(content: bytes, recipient: Party, folder: Path, cipher: str = "aes-256-cbc",
            oaep: bool = False) -> bytes:
    extra = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"] if oaep \
        else []
    return openssl_cms(["-encrypt", f"-{cipher}", "-recip", str(recipient.cert_path), *extra],
                       content, folder)


def compress(content: bytes) -> bytes:
    """A CompressedData (RFC 3274) with zlib, built with asn1crypto."""
    return asn1_cms.ContentInfo({"content_type": "compressed_data", "content": {
        "version": "v0", "compression_algorithm": {"algorithm": "zlib"},
        "encap_content_info": {"content_type": "data",
                               "content": zlib.compress(content)}}}).dump()


def payload_entity(payload: bytes, content_type: str = "application/edifact",
                   filename: str = "order.edi") -> bytes:
    return (f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
            f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n').encode() \
        + payload


def multipart_signed(entity: bytes, signature: bytes, micalg: str = "sha-256") -> bytes:
    """A multipart/signed entity (header and body) around the signed entity's bytes."""
    boundary = "----=_signed_boundary_7f3a"
    return (f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
            f'micalg={micalg}; boundary="{boundary}"\r\n\r\n--{boundary}\r\n').encode() \
        + entity + (f"\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; "
                    f"name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() \
        + base64.encodebytes(signature).replace(b"\n", b"\r\n") \
        + f"\r\n--{boundary}--\r\n".encode()


def pkcs7_mime(der: bytes, smime_type: str, base64_body: bool = False) -> bytes:
    header = f"Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=smime.p7m"
    if base64_body:
        return (header + "\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() \
            + base64.encodebytes(der).replace(b"\n", b"\r\n")
    return (header + "\r\nContent-Transfer-Encoding: binary\r\n\r\n").encode() + der


def as_http(entity: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """An entity's MIME header as HTTP header fields, and its body."""
    end = entity.index(b"\r\n\r\n")
    fields = []
    for line in entity[:end].decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        fields.append((name.strip(), value.strip()))
    return fields, entity[end + 4:]


def issue_certificate(folder: Path, name: str,
                      issuer: tuple[rsa.RSAPrivateKey, x509.Certificate] | None,
                      ca: bool = False, crl_url: str | None = None
                      ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A key and its certificate, issued by `issuer` (None: self-signed), written to
    `name.pem`; with `crl_url`, naming it as its issuer's CRL distribution point."""
    now = datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_key, issuer_name = (key, subject) if issuer is None else (issuer[0],
                                                                     issuer[1].subject)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1))
               .not_valid_after(now + timedelta(days=60)))
    if ca:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                         critical=True)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                False, False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                       key.public_key()), critical=False))
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer[0].public_key()), critical=False)
    if crl_url is not None:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
    certificate = builder.sign(signer_key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    return key, certificate


def write_crl(folder: Path, name: str, issuer: tuple[rsa.RSAPrivateKey, x509.Certificate],
              revoked: list[x509.Certificate], next_update_days: int = 7,
              issued_hours_ago: float = 24) -> bytes:
    """A CRL of `issuer` revoking `revoked`, written to `folder/name` (PEM); its bytes."""
    now = datetime.now(UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer[1].subject)
               .last_update(now - timedelta(hours=issued_hours_ago))
               .next_update(now + timedelta(days=next_update_days)))
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(certificate.serial_number)
            .revocation_date(now - timedelta(hours=1)).build())
    crl = builder.sign(issuer[0], hashes.SHA256())
    (folder / name).write_bytes(crl.public_bytes(Encoding.PEM))
    return crl.public_bytes(Encoding.PEM)
