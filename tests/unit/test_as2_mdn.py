"""Reading MDNs as the sending side does: the ones mendelson and IBM Sterling returned, and
ours read back (signed, tampered, unsigned where a signature is required)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509

from gateway.as2.errors import (
    AuthenticationFailed,
    DispositionModifier,
    InsufficientSecurity,
    IntegrityCheckFailed,
    MalformedMessage,
)
from gateway.as2.mdn import (
    Disposition,
    MdnRequest,
    ReceiptFacts,
    build_receipt,
    claimed_original_message_id,
    is_receipt,
    read_receipt,
)
from gateway.as2.mime import entity_from_headers, signed_parts
from tests.as2_material import capture, make_party, require_interop


def _certificate(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((require_interop() / name).read_bytes())


def test_sterlings_signed_mdn_verifies_with_its_certificate() -> None:
    headers, body = capture("sb2bi_signed.mdn")
    receipt = read_receipt(headers, body, [_certificate("cert_sb2bi_public.pem")])
    assert receipt.original_message_id == \
        "<151694007918.24690.7052273208458909245@ip-172-31-14-209.ec2.internal>"
    assert receipt.disposition == "processed"
    assert receipt.signed_with == "sha1"
    assert receipt.mic_matches("wNh76aEicfBurg/et2wio4zk/2I=, sha1")
    assert not receipt.mic_matches("AAAAaEicfBurg/et2wio4zk/2I=, sha1")


def test_sterlings_mdn_does_not_verify_with_another_certificate() -> None:
    headers, body = capture("sb2bi_signed.mdn")
    with pytest.raises(AuthenticationFailed):
        read_receipt(headers, body, [_certificate("cert_mecas2_public.pem")])


def test_mendelsons_signed_mdn_verifies_and_names_its_mic() -> None:
    """Signed by an older mendelson test key the folder has no copy of: its signature is
    checked against the certificate the MDN carries (for this capture only; the sender side
    trusts the partner's entry, tested above with Sterling's)."""
    headers, body = capture("mecas2_signed.mdn")
    _part, signature = signed_parts(entity_from_headers(headers, body))
    carried = asn1_cms.ContentInfo.load(signature.decoded_body())["content"]["certificates"]
    certificate = x509.load_der_x509_certificate(carried[0].chosen.dump())
    receipt = read_receipt(headers, body, [certificate])
    assert receipt.disposition == "processed"
    assert receipt.mic == "O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha-256"
    with pytest.raises(AuthenticationFailed):
        read_receipt(headers, body, [_certificate("cert_mecas2_public.pem")])


def test_mendelsons_unsigned_error_mdn_is_read_only_when_unsigned_is_allowed() -> None:
    headers, body = capture("mecas2_unsigned.mdn")
    receipt = read_receipt(headers, body, [], require_signed=False)
    assert receipt.disposition == "processed/error: authentication-failed"
    assert receipt.is_error
    with pytest.raises(InsufficientSecurity):
        read_receipt(headers, body, [])


def test_our_signed_mdn_reads_back_and_a_changed_one_does_not(tmp_path: Path) -> None:
    ours = make_party(tmp_path, "ours")
    facts = ReceiptFacts("<m@acme>", "BUYER", "ACME",
                         Disposition(DispositionModifier.DECRYPTION_FAILED), None, "no key")
    receipt = build_receipt(facts, MdnRequest(True, True, "sha384", None), ours.pair,
                            datetime.now(UTC))
    read = read_receipt(receipt.headers, receipt.body, [ours.certificate])
    assert read.disposition == "processed/error: decryption-failed"
    assert read.signed_with == "sha384"
    assert read.original_message_id == "<m@acme>"
    with pytest.raises(IntegrityCheckFailed):
        read_receipt(receipt.headers, receipt.body.replace(b"decryption-failed",
                                                           b"decryption-fail3d"),
                     [ours.certificate])


@pytest.mark.parametrize("name", ["sb2bi_signed.mdn", "mecas2_signed.mdn",
                                  "mecas2_unsigned.mdn"])
def test_the_mdns_other_products_send_are_told_from_messages(name: str) -> None:
    headers, body = capture(name)
    assert is_receipt(headers, body)
    assert claimed_original_message_id(headers, body).startswith("<")


@pytest.mark.parametrize("name", ["mecas2_signed.as2", "mecas2_signed_encrypted.as2",
                                  "mecas2_compressed.as2", "sb2bi_signed_cmp.msg"])
def test_the_messages_other_products_send_are_not_mdns(name: str) -> None:
    headers, body = capture(name)
    assert not is_receipt(headers, body)
    with pytest.raises(MalformedMessage):
        claimed_original_message_id(headers, body)


def test_what_is_not_mime_at_all_is_no_mdn() -> None:
    assert not is_receipt([("Content-Type", "multipart/signed; boundary=x")], b"garbage")
    assert not is_receipt([("Content-Type", "multipart/signed")], b"--\r\n\r\n")
    assert not is_receipt([], b"")


def test_our_signed_mdn_is_an_mdn_and_names_the_message(tmp_path: Path) -> None:
    ours = make_party(tmp_path, "ours")
    facts = ReceiptFacts("<m@acme>", "BUYER", "ACME", Disposition(), None, "fine")
    for asked in (MdnRequest(True, True, "sha256", None), MdnRequest(True, False, "sha256",
                                                                       None)):
        receipt = build_receipt(facts, asked, ours.pair, datetime.now(UTC))
        assert is_receipt(receipt.headers, receipt.body)
        assert claimed_original_message_id(receipt.headers, receipt.body) == "<m@acme>"
