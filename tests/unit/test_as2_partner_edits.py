"""A supplier's AS2 table changed by command (`gateway.as2.partner_edits`): the partner file's
comments and layout kept, the result checked as the endpoint loads it before it is written,
written by rename with its mode, and refused (the file untouched) when it would not load or
changed meanwhile."""

from __future__ import annotations

import re
import threading
import tomllib
from pathlib import Path

import pytest

from gateway.as2 import partner_edits
from gateway.as2.outgoing import ContentCipher
from gateway.as2.partner_edits import (
    PartnerChange,
    add_partner,
    change_partner,
    remove_partner,
    write_checked,
)
from gateway.as2.partners import directory_from_file
from gateway.errors import ConfigurationError
from tests.as2_material import OUR_STATION, make_party

FILE = "# The buyer's partners: read by `gateway partners load` and the AS2 endpoint.\n" \
    + OUR_STATION + """
[[suppliers]]
code = "ACME"
name = "Acme"   # since 2019
as2_id = "ACME-AS2"
[suppliers.as2]
certificates = ["acme.pem"]   # renewed every March
require_encrypted = true

[[suppliers]]
code = "BOLT"
name = "Bolt & Nut"
emails = ["orders@bolt.example"]

[profiles.default]
qty_under_pct = 2
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("ours", "acme", "acme-2027", "bolt"):
        make_party(tmp_path, name)
    (tmp_path / "ours.key").chmod(0o600)
    (tmp_path / "partners.toml").write_text(FILE)
    (tmp_path / "partners.toml").chmod(0o640)
    return tmp_path


def _write(folder: Path, after: str) -> None:
    write_checked(folder / "partners.toml", FILE, after, {})


def test_a_supplier_becomes_an_as2_partner_and_the_rest_of_the_file_stays_as_it_was(
        folder: Path) -> None:
    after = add_partner(FILE, "BOLT", "BOLT-AS2", PartnerChange(
        certificates=("bolt.pem",), url="https://as2.bolt.example/in", encrypt="aes128_gcm",
        pss=True, mdn_timeout_minutes=90.0))
    assert after.startswith(FILE[:FILE.index('emails = ["orders@bolt.example"]')])
    assert "[profiles.default]\nqty_under_pct = 2\n" in after
    assert "mdn_timeout_minutes = 90\n" in after   # a whole number written as one
    _write(folder, after)
    partner = directory_from_file(folder / "partners.toml", {}).partners["BOLT-AS2"]
    assert partner.supplier_code == "BOLT"
    assert partner.url == "https://as2.bolt.example/in"
    assert partner.plan.encrypt == ContentCipher.AES128_GCM
    assert partner.plan.pss
    assert (folder / "partners.toml").stat().st_mode & 0o777 == 0o640


def test_a_renewal_lists_the_new_certificate_beside_the_old_then_takes_the_old_off(
        folder: Path) -> None:
    renewed = change_partner(FILE, "ACME-AS2", PartnerChange(
        add_certificates=("acme-2027.pem",)))
    assert 'certificates = ["acme.pem", "acme-2027.pem"]   # renewed every March' in renewed
    _write(folder, renewed)
    assert len(directory_from_file(folder / "partners.toml", {})
               .partners["ACME-AS2"].certificates) == 2
    done = change_partner(renewed, "ACME-AS2", PartnerChange(
        remove_certificates=("acme.pem",)))
    assert 'certificates = ["acme-2027.pem"]' in done
    assert FILE.replace('["acme.pem"]', '["acme-2027.pem"]') == done


def test_only_the_keys_given_change_and_an_empty_url_stops_sending(folder: Path) -> None:
    with_url = change_partner(FILE, "ACME-AS2", PartnerChange(url="https://as2.acme.example"))
    changed = change_partner(with_url, "ACME-AS2", PartnerChange(
        url="", require_encrypted=False, sign="sha512"))
    assert "url" not in changed
    assert "require_encrypted = false" in changed
    assert 'sign = "sha512"' in changed
    assert 'name = "Acme"   # since 2019' in changed


def test_a_partner_taken_out_keeps_its_supplier_entry(folder: Path) -> None:
    after = remove_partner(FILE, "ACME-AS2")
    assert "as2_id" not in after.split("[[suppliers]]")[1]
    assert "[suppliers.as2]" not in after
    assert 'code = "ACME"\nname = "Acme"   # since 2019\n' in after
    _write(folder, after)
    assert directory_from_file(folder / "partners.toml", {}).partners == {}


@pytest.mark.parametrize(("edit", "complaint"), [
    (lambda text: add_partner(text, "NOPE", "X-AS2", PartnerChange(certificates=("a.pem",))),
     "no supplier 'NOPE'"),
    (lambda text: add_partner(text, "BOLT", "ACME-AS2", PartnerChange(
        certificates=("bolt.pem",))), "already a partner's"),
    (lambda text: add_partner(text, "ACME", "ACME2-AS2", PartnerChange(
        certificates=("acme.pem",))), "an AS2 partner already"),
    (lambda text: add_partner(text, "BOLT", "BOLT-AS2", PartnerChange()),
     "needs at least one certificate"),
    (lambda text: change_partner(text, "BOLT-AS2", PartnerChange(url="https://x")),
     "no AS2 partner 'BOLT-AS2'"),
    (lambda text: change_partner(text, "ACME-AS2", PartnerChange(
        remove_certificates=("old.pem",))), "not among the partner's certificates: old.pem"),
    (lambda text: remove_partner(text, "BOLT-AS2"), "its partners: ACME-AS2"),
])
def test_an_edit_that_names_what_is_not_there_says_so(edit: object, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(complaint)):
        edit(FILE)  # type: ignore[operator]


@pytest.mark.parametrize(("change", "complaint"), [
    (PartnerChange(encrypt="rot13"), "encrypt must be one of"),
    (PartnerChange(certificates=("missing.pem",)), "missing.pem"),
    (PartnerChange(remove_certificates=("acme.pem",)), "`certificates` names none"),
    (PartnerChange(mdn="async"), "needs `mdn_url`"),
])
def test_an_edit_the_endpoint_would_not_load_is_refused_and_the_file_left_as_it_was(
        folder: Path, change: PartnerChange, complaint: str) -> None:
    after = change_partner(FILE, "ACME-AS2", change)
    with pytest.raises(ConfigurationError, match=re.escape(complaint)):
        _write(folder, after)
    assert (folder / "partners.toml").read_text() == FILE
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_a_file_changed_while_the_edit_was_made_is_not_overwritten(folder: Path) -> None:
    after = change_partner(FILE, "ACME-AS2", PartnerChange(sign="sha384"))
    meanwhile = FILE.replace("qty_under_pct = 2", "qty_under_pct = 3")
    (folder / "partners.toml").write_text(meanwhile)
    with pytest.raises(ConfigurationError, match="changed while this edit"):
        _write(folder, after)
    assert (folder / "partners.toml").read_text() == meanwhile


def test_the_file_is_replaced_by_rename_so_a_reader_sees_the_old_or_the_new(
        folder: Path) -> None:
    path = folder / "partners.toml"
    inode = path.stat().st_ino
    _write(folder, change_partner(FILE, "ACME-AS2", PartnerChange(compress=True)))
    assert path.stat().st_ino != inode
    assert "compress = true" in path.read_text()


def test_ca_certificates_and_revocation_lists_are_set_and_taken_away_as_lists() -> None:
    listed = change_partner(FILE, "ACME-AS2", PartnerChange(
        ca_certificates=("acme-ca.pem",), crls=("acme-ca.crl", "acme-root.crl")))
    assert 'ca_certificates = ["acme-ca.pem"]' in listed
    assert 'crls = ["acme-ca.crl", "acme-root.crl"]' in listed
    kept = change_partner(listed, "ACME-AS2", PartnerChange(sign="sha384"))
    assert 'crls = ["acme-ca.crl", "acme-root.crl"]' in kept
    taken = change_partner(listed, "ACME-AS2", PartnerChange(crls=()))
    assert "crls" not in taken
    assert 'ca_certificates = ["acme-ca.pem"]' in taken


def test_suppliers_written_as_inline_tables_are_edited_inline() -> None:
    inline = 'suppliers = [{code = "ACME", name = "Acme"}]   # one line each\n'
    added = add_partner(inline, "ACME", "ACME-AS2", PartnerChange(certificates=("acme.pem",),
                                                                  pss=True))
    assert added.startswith('suppliers = [{code = "ACME", name = "Acme",')
    assert '"# one line each' not in added
    assert "# one line each" in added
    assert "[suppliers.as2]" not in added
    changed = change_partner(added, "ACME-AS2", PartnerChange(add_certificates=("new.pem",)))
    assert '"acme.pem", "new.pem"' in changed
    assert remove_partner(changed, "ACME-AS2").count("as2") == 0


def test_a_partner_file_that_is_a_symbolic_link_stays_one(folder: Path) -> None:
    real = folder / "config" / "partners.toml"
    real.parent.mkdir()
    (folder / "partners.toml").rename(real)
    (folder / "partners.toml").symlink_to(real)
    _write(folder, change_partner(FILE, "ACME-AS2", PartnerChange(sign="sha384")))
    assert (folder / "partners.toml").is_symlink()
    assert 'sign = "sha384"' in real.read_text()


def test_an_as2_table_written_as_dotted_keys_is_changed_and_taken_out() -> None:
    dotted = ('[[suppliers]]\ncode = "ACME"\nas2_id = "ACME-AS2"\n'
              'as2.certificates = ["acme.pem"]   # renewed every March\n'
              'as2.url = "https://old.example/as2"\n\n[[suppliers]]\ncode = "BOLT"\n')
    changed = change_partner(dotted, "ACME-AS2", PartnerChange(url="https://new.example/as2",
                                                               pss=True))
    assert 'as2.url = "https://new.example/as2"' in changed
    assert "as2.pss = true" in changed
    assert "# renewed every March" in changed
    removed = remove_partner(changed, "ACME-AS2")
    assert "as2" not in removed
    assert 'code = "BOLT"' in removed


def test_a_renewal_keeps_the_comments_written_beside_the_certificates() -> None:
    listed = FILE.replace('certificates = ["acme.pem"]   # renewed every March',
                          'certificates = [\n    "acme.pem",   # 2026, ends in March\n'
                          '    "acme-old.pem",   # 2025\n]')
    changed = change_partner(listed, "ACME-AS2", PartnerChange(
        add_certificates=("acme-2027.pem",), remove_certificates=("acme-old.pem",)))
    assert '    "acme.pem",   # 2026, ends in March\n' in changed
    assert "acme-old.pem" not in changed
    assert "# 2025" not in changed
    assert tomllib.loads(changed)["suppliers"][0]["as2"]["certificates"] == [
        "acme.pem", "acme-2027.pem"]


def test_a_file_written_with_crlf_line_ends_keeps_them_in_the_lines_added() -> None:
    crlf = FILE.replace("\n", "\r\n")
    for edited in (change_partner(crlf, "ACME-AS2", PartnerChange(url="https://a.example")),
                   add_partner(crlf, "BOLT", "BOLT-AS2", PartnerChange(certificates=("b.pem",))),
                   remove_partner(crlf, "ACME-AS2")):
        assert edited.count("\n") == edited.count("\r\n")
    assert change_partner(FILE, "ACME-AS2", PartnerChange(pss=True)).count("\r") == 0


def test_two_edits_at_once_never_lose_the_first(folder: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    renaming, finish = threading.Event(), threading.Event()
    rename = partner_edits.replace_by_rename

    def slow_rename(path: Path, data: bytes) -> None:
        if threading.current_thread() is not threading.main_thread():
            renaming.set()
            finish.wait(5)
        rename(path, data)

    monkeypatch.setattr(partner_edits, "replace_by_rename", slow_rename)
    first = threading.Thread(target=_write, args=(folder, change_partner(
        FILE, "ACME-AS2", PartnerChange(sign="sha384"))))
    first.start()
    assert renaming.wait(5)
    threading.Timer(0.5, finish.set).start()   # the first edit's rename, under way meanwhile
    with pytest.raises(ConfigurationError, match="changed while this edit"):
        _write(folder, change_partner(FILE, "ACME-AS2", PartnerChange(compress=True)))
    first.join(5)
    assert 'sign = "sha384"' in (folder / "partners.toml").read_text()


def test_a_file_that_cannot_be_written_is_said_so_and_left_as_it_was(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(path.parent))

    monkeypatch.setattr(partner_edits, "replace_by_rename", refused)
    with pytest.raises(ConfigurationError, match="not written \\(Permission denied\\)"):
        _write(folder, change_partner(FILE, "ACME-AS2", PartnerChange(pss=True)))
    assert (folder / "partners.toml").read_text() == FILE
