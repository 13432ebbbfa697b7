"""The partner file read again when it or a file it names changes: at most every
`check_seconds`, the whole table swapped at once, a broken version refused (the previous one
stays in service) and told once, a fixed one taken."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gateway.as2.reload import PartnerFileWatch, files_named
from gateway.errors import ConfigurationError
from tests.as2_material import ACME_PARTNER_FILE, Party, make_party

PARTNER_FILE = ACME_PARTNER_FILE


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_party(tmp_path, "ours")
    make_party(tmp_path, "acme")
    (tmp_path / "ours.key").chmod(0o600)
    (tmp_path / "partners.toml").write_text(PARTNER_FILE)
    return tmp_path


def _renewed(folder: Path, name: str) -> Party:
    """A new key and certificate for `name`, made aside and moved over the old files the way
    an administrator's `mv` (a rename) does."""
    aside = folder / "aside"
    aside.mkdir(exist_ok=True)
    party = make_party(aside, name)
    party.key_path.chmod(0o600)
    os.replace(party.key_path, folder / f"{name}.key")
    os.replace(party.cert_path, folder / f"{name}.pem")
    return Party(folder / f"{name}.key", folder / f"{name}.pem")


def test_the_files_named_are_the_partner_file_s_keys_and_certificates(folder: Path) -> None:
    assert files_named(folder / "partners.toml") == [
        folder / "ours.key", folder / "ours.pem", folder / "acme.pem"]
    (folder / "broken.toml").write_text("[as2\n")
    assert files_named(folder / "broken.toml") == []
    # A new CA bundle or revocation list is a change too.
    (folder / "partners.toml").write_text(
        PARTNER_FILE + 'ca_certificates = ["ca.pem"]\ncrls = ["ca.crl"]\n')
    assert files_named(folder / "partners.toml")[-2:] == [folder / "ca.pem", folder / "ca.crl"]


def test_a_renewed_certificate_is_in_service_after_the_next_check(folder: Path) -> None:
    ticks = Ticks()
    told: list[str | None] = []
    watch = PartnerFileWatch(folder / "partners.toml", {}, 5.0, told.append, ticks)
    before = watch.current()
    assert watch.current() is before   # nothing changed: the same table
    renewed = _renewed(folder, "acme")
    ticks.now += 4.9
    assert watch.current() is before   # not checked yet
    ticks.now += 0.2
    after = watch.current()
    assert after is not before
    assert after.partners["ACME-AS2"].certificates == (renewed.certificate,)
    assert watch.current() is after
    assert told == []


def test_our_renewed_key_and_certificate_sign_after_the_next_check(folder: Path) -> None:
    ticks = Ticks()
    watch = PartnerFileWatch(folder / "partners.toml", {}, 1.0, None, ticks)
    renewed = _renewed(folder, "ours")
    ticks.now += 1.0
    (pair,) = watch.current().stations["BUYER-AS2"]
    assert pair.certificate == renewed.certificate


def test_a_broken_version_keeps_the_old_table_and_is_told_once_then_a_fix_is_taken(
        folder: Path) -> None:
    ticks = Ticks()
    told: list[str | None] = []
    watch = PartnerFileWatch(folder / "partners.toml", {}, 1.0, told.append, ticks)
    before = watch.current()
    (folder / "partners.toml").write_text(PARTNER_FILE + "\n[[suppliers]\n")
    for _check in range(3):
        ticks.now += 1.0
        assert watch.current() is before
    assert len(told) == 1
    assert "partners.toml" in str(told[0])
    (folder / "partners.toml").write_text(PARTNER_FILE.replace("acme.pem", "acme.pem\", "
                                                               "\"ours.pem"))
    ticks.now += 1.0
    fixed = watch.current()
    assert len(fixed.partners["ACME-AS2"].certificates) == 2
    assert told[1:] == [None]


def test_a_certificate_that_is_not_the_key_s_is_refused(folder: Path) -> None:
    """A renewal half done (the new certificate moved in, not yet its key) would sign with
    a key no partner can verify: the previous pair stays in service."""
    ticks = Ticks()
    told: list[str | None] = []
    watch = PartnerFileWatch(folder / "partners.toml", {}, 1.0, told.append, ticks)
    (before,) = watch.current().stations["BUYER-AS2"]
    aside = folder / "aside"
    aside.mkdir()
    shutil.copy(make_party(aside, "ours").cert_path, folder / "ours.pem.new")
    os.replace(folder / "ours.pem.new", folder / "ours.pem")
    ticks.now += 1.0
    (still,) = watch.current().stations["BUYER-AS2"]
    assert still.certificate == before.certificate
    assert "not the certificate of the key" in str(told[0])


def test_a_partner_file_that_does_not_load_at_start_raises(folder: Path) -> None:
    (folder / "acme.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"acme\.pem"):
        PartnerFileWatch(folder / "partners.toml", {})
