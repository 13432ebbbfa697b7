"""The SMTP transport's TLS and login against a real aiosmtpd relay on loopback: STARTTLS
(required when the URL asks for it), implicit TLS, AUTH; what a refusal of each does."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from outbound.errors import TransportUnavailable
from outbound.transports.base import Outgoing
from outbound.transports.smtp import RelayAddress, SmtpRelay
from tests.integration.outbound_servers import Relay, smtp_relay

MESSAGE = Outgoing("<tls1@gateway.example>", "gateway@buyer.example", "buyer@example.com",
                   b"Message-ID: <tls1@gateway.example>\r\nSubject: hi\r\n\r\nhello\r\n",
                   "message/rfc822")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        reason = "the openssl command is needed to make a self-signed certificate"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def only(user: str, password: str) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)
    return authenticate


def relay_at(url: str, password: str | None, cert: Path | None) -> SmtpRelay:
    return SmtpRelay(RelayAddress.from_url(url, password, 5.0, cert))


def test_starttls_and_login_then_the_message(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    with smtp_relay(relay, tls_context=server_context(certificate), require_starttls=True,
                    authenticator=only("gw@buyer.example", "s3cret"),
                    auth_required=True) as port:
        sender = relay_at(f"smtp+starttls://gw%40buyer.example@127.0.0.1:{port}", "s3cret",
                          certificate[0])
        delivered = sender.send(MESSAGE)
        sender.close()
    assert delivered.response.startswith("250 2.0.0 Ok: queued as Q1")
    assert relay.message_ids() == ["<tls1@gateway.example>"]


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    with smtp_relay(relay, ssl_context=server_context(certificate)) as port:
        sender = relay_at(f"smtps://127.0.0.1:{port}", None, certificate[0])
        sender.send(MESSAGE)
        sender.close()
    assert relay.message_ids() == ["<tls1@gateway.example>"]


def test_a_certificate_not_trusted_leaves_the_relay_unavailable(
        certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    with smtp_relay(relay, ssl_context=server_context(certificate)) as port:
        sender = relay_at(f"smtps://127.0.0.1:{port}", None, None)   # the system's CAs
        with pytest.raises(TransportUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            sender.send(MESSAGE)
    assert relay.arrived == []


def test_starttls_asked_but_not_offered_is_never_sent_in_clear() -> None:
    relay = Relay()
    with smtp_relay(relay) as port:
        sender = relay_at(f"smtp+starttls://127.0.0.1:{port}", None, None)
        with pytest.raises(TransportUnavailable, match="does not offer STARTTLS"):
            sender.send(MESSAGE)
    assert relay.arrived == []


def test_a_wrong_password_leaves_the_relay_unavailable_not_the_message_failed(
        certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    with smtp_relay(relay, tls_context=server_context(certificate),
                    authenticator=only("gw", "right"), auth_required=True) as port:
        sender = relay_at(f"smtp+starttls://gw@127.0.0.1:{port}", "wrong", certificate[0])
        with pytest.raises(TransportUnavailable) as raised:
            sender.send(MESSAGE)
    assert raised.value.response is not None
    assert raised.value.response.startswith("535")
    assert relay.arrived == []
