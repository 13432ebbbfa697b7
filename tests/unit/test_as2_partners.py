"""AS2 partners and our identities from the partner file: keys at rest, several certificates
during a renewal chosen by their dates, chains to a listed CA, and what the sender asks of the
MDN."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.as2.errors import UnknownPartner
from gateway.as2.mdn import Disposition, MdnRequest, ReceiptFacts, build_receipt, mdn_request
from gateway.as2.outgoing import ContentCipher
from gateway.as2.partners import directory_from_file
from gateway.errors import ConfigurationError
from tests.as2_material import (
    Party,
    issue_certificate,
    make_party,
    require_interop,
    write_crl,
)

FILE = """
[as2]
max_message_bytes = 1000

[[as2.stations]]
as2_id = "BUYER-AS2"
key = "ours.key"
certificate = "ours.pem"

[[suppliers]]
code = "ACME"
as2_id = "ACME-AS2"
[suppliers.as2]
certificates = ["old.pem", "new.pem"]
require_encrypted = true
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("ours", "new"):
        make_party(tmp_path, name)
    make_party(tmp_path, "old", expired=True)
    (tmp_path / "ours.key").chmod(0o600)
    (tmp_path / "partners.toml").write_text(FILE)
    return tmp_path


def test_the_partner_file_gives_our_keys_and_the_partners_valid_certificates(
        folder: Path) -> None:
    directory = directory_from_file(folder / "partners.toml", {})
    now = datetime.now(UTC) + timedelta(minutes=1)
    partner = directory.partner("ACME-AS2", "BUYER-AS2")
    assert partner.supplier_code == "ACME"
    assert len(partner.certificates) == 2
    # The expired certificate stays listed but is not used: only the new one verifies.
    assert partner.valid_certificates(now) == [Party(folder / "new.key",
                                                     folder / "new.pem").certificate]
    security = directory.security(partner, "BUYER-AS2", now)
    assert security.require_encrypted
    assert security.require_signed
    assert directory.max_message_bytes == 1000
    assert directory.signer("BUYER-AS2", now) is not None
    assert directory.signer("BUYER-AS2", now + timedelta(days=400)) is None


def test_an_unknown_as2_id_on_either_side_is_an_unknown_partner(folder: Path) -> None:
    directory = directory_from_file(folder / "partners.toml", {})
    with pytest.raises(UnknownPartner):
        directory.partner("NOBODY", "BUYER-AS2")
    with pytest.raises(UnknownPartner):
        directory.partner("ACME-AS2", "SOMEONE-ELSE")


def test_an_unencrypted_key_readable_by_others_is_refused(folder: Path) -> None:
    (folder / "ours.key").chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by group or others"):
        directory_from_file(folder / "partners.toml", {})


def test_a_pkcs12_key_with_its_password_from_the_environment(folder: Path) -> None:
    shutil.copy(require_interop() / "cert_test.p12", folder / "ours.p12")
    (folder / "ours.p12").chmod(0o644)  # encrypted at rest: its mode is not checked
    text = FILE.replace('key = "ours.key"\ncertificate = "ours.pem"',
                        'key = "ours.p12"\npassword_env = "AS2_KEY_PASSWORD"')
    (folder / "partners.toml").write_text(text)
    directory = directory_from_file(folder / "partners.toml", {"AS2_KEY_PASSWORD": "test"})
    (pair,) = directory.stations["BUYER-AS2"]
    assert "pyas2lib" in pair.certificate.subject.rfc4514_string()
    with pytest.raises(ConfigurationError, match="PKCS#12"):
        directory_from_file(folder / "partners.toml", {"AS2_KEY_PASSWORD": "wrong"})


def test_an_unknown_key_in_a_partners_as2_table_is_refused(folder: Path) -> None:
    (folder / "partners.toml").write_text(FILE.replace("require_encrypted", "require_encryptd"))
    with pytest.raises(ConfigurationError, match="unknown keys"):
        directory_from_file(folder / "partners.toml", {})


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, MdnRequest(False, False, "sha256", None)),
    ({"disposition-notification-to": "x"}, MdnRequest(True, False, "sha256", None)),
    ({"disposition-notification-to": "x", "disposition-notification-options":
      "signed-receipt-protocol=optional,pkcs7-signature;signed-receipt-micalg=optional,sha1"},
     MdnRequest(True, True, "sha1", None)),
    ({"disposition-notification-to": "x", "disposition-notification-options":
      "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, "
      "md5, sha-384", "receipt-delivery-option": "https://partner.example/mdn"},
     MdnRequest(True, True, "sha384", "https://partner.example/mdn")),
])
def test_what_the_sender_asks_of_the_mdn(headers: dict[str, str],
                                         expected: MdnRequest) -> None:
    assert mdn_request(headers) == expected


def test_an_unsigned_mdn_names_the_disposition_and_keeps_sender_text_on_one_line() -> None:
    facts = ReceiptFacts("<a@b>\r\nBcc: x", "BUYER", "ACME", Disposition(warning="duplicate-"
                         "document"), "abc=, sha-256", "line one\nline two")
    receipt = build_receipt(facts, MdnRequest(True, False, "sha256", None), None,
                            datetime(2026, 1, 1, tzinfo=UTC))
    text = receipt.body.decode()
    assert "Disposition: automatic-action/MDN-sent-automatically; processed/warning: " \
           "duplicate-document\r\n" in text
    assert "Original-Message-ID: <a@b>??Bcc: x\r\n" in text
    assert "Received-Content-MIC: abc=, sha-256\r\n" in text
    assert dict(receipt.headers)["AS2-To"] == "ACME"


def test_certificates_ending_within_the_window_are_noticed_and_an_expired_one_too(
        folder: Path) -> None:
    from gateway.as2.partners import expiring

    directory = directory_from_file(folder / "partners.toml", {})
    now = datetime.now(UTC)
    notices = expiring(directory, now, 10)
    assert [(n.whose, n.supplier_code) for n in notices] == [("partner ACME-AS2", "ACME")]
    assert notices[0].days_left < 0  # old.pem ended in 2020
    later = {n.subject for n in expiring(directory, now, 40)}
    assert later == {"CN=ours", "CN=new", "CN=old"}


def test_an_asynchronous_mdn_is_asked_at_our_mdn_url_with_the_partners_window(
        folder: Path) -> None:
    text = FILE.replace("max_message_bytes = 1000",
                        'mdn_url = "https://as2.buyer.example/as2"\n'
                        "certificate_warn_days = 45") \
        + 'url = "https://as2.acme.example/in"\nmdn = "async"\nmdn_timeout_minutes = 90\n'
    (folder / "partners.toml").write_text(text)
    directory = directory_from_file(folder / "partners.toml", {})
    plan = directory.partner("ACME-AS2", "BUYER-AS2").plan
    assert plan.mdn == MdnRequest(True, True, "sha256", "https://as2.buyer.example/as2")
    assert plan.mdn_timeout_minutes == 90
    assert (directory.mdn_url, directory.warn_days) == ("https://as2.buyer.example/as2", 45)


@pytest.mark.parametrize(("as2_table", "partner_lines", "complaint"), [
    ("", 'mdn = "async"\n', "needs `mdn_url`"),
    ('mdn_url = "https://x.example/as2"\n', 'mdn = "later"\n', "sync, async or none"),
    ('mdn_url = "https://x.example/as2"\n', 'mdn = "async"\nmdn_timeout_minutes = 0\n',
     "positive number"),
    ('mdn_url = "ftp://x.example/as2"\n', "", "http"),
    ("certificate_warn_days = -1\n", "", "certificate_warn_days"),
])
def test_an_asynchronous_mdn_misconfigured_is_refused(
        folder: Path, as2_table: str, partner_lines: str, complaint: str) -> None:
    text = FILE.replace("max_message_bytes = 1000\n", as2_table) + partner_lines
    (folder / "partners.toml").write_text(text)
    with pytest.raises(ConfigurationError, match=re.escape(complaint)):
        directory_from_file(folder / "partners.toml", {})


def test_rsa_pss_signatures_and_aes_gcm_are_asked_in_the_partners_entry(
        folder: Path) -> None:
    (folder / "partners.toml").write_text(
        FILE + 'url = "https://as2.acme.example/in"\nencrypt = "aes128_gcm"\npss = true\n')
    plan = directory_from_file(folder / "partners.toml", {}).partner(
        "ACME-AS2", "BUYER-AS2").plan
    assert plan.encrypt == ContentCipher.AES128_GCM
    assert plan.pss
    assert plan.sign == "sha256"


@pytest.mark.parametrize("line", ['pss = "false"', 'oaep = "no"', "compress = 1",
                                  'require_signed = "false"', 'mdn_signed = "true"'])
def test_a_yes_or_no_key_given_as_anything_but_true_or_false_is_refused(
        folder: Path, line: str) -> None:
    """TOML's booleans only: the text "false" would have been true."""
    (folder / "partners.toml").write_text(FILE + line + "\n")
    with pytest.raises(ConfigurationError, match="must be true or false"):
        directory_from_file(folder / "partners.toml", {})


@pytest.mark.parametrize(("line", "complaint"), [
    ('station = "NOPE-AS2"', "station 'NOPE-AS2' is not one of our AS2 ids (BUYER-AS2)"),
    ('url = "ftp://as2.acme.example/in"', "url must be an http(s) URL"),
    ("mdn_timeout_minutes = inf", "mdn_timeout_minutes must be a positive number"),
    ("mdn_timeout_minutes = nan", "mdn_timeout_minutes must be a positive number"),
])
def test_a_sending_key_that_could_never_work_is_refused(folder: Path, line: str,
                                                       complaint: str) -> None:
    """Loaded, these would only fail when a message is sent (or never time out)."""
    (folder / "partners.toml").write_text(FILE + line + "\n")
    with pytest.raises(ConfigurationError, match=re.escape(complaint)):
        directory_from_file(folder / "partners.toml", {})


def test_a_certificate_that_is_not_the_keys_is_refused(folder: Path) -> None:
    (folder / "partners.toml").write_text(FILE.replace('certificate = "ours.pem"',
                                                       'certificate = "new.pem"'))
    with pytest.raises(ConfigurationError, match="not the certificate of the key"):
        directory_from_file(folder / "partners.toml", {})


def test_a_partner_certificate_must_chain_to_a_ca_its_entry_lists(folder: Path) -> None:
    ca = issue_certificate(folder, "acme-ca", None, ca=True)
    other_ca = issue_certificate(folder, "other-ca", None, ca=True)
    issue_certificate(folder, "acme-issued", ca)
    # A bundle holding an unrelated CA before Acme's: any one of them may be the issuer.
    (folder / "bundle.pem").write_bytes((folder / "other-ca.pem").read_bytes()
                                        + (folder / "acme-ca.pem").read_bytes())
    text = FILE.replace('["old.pem", "new.pem"]', '["acme-issued.pem"]') \
        + 'ca_certificates = ["bundle.pem"]\n'
    (folder / "partners.toml").write_text(text)
    partner = directory_from_file(folder / "partners.toml", {}).partners["ACME-AS2"]
    assert [c.subject.rfc4514_string() for c in partner.certificates] == ["CN=acme-issued"]
    # Issued by another CA, or self-signed (new.pem): refused, naming the file.
    issue_certificate(folder, "stranger-issued", other_ca)
    for listed in ("stranger-issued.pem", "new.pem"):
        (folder / "partners.toml").write_text(
            text.replace('["acme-issued.pem"]', f'["{listed}"]')
            .replace('["bundle.pem"]', '["acme-ca.pem"]'))
        with pytest.raises(ConfigurationError,
                           match=rf"{re.escape(listed)}: not issued by a CA in ca_certificates"):
            directory_from_file(folder / "partners.toml", {})


def test_a_certificate_its_cas_revocation_list_names_is_listed_and_never_used(
        folder: Path) -> None:
    ca = issue_certificate(folder, "acme-ca", None, ca=True)
    _key, revoked = issue_certificate(folder, "acme-2025", ca)
    _key, current = issue_certificate(folder, "acme-2026", ca)
    write_crl(folder, "acme-ca.crl", ca, [revoked])
    (folder / "partners.toml").write_text(
        FILE.replace('["old.pem", "new.pem"]', '["acme-2025.pem", "acme-2026.pem"]')
        + 'ca_certificates = ["acme-ca.pem"]\ncrls = ["acme-ca.crl"]\n')
    directory = directory_from_file(folder / "partners.toml", {})
    partner = directory.partners["ACME-AS2"]
    now = datetime.now(UTC)
    assert partner.certificates == (revoked, current)
    assert partner.revoked == (revoked,)
    assert partner.valid_certificates(now) == [current]
    # Neither a message signed with it verifies, nor is ours encrypted to it.
    assert directory.security(partner, "BUYER-AS2", now).certificates == [current]
    assert partner.encryption_certificate(now) == current


def test_a_certificate_issued_by_a_revoked_intermediate_ca_is_never_used(
        folder: Path) -> None:
    root = issue_certificate(folder, "acme-root", None, ca=True)
    intermediate = issue_certificate(folder, "acme-ca", root, ca=True)
    _key, certificate = issue_certificate(folder, "acme-2026", intermediate)
    write_crl(folder, "acme-root.crl", root, [intermediate[1]])
    write_crl(folder, "acme-ca.crl", intermediate, [])
    (folder / "partners.toml").write_text(
        FILE.replace('["old.pem", "new.pem"]', '["acme-2026.pem"]')
        + 'ca_certificates = ["acme-root.pem", "acme-ca.pem"]\n'
        + 'crls = ["acme-root.crl", "acme-ca.crl"]\n')
    directory = directory_from_file(folder / "partners.toml", {})
    partner = directory.partners["ACME-AS2"]
    now = datetime.now(UTC)
    assert partner.revoked == (certificate,)
    assert partner.valid_certificates(now) == []
    assert partner.encryption_certificate(now) is None


def test_a_revocation_list_signed_with_sha1_is_refused_saying_so(folder: Path) -> None:
    ca = issue_certificate(folder, "acme-ca", None, ca=True)
    issue_certificate(folder, "acme-2026", ca)
    # Re-signed with SHA-1 (as old CAs still do), which cryptography no longer checks.
    crl = asn1_crl.CertificateList.load(x509.load_pem_x509_crl(
        write_crl(folder, "acme-ca.crl", ca, [])).public_bytes(Encoding.DER))
    tbs = crl["tbs_cert_list"]
    tbs["signature"] = {"algorithm": "sha1_rsa"}
    signed = tbs.dump(force=True)
    (folder / "acme-ca.crl").write_bytes(asn1_crl.CertificateList({
        "tbs_cert_list": asn1_crl.TbsCertList.load(signed),
        "signature_algorithm": {"algorithm": "sha1_rsa"},
        "signature": ca[0].sign(signed, padding.PKCS1v15(), hashes.SHA1())}).dump())
    if x509.load_der_x509_crl((folder / "acme-ca.crl").read_bytes()).is_signature_valid(
            ca[1].public_key()):  # type: ignore[arg-type]
        pytest.skip("this cryptography still checks SHA-1 signatures")
    (folder / "partners.toml").write_text(
        FILE.replace('["old.pem", "new.pem"]', '["acme-2026.pem"]')
        + 'ca_certificates = ["acme-ca.pem"]\ncrls = ["acme-ca.crl"]\n')
    with pytest.raises(ConfigurationError, match="signed with SHA1, whose signatures are no "
                                                 "longer checked"):
        directory_from_file(folder / "partners.toml", {})


@pytest.mark.parametrize(("signer", "with_cas", "complaint"), [
    ("other-ca", True, "acme-ca.crl: not signed by a CA in ca_certificates"),
    ("acme-ca", False, "crls needs ca_certificates"),
])
def test_a_revocation_list_not_signed_by_a_listed_ca_is_refused(
        folder: Path, signer: str, with_cas: bool, complaint: str) -> None:
    cas = {name: issue_certificate(folder, name, None, ca=True) for name in ("acme-ca", "other-ca")}
    _key, certificate = issue_certificate(folder, "acme-2026", cas["acme-ca"])
    # Named as Acme's CA's list, signed by another key.
    forged = (cas[signer][0], cas["acme-ca"][1])
    write_crl(folder, "acme-ca.crl", forged, [certificate])
    (folder / "partners.toml").write_text(
        FILE.replace('["old.pem", "new.pem"]', '["acme-2026.pem"]')
        + ('ca_certificates = ["acme-ca.pem"]\n' if with_cas else "")
        + 'crls = ["acme-ca.crl"]\n')
    with pytest.raises(ConfigurationError, match=re.escape(complaint)):
        directory_from_file(folder / "partners.toml", {})


def test_gateway_as2_check_tells_a_revoked_certificate_and_an_out_of_date_list(
        folder: Path) -> None:
    from click.testing import CliRunner

    from gateway.cli import cli

    ca = issue_certificate(folder, "acme-ca", None, ca=True)
    _key, revoked = issue_certificate(folder, "acme-2025", ca)
    write_crl(folder, "acme-ca.crl", ca, [revoked], next_update_days=-1)
    (folder / "partners.toml").write_text(
        FILE.replace('["old.pem", "new.pem"]', '["acme-2025.pem"]')
        + 'ca_certificates = ["acme-ca.pem"]\ncrls = ["acme-ca.crl"]\n')
    checked = CliRunner().invoke(cli, ["as2", "check", "--partners",
                                       str(folder / "partners.toml")])
    assert checked.exit_code == 0, checked.output
    assert "CN=acme-2025" in checked.output
    assert "valid, REVOKED" in checked.output
    assert "CRL of CN=acme-ca" in checked.output
    assert "1 revoked, OUT OF DATE" in checked.output


def test_the_commands_offer_every_digest_and_cipher_a_partner_entry_takes() -> None:
    from gateway.as2.cms import HASHES
    from gateway.as2.outgoing import ContentCipher
    from gateway.cli.as2 import CIPHERS, DIGESTS

    assert set(DIGESTS) == {*HASHES, "none"}
    assert set(CIPHERS) == {*(cipher.value for cipher in ContentCipher), "none"}
