"""Certificates renewed while the endpoint serves (uvicorn on loopback): the partner's new
certificate, our new key and certificate and a broken partner file are picked up by the
next request after the check interval, without a restart; a broken file keeps the previous
table in service and is an exception for IT until it is fixed. Messages signed and
encrypted by `openssl cms`."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.as2.mdn import read_receipt
from gateway.as2.reload import PartnerFileWatch
from gateway.bootstrap import make_session_factory
from gateway.channels.as2 import As2Channel
from gateway.persistence.models import ConnectorStatusRow, ExceptionRow
from gateway.services.as2_certificates import partner_file_reporter
from gateway.web.as2_route import as2_app
from tests.as2_material import ACME_PARTNER_FILE, Party, make_party
from tests.integration.test_as2_endpoint import EDI, _acme_message, _post, _Served

CHECK_SECONDS = 0.2
PARTNER_FILE = ACME_PARTNER_FILE


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Party]:
    """Two generations of each key pair, each in a folder of its own."""
    made = {}
    for generation in ("old", "new"):
        folder = tmp_path_factory.mktemp(generation)
        for name in ("ours", "acme"):
            made[f"{name}-{generation}"] = make_party(folder, name)
    return made


def _install(party: Party, folder: Path) -> None:
    """Moved into the configuration folder by rename, as `mv` does."""
    name = party.cert_path.stem
    for source, target in ((party.key_path, folder / f"{name}.key"),
                           (party.cert_path, folder / f"{name}.pem")):
        shutil.copy(source, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").chmod(0o600)
        os.replace(target.with_suffix(".tmp"), target)


def _as(parties: dict[str, Party], ours: str, acme: str) -> dict[str, Party]:
    return {"ours": parties[f"ours-{ours}"], "acme": parties[f"acme-{acme}"]}


def _disposition_and_signer(response: httpx.Response, ours: Party) -> tuple[str, str | None]:
    read = read_receipt(list(response.headers.items()), response.content, [ours.certificate])
    return read.disposition, read.signed_with


def _rejections(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions.begin() as session:
        return [(row.state, row.occurrences) for row in session.scalars(
            select(ExceptionRow).where(ExceptionRow.code == "AS2_PARTNER_FILE_REJECTED"))]


def test_renewed_certificates_and_keys_are_used_without_a_restart(
        engine: Engine, generations: dict[str, Party], tmp_path: Path) -> None:
    for party in (generations["ours-old"], generations["acme-old"]):
        _install(party, tmp_path)
    (tmp_path / "partners.toml").write_text(PARTNER_FILE)
    sessions = make_session_factory(engine)
    clock = lambda: datetime.now(UTC)   # noqa: E731
    path = tmp_path / "partners.toml"
    watch = PartnerFileWatch(path, {}, CHECK_SECONDS,
                             partner_file_reporter(sessions.begin, clock, path))
    app = as2_app(As2Channel(sessions.begin, watch.current(), clock), watch)
    work = tmp_path / "work"
    work.mkdir()

    def send(message_id: str, ours: str, acme: str) -> httpx.Response:
        payload = EDI.replace(b"+77'", f"+{message_id[1]}'".encode())   # each one new
        headers, body, _ = _acme_message(_as(generations, ours, acme), work, message_id,
                                         payload=payload)
        return _post(url, headers, body)

    with _Served(app) as url:
        first = send("<1@acme>", "old", "old")
        assert _disposition_and_signer(first, generations["ours-old"])[0] == "processed"
        # Acme renews: its new certificate replaces the old file.
        _install(generations["acme-new"], tmp_path)
        time.sleep(CHECK_SECONDS * 2)
        assert _disposition_and_signer(send("<2@acme>", "old", "new"),
                                       generations["ours-old"])[0] == "processed"
        refused = send("<3@acme>", "old", "old")
        assert _disposition_and_signer(refused, generations["ours-old"])[0] == \
            "processed/error: authentication-failed"
        # We renew: a message encrypted to our new certificate opens, and the MDN is signed
        # with the new key (it verifies with the new certificate only).
        _install(generations["ours-new"], tmp_path)
        time.sleep(CHECK_SECONDS * 2)
        renewed = send("<4@acme>", "new", "new")
        assert _disposition_and_signer(renewed, generations["ours-new"])[0] == "processed"
        # A broken partner file: the table in service stays, IT hears of it once.
        path.write_text(PARTNER_FILE + "\n[[suppliers]\n")
        time.sleep(CHECK_SECONDS * 2)
        kept = send("<5@acme>", "new", "new")
        assert _disposition_and_signer(kept, generations["ours-new"])[0] == "processed"
        time.sleep(CHECK_SECONDS * 2)
        send("<6@acme>", "new", "new")
        assert _rejections(sessions) == [("open", 1)]
        with sessions.begin() as session:
            status = session.scalars(select(ConnectorStatusRow).where(
                ConnectorStatusRow.connector == "as2")).one()
            assert status.name == "partner file"
            assert "a changed version is not used" in (status.last_error or "")
            assert status.last_success_at is None
        path.write_text(PARTNER_FILE)
        time.sleep(CHECK_SECONDS * 2)
        assert _disposition_and_signer(send("<7@acme>", "new", "new"),
                                       generations["ours-new"])[0] == "processed"
    assert _rejections(sessions) == [("resolved", 1)]
    with sessions.begin() as session:
        status = session.scalars(select(ConnectorStatusRow)).one()
        assert status.last_success_at is not None
