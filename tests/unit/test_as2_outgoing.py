"""AS2 messages the gateway sends: each combination the partner's entry can ask for is opened
by Debian's `openssl cms` (decrypt, verify) and by our own receiving side, and the MIC the MDN
must return is the one the receiving side computes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms

from gateway.as2.cms import content_info, sign_detached
from gateway.as2.mdn import MdnRequest
from gateway.as2.mime import entity_from_headers, signed_parts, split_entity
from gateway.as2.outgoing import ContentCipher, SendPlan, pack
from gateway.as2.smime import Security, mic, open_message
from tests.as2_material import Party, make_party, require_openssl

EDI = b"UNA:+.? 'UNB+UNOC:3+5400000000001:14+5412345000013:14+261126:0900+9'UNZ+0+9'\r\n"


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("pki")
    return {name: make_party(folder, name) for name in ("ours", "partner")}


def _openssl(args: list[str], data: bytes, folder: Path) -> bytes:
    (folder / "in.bin").write_bytes(data)
    done = subprocess.run([require_openssl(), "cms", *args, "-binary", "-in",
                           str(folder / "in.bin")], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


PLANS = [
    SendPlan(),
    SendPlan(sign="sha1", encrypt=ContentCipher.TRIPLEDES, mdn=MdnRequest(True, True, "sha1",
                                                                          None)),
    SendPlan(sign="sha512", encrypt=ContentCipher.AES128_CBC, oaep=True, compress=True),
    SendPlan(sign=None, encrypt=ContentCipher.AES192_CBC),
    SendPlan(sign="sha384", encrypt=None, compress=True),
    SendPlan(sign=None, encrypt=None),
    SendPlan(encrypt=ContentCipher.AES128_GCM, pss=True),
    SendPlan(sign="sha1", encrypt=ContentCipher.AES256_GCM, oaep=True, pss=True,
             compress=True),
    SendPlan(sign=None, encrypt=ContentCipher.AES192_GCM),
]


@pytest.mark.parametrize("plan", PLANS, ids=str)
def test_what_we_send_opens_in_openssl_and_on_our_receiving_side(
        parties: dict[str, Party], tmp_path: Path, plan: SendPlan) -> None:
    packed = pack(EDI, "application/edifact", "contrl.edi", plan, parties["ours"].pair,
                  parties["partner"].certificate)
    opened = open_message(entity_from_headers(packed.headers, packed.body),
                          Security([parties["partner"].pair], [parties["ours"].certificate],
                                   1_000_000))
    assert opened.payload == EDI
    assert opened.filename == "contrl.edi"
    micalg = plan.mdn.micalg if plan.mdn else (plan.sign or "sha256")
    assert mic(opened.mic_content, micalg) == packed.mic
    if plan.encrypt is None:
        return
    expected = "authenticated_enveloped_data" if plan.encrypt.value.endswith("_gcm") \
        else "enveloped_data"
    assert content_info(packed.body)[0] == expected
    inner = _openssl(["-decrypt", "-inform", "DER", "-recip",
                      str(parties["partner"].cert_path), "-inkey",
                      str(parties["partner"].key_path)], packed.body, tmp_path)
    entity = split_entity(inner)
    if plan.sign is not None:
        signed, signature = signed_parts(entity)
        assert _signature_algorithm(signature.decoded_body()) == (
            "rsassa_pss" if plan.pss else "rsassa_pkcs1v15")
        (tmp_path / "signed").write_bytes(signed)
        _openssl(["-verify", "-inform", "DER", "-content", str(tmp_path / "signed"),
                  "-CAfile", str(parties["ours"].cert_path), "-out", "/dev/null"],
                 signature.decoded_body(), tmp_path)
    else:
        assert entity.decoded_body() == EDI


def test_our_sha1_signature_verifies_in_openssl(parties: dict[str, Party],
                                                tmp_path: Path) -> None:
    content = b"Content-Type: text/plain\r\n\r\nreceipt\r\n"
    (tmp_path / "content").write_bytes(content)
    _openssl(["-verify", "-inform", "DER", "-content", str(tmp_path / "content"), "-CAfile",
              str(parties["ours"].cert_path), "-out", "/dev/null"],
             sign_detached(content, parties["ours"].pair, "sha1"), tmp_path)


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_our_pss_signature_verifies_in_openssl_with_the_rfc_4056_parameters(
        parties: dict[str, Party], tmp_path: Path, digest: str) -> None:
    content = b"Content-Type: text/plain\r\n\r\nreceipt\r\n"
    (tmp_path / "content").write_bytes(content)
    der = sign_detached(content, parties["ours"].pair, digest, pss=True)
    _openssl(["-verify", "-inform", "DER", "-content", str(tmp_path / "content"), "-CAfile",
              str(parties["ours"].cert_path), "-out", "/dev/null"], der, tmp_path)
    (signer,) = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"]
    parameters = signer["signature_algorithm"]["parameters"]
    assert signer["signature_algorithm"]["algorithm"].native == "rsassa_pss"
    assert parameters["hash_algorithm"]["algorithm"].native == digest
    assert parameters["mask_gen_algorithm"]["parameters"]["algorithm"].native == digest
    assert parameters["salt_length"].native == {"sha1": 20, "sha256": 32, "sha512": 64}[digest]


def _signature_algorithm(der: bytes) -> str:
    (signer,) = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"]
    return str(signer["signature_algorithm"]["algorithm"].native)


def test_signing_without_a_key_or_encrypting_without_a_certificate_is_refused(
        parties: dict[str, Party]) -> None:
    with pytest.raises(ValueError, match="no key of ours"):
        pack(EDI, "application/edifact", "a.edi", SendPlan(), None,
             parties["partner"].certificate)
    with pytest.raises(ValueError, match="no valid certificate"):
        pack(EDI, "application/edifact", "a.edi", SendPlan(), parties["ours"].pair, None)
