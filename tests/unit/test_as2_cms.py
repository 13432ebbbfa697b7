"""`sign_detached` writes the DER of a detached SignedData around its signed attributes and
signature: the same bytes asn1crypto encodes for that structure, which OpenSSL verifies."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.as2.cms import HASHES, KeyPair, _digest, _hash, sign_detached, verify
from tests.as2_material import Party, make_party, require_openssl

CONTENT = b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nreport\r\n--x--\r\n"


def _with_asn1crypto(content: bytes, signer: KeyPair, digest: str, now: datetime) -> bytes:
    """The SignedData as asn1crypto builds it from its parts (how it was built before)."""
    algorithm = _hash(digest)
    certificate = asn1_x509.Certificate.load(signer.certificate.public_bytes(Encoding.DER))
    time = asn1_cms.Time(name="utc_time" if now.year < 2050 else "generalized_time", value=now)
    attrs = asn1_cms.CMSAttributes([
        {"type": "content_type", "values": ["data"]},
        {"type": "signing_time", "values": [time]},
        {"type": "message_digest", "values": [_digest(algorithm, content)]},
    ])
    signature = signer.key.sign(attrs.dump(), padding.PKCS1v15(), algorithm)
    info = asn1_cms.SignerInfo({
        "version": "v1",
        "sid": asn1_cms.SignerIdentifier(name="issuer_and_serial_number", value={
            "issuer": certificate.issuer, "serial_number": certificate.serial_number}),
        "digest_algorithm": {"algorithm": digest}, "signed_attrs": attrs,
        "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"}, "signature": signature})
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": {
        "version": "v1", "digest_algorithms": [{"algorithm": digest}],
        "encap_content_info": {"content_type": "data"},
        "certificates": [certificate], "signer_infos": [info]}}).dump())


@pytest.fixture(scope="module")
def party(tmp_path_factory: pytest.TempPathFactory) -> Party:
    return make_party(tmp_path_factory.mktemp("cms"), "ours")


@pytest.mark.parametrize("digest", sorted(HASHES))
@pytest.mark.parametrize("now", [datetime(2026, 12, 6, 9, 40, 1, tzinfo=UTC),
                                 datetime(2051, 1, 31, 23, 59, 59, tzinfo=UTC)])
def test_the_signature_is_asn1cryptos_encoding_byte_for_byte(
        party: Party, digest: str, now: datetime) -> None:
    # PKCS#1 v1.5 signatures are deterministic: equal structures give equal bytes.
    content = CONTENT * 2000  # past the one- and two-byte DER lengths
    assert sign_detached(content, party.pair, digest, now) == \
        _with_asn1crypto(content, party.pair, digest, now)


def test_the_signature_verifies_with_our_reader_and_only_over_its_content(party: Party) -> None:
    der = sign_detached(CONTENT, party.pair, "sha256")
    verified, content = verify(der, [CONTENT], [party.certificate])
    assert (verified.digest_algorithm, content) == ("sha256", CONTENT)
    with pytest.raises(Exception, match="digest is not the signed one"):
        verify(der, [CONTENT + b" "], [party.certificate])


def test_openssl_verifies_the_signature(party: Party, tmp_path: Path) -> None:
    (tmp_path / "content").write_bytes(CONTENT)
    (tmp_path / "signature.der").write_bytes(sign_detached(CONTENT, party.pair, "sha1"))
    done = subprocess.run(
        [require_openssl(), "cms", "-verify", "-binary", "-inform", "DER", "-in",
         str(tmp_path / "signature.der"), "-content", str(tmp_path / "content"),
         "-CAfile", str(party.cert_path), "-out", str(tmp_path / "out")],
        capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == CONTENT
