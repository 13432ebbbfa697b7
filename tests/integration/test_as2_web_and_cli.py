"""AS2 in the web app (`POST /as2` when GATEWAY_AS2_PARTNERS names the partner file), its
table's migration, and what IT sees of a refused message with `gateway messages` and
`gateway as2 check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.cli import cli
from gateway.config import Settings
from gateway.persistence.models import As2Transmission, Base
from gateway.web.app import create_app
from tests.as2_material import (
    ACME_PARTNER_FILE,
    Party,
    make_party,
    multipart_signed,
    payload_entity,
    sign,
)

PARTNER_FILE = ACME_PARTNER_FILE
EDI = b"UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000001:14+261126:0900+78'UNZ+0+78'"


def test_the_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if "as2" in repr(d)] == []


@pytest.fixture
def partner_file(tmp_path: Path) -> Path:
    for name in ("ours", "acme"):
        make_party(tmp_path, name)
    (tmp_path / "ours.key").chmod(0o600)
    path = tmp_path / "partners.toml"
    path.write_text(PARTNER_FILE)
    return path


def test_the_web_app_takes_as2_in_and_it_sees_a_refused_one(
        settings: Settings, engine: Engine, partner_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    loaded = CliRunner().invoke(cli, ["partners", "load", str(partner_file)], env=env)
    assert loaded.exit_code == 0, loaded.output
    monkeypatch.setenv("GATEWAY_AS2_PARTNERS", str(partner_file))
    folder = partner_file.parent
    entity = payload_entity(EDI)
    signed = multipart_signed(entity, sign(entity, make_party(folder, "acme-signer"), folder))
    signed_ok = multipart_signed(entity, sign(entity, _party(folder, "acme"), folder))
    headers = {"AS2-From": "ACME-AS2", "AS2-To": "BUYER-AS2", "AS2-Version": "1.2",
               "Disposition-Notification-To": "as2@acme.example"}
    with TestClient(create_app(settings)) as client:
        for message_id, message in (("<bad@acme>", signed), ("<good@acme>", signed_ok)):
            head, body = message.split(b"\r\n\r\n", 1)
            response = client.post("/as2", content=body, headers={
                **headers, "Message-ID": message_id,
                "Content-Type": head.decode().split(": ", 1)[1]})
            assert response.status_code == 200
    assert b"processed/error: authentication-failed" in _mdn_of("<bad@acme>", engine)
    listed = CliRunner().invoke(cli, ["messages", "list"], env=env)
    assert "as2" in listed.output
    assert "failed" in listed.output
    shown = CliRunner().invoke(cli, ["messages", "show", "1", "--raw"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "as2-from: ACME-AS2" in shown.output
    explained = CliRunner().invoke(cli, ["messages", "show", "1"], env=env)
    assert "authentication-failed" in explained.output
    checked = CliRunner().invoke(cli, ["as2", "check", "--partners", str(partner_file)],
                                 env=env)
    assert checked.exit_code == 0, checked.output
    assert "ours BUYER-AS2: CN=ours" in checked.output
    assert "partner ACME-AS2 (ACME): CN=acme" in checked.output


def _party(folder: Path, name: str) -> Party:
    """The party whose certificate the partner file names."""
    return Party(folder / f"{name}.key", folder / f"{name}.pem")


def _mdn_of(message_id: str, engine: Engine) -> bytes:
    with Session(engine) as session:
        mdn = session.scalars(select(As2Transmission.mdn).where(
            As2Transmission.as2_message_id == message_id)).one()
    assert mdn is not None
    return mdn


def test_a_certificate_near_its_end_is_an_exception_for_it_once(
        settings: Settings, engine: Engine, tmp_path: Path) -> None:
    from gateway.persistence.models import ExceptionRow

    make_party(tmp_path, "ours", days=365)
    make_party(tmp_path, "acme", days=5)
    (tmp_path / "ours.key").chmod(0o600)
    (tmp_path / "partners.toml").write_text(PARTNER_FILE)
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    args = ["as2", "check", "--partners", str(tmp_path / "partners.toml"), "--warn-days", "10",
            "--record"]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert "WARNING partner ACME-AS2: CN=acme expires in 4 day(s)" in first.output
    assert "WARNING ours" not in first.output
    second = CliRunner().invoke(cli, args, env=env)
    assert second.exit_code == 0, second.output
    with Session(engine) as session:
        (row,) = session.scalars(select(ExceptionRow)).all()
        assert (row.code, row.severity, row.supplier_code, row.occurrences) == (
            "CERTIFICATE_EXPIRING", "high", "ACME", 2)
        assert "expires on" in (row.actual or "")


def test_certs_show_and_import_read_pem_der_and_pkcs12(tmp_path: Path) -> None:
    import subprocess

    from tests.as2_material import require_interop, require_openssl

    acme = make_party(tmp_path, "acme")
    der = tmp_path / "acme.der"
    subprocess.run([require_openssl(), "x509", "-in", str(acme.cert_path), "-outform", "DER",
                    "-out", str(der)], check=True)
    for path in (acme.cert_path, der):
        shown = CliRunner().invoke(cli, ["as2", "certs", "show", str(path)])
        assert shown.exit_code == 0, shown.output
        assert "CN=acme" in shown.output
        assert "holds its private key" not in shown.output
    p12 = require_interop() / "cert_test.p12"
    env = {"P12_PASSWORD": "test"}
    shown = CliRunner().invoke(cli, ["as2", "certs", "show", str(p12), "--password-env",
                                     "P12_PASSWORD"], env=env)
    assert "CN=pyas2lib" in shown.output
    assert "holds its private key" in shown.output
    imported = CliRunner().invoke(cli, ["as2", "certs", "import", str(p12),
                                        str(tmp_path / "keys"), "--name", "ours",
                                        "--password-env", "P12_PASSWORD"], env=env)
    assert imported.exit_code == 0, imported.output
    assert ((tmp_path / "keys" / "ours.key").stat().st_mode & 0o777) == 0o600
    assert (tmp_path / "keys" / "ours.pem").read_bytes().startswith(b"-----BEGIN CERT")
    assert f'key = "{tmp_path / "keys" / "ours.key"}"' in imported.output
    wrong = CliRunner().invoke(cli, ["as2", "certs", "show", str(p12), "--password-env",
                                     "P12_PASSWORD"], env={"P12_PASSWORD": "nope"})
    assert wrong.exit_code != 0


def test_as2_partners_lists_how_each_partner_is_received_and_sent_to(
        partner_file: Path) -> None:
    text = partner_file.read_text() + 'url = "https://as2.acme.example/in"\noaep = true\n'
    partner_file.write_text(text)
    listed = CliRunner().invoke(cli, ["as2", "partners", "--partners", str(partner_file)])
    assert listed.exit_code == 0, listed.output
    assert ("ACME-AS2 (ACME): receives signed; 1 certificate(s); to "
            "https://as2.acme.example/in: sign sha256, encrypt aes256_cbc (OAEP), compress no,"
            " MDN signed sync") in listed.output
    partner_file.write_text(text.replace("[as2]\n", '[as2]\nmdn_url = "https://gw.example/as2"\n')
                            + 'mdn = "async"\nmdn_timeout_minutes = 45\n')
    listed = CliRunner().invoke(cli, ["as2", "partners", "--partners", str(partner_file)])
    assert listed.exit_code == 0, listed.output
    assert "MDN signed async to https://gw.example/as2 within 45 min" in listed.output


def test_as2_partners_add_set_and_remove_edit_the_partner_file(partner_file: Path) -> None:
    folder = partner_file.parent
    make_party(folder, "acme-2027")
    make_party(folder, "bolt")
    partner_file.write_text(partner_file.read_text()
                            + '\n[[suppliers]]\ncode = "BOLT"   # nuts and bolts\n')
    env = {"GATEWAY_AS2_PARTNERS": str(partner_file)}

    renewed = CliRunner().invoke(cli, [
        "as2", "partners", "set", "ACME-AS2", "--add-certificate",
        str(folder / "acme-2027.pem"), "--pss", "--encrypt", "aes256_gcm", "--url",
        "https://as2.acme.example/in"], env=env)
    assert renewed.exit_code == 0, renewed.output
    assert ("ACME-AS2 (ACME): receives signed; 2 certificate(s); to https://as2.acme.example/in"
            ": sign sha256 (PSS), encrypt aes256_gcm, compress no") in renewed.output
    # Named as the file names its others: relative to its folder.
    assert 'certificates = ["acme.pem", "acme-2027.pem"]' in partner_file.read_text()
    # The old one taken off by the name the file gives it (not a path from here).
    switched = CliRunner().invoke(cli, ["as2", "partners", "set", "ACME-AS2",
                                        "--remove-certificate", "acme.pem"], env=env)
    assert switched.exit_code == 0, switched.output
    assert 'certificates = ["acme-2027.pem"]' in partner_file.read_text()

    added = CliRunner().invoke(cli, [
        "as2", "partners", "--partners", str(partner_file), "add", "BOLT", "BOLT-AS2",
        "--certificate", str(folder / "bolt.pem"), "--no-require-signed"])
    assert added.exit_code == 0, added.output
    assert "BOLT-AS2 (BOLT): receives any; 1 certificate(s); no url" in added.output
    assert 'code = "BOLT"   # nuts and bolts' in partner_file.read_text()

    before = partner_file.read_text()
    refused = CliRunner().invoke(cli, ["as2", "partners", "set", "BOLT-AS2", "--mdn", "async"],
                                 env=env)
    assert refused.exit_code != 0
    assert "needs `mdn_url`" in refused.output
    assert partner_file.read_text() == before

    removed = CliRunner().invoke(cli, ["as2", "partners", "remove", "ACME-AS2"], env=env)
    assert removed.exit_code == 0, removed.output
    listed = CliRunner().invoke(cli, ["as2", "partners"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "ACME-AS2" not in listed.output
    assert "BOLT-AS2 (BOLT)" in listed.output


def test_as2_partners_set_keeps_crlf_line_ends_and_refuses_a_file_not_in_utf8(
        partner_file: Path) -> None:
    crlf = partner_file.read_text().replace("\n", "\r\n").encode()
    partner_file.write_bytes(crlf)
    changed = CliRunner().invoke(cli, ["as2", "partners", "--partners", str(partner_file),
                                       "set", "ACME-AS2", "--pss"])
    assert changed.exit_code == 0, changed.output
    written = partner_file.read_bytes()
    assert b"pss = true\r\n" in written
    assert written.count(b"\n") == written.count(b"\r\n")
    latin1 = written.replace(b'code = "ACME"', 'code = "ACME" # Zürich'.encode("latin-1"))
    partner_file.write_bytes(latin1)
    refused = CliRunner().invoke(cli, ["as2", "partners", "--partners", str(partner_file),
                                       "set", "ACME-AS2", "--no-pss"])
    assert refused.exit_code != 0
    assert "not UTF-8 text" in refused.output
    assert partner_file.read_bytes() == latin1


def test_as2_partners_set_names_a_certificate_as_the_endpoint_finds_it_through_a_link(
        partner_file: Path) -> None:
    folder = partner_file.parent
    (folder / "config").mkdir()
    real = folder / "config" / "partners.toml"
    partner_file.rename(real)
    partner_file.symlink_to(real)
    make_party(folder / "config", "acme-2027")
    renewed = CliRunner().invoke(cli, [
        "as2", "partners", "--partners", str(partner_file), "set", "ACME-AS2",
        "--add-certificate", str(folder / "config" / "acme-2027.pem")])
    assert renewed.exit_code == 0, renewed.output
    assert "2 certificate(s)" in renewed.output
    assert 'certificates = ["acme.pem", "config/acme-2027.pem"]' in real.read_text()
    assert partner_file.is_symlink()
