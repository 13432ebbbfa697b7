"""Opening AS2 messages: captures from mendelson and IBM Sterling, and every combination of
layers built by `openssl cms`; the received-content MIC as RFC 4130 section 7.3.1 says; the
errors and the MDN modifier each carries."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.as2.cms import HASHES
from gateway.as2.errors import (
    AuthenticationFailed,
    DecryptionFailed,
    DispositionModifier,
    InsufficientSecurity,
    IntegrityCheckFailed,
    TooLarge,
)
from gateway.as2.mime import canonical, entity_from_headers, split_entity
from gateway.as2.smime import Opened, Security, mic, micalg_name, open_message, received_mic
from tests.as2_material import (
    INTEROP,
    MENDELSON,
    STERLING,
    Party,
    as_http,
    capture,
    compress,
    encrypt,
    interop_directory,
    make_party,
    multipart_signed,
    payload_entity,
    pkcs7_mime,
    sign,
)

NOW = datetime.now(UTC)
EDI = b"UNA:+.? 'UNB+UNOC:3+SUPPLIER:14+BUYER:14+260101:1200+42'\r\nUNZ+0+42'\r\n"


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("pki")
    return {name: make_party(folder, name) for name in ("ours", "partner", "stranger")} | {
        "expired": make_party(folder, "expired", expired=True)}


def _security(parties: dict[str, Party], signer: str = "partner", **kwargs: object
              ) -> Security:
    return Security([parties["ours"].pair], [parties[signer].certificate], 10_000_000,
                    **kwargs)  # type: ignore[arg-type]


def _open(entity: bytes, security: Security) -> Opened:
    headers, body = as_http(entity)
    return open_message(entity_from_headers(headers, body), security)


@pytest.mark.parametrize("name", MENDELSON + STERLING)
def test_a_captured_message_opens_to_its_payload(name: str) -> None:
    directory = interop_directory()
    headers, body = capture(name)
    fields = {k.lower(): v for k, v in headers}
    partner = directory.partner(fields["as2-from"], fields["as2-to"])
    opened = open_message(entity_from_headers(headers, body),
                          directory.security(partner, fields["as2-to"], NOW))
    if name in STERLING:
        assert opened.payload.startswith(b"ISA*00*")
        assert opened.layers == ["signed:sha1", "compressed"]
        return
    expected = (INTEROP / "payload.txt").read_bytes()
    assert canonical(opened.payload).replace(b"\r\n", b"\n") == expected.replace(b"\r\n", b"\n")
    assert opened.filename == "payload.txt"
    assert opened.layers == CAPTURED_LAYERS[name]


# What each capture holds, outside in (mendelson signs its "compressed" message too).
CAPTURED_LAYERS = {
    "mecas2_signed.as2": ["signed:sha256"],
    "mecas2_encrypted.as2": ["encrypted"],
    "mecas2_signed_encrypted.as2": ["encrypted", "signed:sha256"],
    "mecas2_compressed.as2": ["signed:sha256", "compressed"],
    "mecas2_compressed_signed_encrypted.as2": ["encrypted", "signed:sha256", "compressed"],
}


def test_the_mic_of_a_captured_signed_message_is_over_the_signed_entity() -> None:
    headers, body = capture("mecas2_signed.as2")
    directory = interop_directory()
    opened = open_message(entity_from_headers(headers, body),
                          directory.security(directory.partners["mecas2"], "pyas2lib", NOW))
    signed_part = opened.mic_content
    assert signed_part.lower().startswith(b"content-type: application/edi-consent")
    # The same signed entity inside the encrypted capture gives the same MIC.
    headers2, body2 = capture("mecas2_signed_encrypted.as2")
    opened2 = open_message(entity_from_headers(headers2, body2),
                           directory.security(directory.partners["mecas2"], "pyas2lib", NOW))
    assert mic(opened.mic_content, "sha256") == mic(opened2.mic_content, "sha256")


LAYERS = [
    # (sign md, pss, cipher, oaep, compressed, base64 outer)
    ("sha1", False, None, False, False, False),
    ("sha256", False, None, False, False, True),
    ("sha384", True, None, False, False, False),
    ("sha512", True, "aes-256-cbc", True, False, False),
    ("sha256", False, "des3", False, False, True),
    ("sha256", False, "aes-128-cbc", False, True, False),
    ("sha224", False, "aes-192-cbc", True, True, True),
    ("sha256", False, "aes-128-gcm", False, False, False),
    ("sha256", True, "aes-256-gcm", True, True, False),
    (None, False, "aes-256-cbc", False, False, False),
    (None, False, "aes-256-gcm", True, True, True),
    (None, False, None, False, True, False),
    (None, False, None, False, False, False),
]


def _build(parties: dict[str, Party], folder: Path, md: str | None, pss: bool,
           cipher: str | None, oaep: bool, compressed: bool, b64: bool
           ) -> tuple[bytes, bytes | None, bytes | None]:
    """The message, the entity signed and the entity encrypted (compress, sign, encrypt)."""
    entity = payload_entity(EDI)
    if compressed:
        entity = pkcs7_mime(compress(entity), "compressed-data")
    signed = None
    if md is not None:
        signed = entity
        entity = multipart_signed(entity, sign(entity, parties["partner"], folder, md, pss),
                                  "sha1" if md == "sha1" else f"sha-{md[3:]}")
    encrypted = None
    if cipher is not None:
        encrypted = entity
        entity = pkcs7_mime(encrypt(entity, parties["ours"], folder, cipher, oaep),
                            "enveloped-data", b64)
    elif b64 and md is None:
        entity = pkcs7_mime(compress(entity), "compressed-data", True)
    return entity, signed, encrypted


@pytest.mark.parametrize(("md", "pss", "cipher", "oaep", "compressed", "b64"), LAYERS)
def test_openssl_built_layers_open_with_the_right_mic(
        parties: dict[str, Party], tmp_path: Path, md: str | None, pss: bool,
        cipher: str | None, oaep: bool, compressed: bool, b64: bool) -> None:
    message, signed, encrypted = _build(parties, tmp_path, md, pss, cipher, oaep,
                                        compressed, b64)
    opened = _open(message, _security(parties))
    assert opened.payload == EDI
    assert opened.filename == "order.edi"
    assert opened.signed_with == md
    assert opened.encrypted == (cipher is not None)
    if signed is not None:
        expected = signed
    elif encrypted is not None:
        expected = encrypted
    else:
        expected = as_http(message)[1]
        if b64:
            expected = base64.b64decode(expected)
    assert opened.mic_content == expected
    digest = base64.b64encode(hashlib.sha256(expected).digest()).decode()
    assert mic(opened.mic_content, "sha256") == f"{digest}, sha-256"
    # The signer's own algorithm takes the digest its check computed; every one agrees with
    # hashing the content afresh.
    assert (opened.signed_digest is not None) == (md is not None)
    for name in HASHES:
        fresh = base64.b64encode(hashlib.new(name, expected).digest()).decode()
        assert received_mic(opened, name) == f"{fresh}, {micalg_name(name)}"


def test_a_signed_part_sent_with_bare_lf_verifies_in_canonical_form(
        parties: dict[str, Party], tmp_path: Path) -> None:
    entity = b"Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n"
    bare = entity.replace(b"\r\n", b"\n")
    message = multipart_signed(bare, sign(entity, parties["partner"], tmp_path))
    opened = _open(message, _security(parties))
    assert opened.mic_content == entity


def test_a_changed_payload_fails_the_integrity_check(parties: dict[str, Party],
                                                     tmp_path: Path) -> None:
    entity = payload_entity(EDI)
    message = multipart_signed(entity, sign(entity, parties["partner"], tmp_path))
    tampered = message.replace(b"SUPPLIER", b"SUPPLIEX")
    with pytest.raises(IntegrityCheckFailed) as caught:
        _open(tampered, _security(parties))
    assert caught.value.modifier is DispositionModifier.INTEGRITY_CHECK_FAILED


@pytest.mark.parametrize("signer", ["stranger", "expired"])
def test_a_signature_by_another_or_an_expired_certificate_fails_authentication(
        parties: dict[str, Party], tmp_path: Path, signer: str) -> None:
    entity = payload_entity(EDI)
    message = multipart_signed(entity, sign(entity, parties[signer], tmp_path))
    security = _security(parties, signer)
    if signer == "expired":  # the partner's entry lists it, but its dates have passed
        from gateway.as2.partners import As2Partner
        partner = As2Partner("P", "P", (parties["expired"].certificate,))
        security = Security(security.keys, partner.valid_certificates(NOW), 10_000_000)
        assert security.certificates == []
    else:
        security = _security(parties, "partner")
    with pytest.raises(AuthenticationFailed) as caught:
        _open(message, security)
    assert caught.value.modifier is DispositionModifier.AUTHENTICATION_FAILED


def test_a_message_encrypted_to_another_certificate_fails_decryption(
        parties: dict[str, Party], tmp_path: Path) -> None:
    message = pkcs7_mime(encrypt(payload_entity(EDI), parties["stranger"], tmp_path),
                         "enveloped-data")
    with pytest.raises(DecryptionFailed) as caught:
        _open(message, _security(parties))
    assert caught.value.modifier is DispositionModifier.DECRYPTION_FAILED


def test_a_changed_ciphertext_fails_decryption(parties: dict[str, Party],
                                               tmp_path: Path) -> None:
    der = bytearray(encrypt(payload_entity(EDI), parties["ours"], tmp_path, "aes-128-gcm"))
    der[-20] ^= 0x01
    with pytest.raises(DecryptionFailed):
        _open(pkcs7_mime(bytes(der), "enveloped-data"), _security(parties))


def test_decompression_stops_at_the_cap() -> None:
    bomb = b"Content-Type: text/plain\r\n\r\n" + b"0" * 5_000_000
    message = pkcs7_mime(compress(bomb), "compressed-data")
    assert len(zlib.compress(bomb)) < 10_000
    security = Security([], [], 1_000_000)
    with pytest.raises(TooLarge) as caught:
        _open(message, security)
    assert caught.value.modifier is DispositionModifier.UNEXPECTED_PROCESSING_ERROR


def test_a_partner_that_must_encrypt_is_refused_plain_text(parties: dict[str, Party],
                                                           tmp_path: Path) -> None:
    entity = payload_entity(EDI)
    message = multipart_signed(entity, sign(entity, parties["partner"], tmp_path))
    with pytest.raises(InsufficientSecurity):
        _open(message, _security(parties, require_encrypted=True))
    with pytest.raises(InsufficientSecurity):
        _open(payload_entity(EDI), _security(parties, require_signed=True))


def test_an_entity_without_an_empty_line_is_all_header_or_refused() -> None:
    assert split_entity(b"\r\nbody only").body == b"body only"


def test_a_bad_key_transport_and_a_bad_tag_read_alike(parties: dict[str, Party],
                                                      tmp_path: Path) -> None:
    """No padding oracle: the MDN's reason does not tell an RSA failure from a content
    failure."""
    from asn1crypto import cms as asn1_cms

    from gateway.as2.cms import NOT_OURS

    der = encrypt(payload_entity(EDI), parties["ours"], tmp_path, "aes-128-gcm")
    info = asn1_cms.ContentInfo.load(der)
    recipient = info["content"]["recipient_infos"][0].chosen
    wrapped = bytearray(recipient["encrypted_key"].native)
    wrapped[5] ^= 0x40
    recipient["encrypted_key"] = bytes(wrapped)
    tampered_tag = bytearray(der)
    tampered_tag[-3] ^= 0x01
    reasons = set()
    for message in (info.dump(force=True), bytes(tampered_tag)):
        with pytest.raises(DecryptionFailed) as caught:
            _open(pkcs7_mime(message, "enveloped-data"), _security(parties))
        reasons.add(str(caught.value))
    assert reasons == {NOT_OURS}


@pytest.mark.parametrize("body", [
    b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03\xa0\x80\x30\x03\x02\x01",
    b"\x30\x03\x02\x01\x00",
    b"not DER at all",
])
def test_bytes_that_are_no_cms_are_a_located_error(parties: dict[str, Party],
                                                   body: bytes) -> None:
    from gateway.as2.errors import As2Error

    with pytest.raises(As2Error):
        _open(pkcs7_mime(body, "enveloped-data"), _security(parties))


def test_a_changed_or_cut_message_opens_or_raises_an_as2_error_never_another(
        parties: dict[str, Party], tmp_path: Path) -> None:
    """Hostile bytes: 100 messages with a byte changed or the end cut, at random places of a
    signed, compressed and encrypted message, each refused with an error that carries an MDN
    disposition (or, rarely, still opening) and nothing else escaping."""
    import random

    from gateway.as2.errors import As2Error

    message, _signed, _encrypted = _build(parties, tmp_path, "sha256", False, "aes-256-cbc",
                                          False, True, False)
    header, body = message.split(b"\r\n\r\n", 1)
    chance = random.Random(14)
    refused = 0
    for _ in range(100):
        mutated = bytearray(body)
        if chance.random() < 0.5:
            mutated[chance.randrange(len(mutated))] ^= 1 << chance.randrange(8)
        else:
            del mutated[chance.randrange(len(mutated)):]
        try:
            _open(header + b"\r\n\r\n" + bytes(mutated), _security(parties))
        except As2Error:
            refused += 1
    assert refused > 80
