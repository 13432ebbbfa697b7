"""`gateway as2 crls fetch` against a CA's distribution point served over loopback HTTP: a
newer CRL signed by the entry's CA replaces the file (and the certificate it revokes is no
longer used); a CRL signed by another key, an older one, an unreachable point and a body
past the cap leave the file as it was and say why."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.as2.partners import directory_from_file
from gateway.cli import cli
from gateway.services.as2_crls import http_get, refresh_crls
from tests.as2_material import OUR_STATION, issue_certificate, make_party, write_crl

PARTNER_FILE = OUR_STATION + """
[[suppliers]]
code = "ACME"
as2_id = "ACME-AS2"
[suppliers.as2]
certificates = ["acme-2026.pem"]
ca_certificates = ["acme-ca.pem"]
crls = ["acme-ca.crl"]
"""


class DistributionPoint:
    """A CA's web server: serves whatever `bodies` holds at a path."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                moved = bodies.get(f"moved:{self.path}")
                if moved is not None:
                    self.send_response(301)
                    self.send_header("Location", moved.decode())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                slow = bodies.get(f"slow:{self.path}")
                if slow is not None:   # a byte every tenth of a second
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(slow)))
                    self.end_headers()
                    for byte in slow:
                        self.wfile.write(bytes((byte,)))
                        self.wfile.flush()
                        time.sleep(0.1)
                    return
                body = bodies.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def point() -> Iterator[DistributionPoint]:
    served = DistributionPoint()
    yield served
    served.close()


Issued = tuple[rsa.RSAPrivateKey, x509.Certificate]


def _acme(folder: Path, point: DistributionPoint, kept_hours_ago: float
          ) -> tuple[Issued, x509.Certificate, bytes]:
    """Our station, Acme's CA, Acme's certificate naming the point as its CA's CRL's, the
    CA's CRL kept (revoking nothing, issued `kept_hours_ago`) and the partner file; a folder
    `aside` for CRLs to serve."""
    make_party(folder, "ours")
    (folder / "ours.key").chmod(0o600)
    ca = issue_certificate(folder, "acme-ca", None, ca=True)
    _key, certificate = issue_certificate(folder, "acme-2026", ca,
                                          crl_url=f"{point.url}/acme-ca.crl")
    kept = write_crl(folder, "acme-ca.crl", ca, [], issued_hours_ago=kept_hours_ago)
    (folder / "partners.toml").write_text(PARTNER_FILE)
    (folder / "aside").mkdir()
    return ca, certificate, kept


def test_a_newer_crl_from_the_distribution_point_replaces_the_file_and_counts(
        tmp_path: Path, point: DistributionPoint) -> None:
    ca, certificate, _kept = _acme(tmp_path, point, kept_hours_ago=48)
    partner_file = tmp_path / "partners.toml"
    now = datetime.now(UTC)
    assert directory_from_file(partner_file, {}).partners["ACME-AS2"].valid_certificates(
        now) == [certificate]

    point.bodies["/acme-ca.crl"] = write_crl(tmp_path / "aside", "served.crl", ca,
                                             [certificate], issued_hours_ago=1)
    (result,) = refresh_crls(partner_file, http_get, now)
    assert result.outcome == "updated", result.detail
    assert f"from {point.url}/acme-ca.crl" in result.detail
    assert (tmp_path / "acme-ca.crl").read_bytes() == point.bodies["/acme-ca.crl"]
    assert directory_from_file(partner_file, {}).partners["ACME-AS2"].valid_certificates(
        now) == []
    # Fetched again: the same bytes, nothing written.
    (again,) = refresh_crls(partner_file, http_get, now)
    assert again.outcome == "current"
    # The CA moved it: the redirect is followed.
    point.bodies["moved:/acme-ca.crl"] = b"/crl/2026/acme-ca.crl"
    point.bodies["/crl/2026/acme-ca.crl"] = point.bodies.pop("/acme-ca.crl")
    (moved,) = refresh_crls(partner_file, http_get, now)
    assert moved.outcome == "current", moved.detail


def _crl_with(issuer: Issued, extension: x509.ExtensionType) -> bytes:
    """A CRL of `issuer` issued now, revoking nothing, with `extension` (PEM)."""
    now = datetime.now(UTC)
    return (x509.CertificateRevocationListBuilder().issuer_name(issuer[1].subject)
            .last_update(now).next_update(now + timedelta(days=7))
            .add_extension(extension, critical=isinstance(extension, x509.DeltaCRLIndicator
                                                          | x509.IssuingDistributionPoint))
            .sign(issuer[0], hashes.SHA256()).public_bytes(Encoding.PEM))


@pytest.mark.parametrize(("served", "complaint"), [
    ("delta", "a delta CRL where a complete one is kept"),
    ("other scope", "Issuing Distribution Point"),
    ("lower number", "CRL number 6, below the kept one's (7)"),
    ("bad redirect", "not a usable URL: http://127.0.0.1:99999/x"),
])
def test_a_newer_crl_that_would_revoke_less_or_a_broken_redirect_leaves_the_file(
        tmp_path: Path, point: DistributionPoint, served: str, complaint: str) -> None:
    ca, _certificate, _kept = _acme(tmp_path, point, kept_hours_ago=2)
    kept = _crl_with(ca, x509.CRLNumber(7)) if served == "lower number" else _kept
    (tmp_path / "acme-ca.crl").write_bytes(kept)
    if served == "bad redirect":
        point.bodies["moved:/acme-ca.crl"] = b"http://127.0.0.1:99999/x"
    else:
        point.bodies["/acme-ca.crl"] = _crl_with(ca, {
            "delta": x509.DeltaCRLIndicator(6),
            "other scope": x509.IssuingDistributionPoint(None, None, True, False, None,
                                                         False, False),
            "lower number": x509.CRLNumber(6)}[served])
    (result,) = refresh_crls(tmp_path / "partners.toml", http_get, datetime.now(UTC))
    assert result.outcome == "failed"
    assert complaint in result.detail
    assert (tmp_path / "acme-ca.crl").read_bytes() == kept


def test_a_distribution_point_that_sends_a_byte_now_and_then_is_given_up(
        point: DistributionPoint) -> None:
    point.bodies["slow:/acme-ca.crl"] = b"0" * 40
    started = time.monotonic()
    with pytest.raises(OSError, match="not received in time"):
        http_get(f"{point.url}/acme-ca.crl", timeout=5, within=1)
    assert time.monotonic() - started < 3


def test_a_crl_file_that_is_a_symbolic_link_stays_one(
        tmp_path: Path, point: DistributionPoint) -> None:
    ca, certificate, kept = _acme(tmp_path, point, kept_hours_ago=2)
    real = tmp_path / "pki" / "acme-ca.crl"
    real.parent.mkdir()
    (tmp_path / "acme-ca.crl").rename(real)
    (tmp_path / "acme-ca.crl").symlink_to(real)
    point.bodies["/acme-ca.crl"] = write_crl(tmp_path / "aside", "new.crl", ca, [certificate],
                                             issued_hours_ago=1)
    (result,) = refresh_crls(tmp_path / "partners.toml", http_get, datetime.now(UTC))
    assert result.outcome == "updated", result.detail
    assert (tmp_path / "acme-ca.crl").is_symlink()
    assert real.read_bytes() == point.bodies["/acme-ca.crl"] != kept


@pytest.mark.parametrize("served", ["forged", "older", "missing", "too big"])
def test_a_crl_that_may_not_replace_the_file_leaves_it_and_says_why(
        tmp_path: Path, point: DistributionPoint, served: str) -> None:
    ca, certificate, kept = _acme(tmp_path, point, kept_hours_ago=2)
    aside = tmp_path / "aside"
    other_key, _other = issue_certificate(aside, "other-ca", None, ca=True)
    if served == "forged":   # named as Acme's CA's, signed by another key
        point.bodies["/acme-ca.crl"] = write_crl(aside, "x.crl", (other_key, ca[1]),
                                                 [certificate], issued_hours_ago=1)
    elif served == "older":
        point.bodies["/acme-ca.crl"] = write_crl(aside, "x.crl", ca, [certificate],
                                                 issued_hours_ago=30)
    elif served == "too big":
        point.bodies["/acme-ca.crl"] = b"0" * 2048
    complaint = {"forged": "not signed by a CA in ca_certificates",
                 "older": "before the one kept", "missing": "HTTP 404",
                 "too big": "more than the cap of 1024 bytes"}[served]

    def small_get(url: str) -> bytes:
        return http_get(url, timeout=10, cap=1024)

    (result,) = refresh_crls(tmp_path / "partners.toml", small_get, datetime.now(UTC))
    assert result.outcome == "failed"
    assert complaint in result.detail
    assert (tmp_path / "acme-ca.crl").read_bytes() == kept


def test_gateway_as2_crls_fetch_exits_1_when_a_crl_could_not_be_refreshed(
        tmp_path: Path, point: DistributionPoint) -> None:
    ca, certificate, _kept = _acme(tmp_path, point, kept_hours_ago=2)
    args = ["as2", "crls", "fetch", "--partners", str(tmp_path / "partners.toml")]
    failed = CliRunner().invoke(cli, args)
    assert failed.exit_code == 1
    assert "acme-ca.crl: failed: " in failed.output
    point.bodies["/acme-ca.crl"] = write_crl(tmp_path / "aside", "new.crl", ca, [certificate],
                                             issued_hours_ago=1)
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "acme-ca.crl: updated: from" in done.output
    assert "1 revoked, current" in done.output
