"""The SMTP intake against real SMTP clients (smtplib, raw sockets) on loopback, on SQLite and on
PostgreSQL: 250 only after the commit, 451 while the database is really unreachable, 550/552
refusals that store nothing, STARTTLS and AUTH, and a graceful stop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import make_url

from gateway.bootstrap import make_engine, make_session_factory
from gateway.channels.smtp import SmtpServer, build_server
from gateway.config import Settings, SmtpSettings
from gateway.errors import ConfigurationError
from gateway.persistence.models import InboundMessage
from gateway.services.ingest import UnitOfWork
from gateway.services.intake_worker import ReceivedWorker
from gateway.services.partners import load_partners
from tests.integration.conftest import edifact_interchange

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
OURS = "orders@buyer.example"
GLN = "4012345000009"
PARTNERS = {"suppliers": [{"code": "ACME", "name": "Acme Fasteners GmbH",
                           "emails": ["orders@acme.example"],
                           "edi_ids": [{"id": GLN, "qualifier": "14"}]}]}
IN_CI = os.environ.get("CI") == "true"


def mail(n: int = 0, body: bytes = b"Line 10: 80 pcs, delivery 2026-12-05\r\n") -> bytes:
    """A message with CRLF line ends and a line starting with a dot (stuffed on the wire)."""
    return (f"From: Acme <orders@acme.example>\r\nTo: {OURS}\r\nSubject: PO 4500012345 #{n}\r\n"
            f"Message-ID: <{n}.{time.time_ns()}@acme.example>\r\n\r\n").encode() \
        + body + b".signature line starting with a dot\r\n"


@dataclass
class Running:
    server: SmtpServer
    port: int
    loop: asyncio.AbstractEventLoop
    stop_event: asyncio.Event
    thread: threading.Thread

    def request_stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.request_stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the server did not stop"

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="mx.acme.example",
                            timeout=60)


@contextmanager
def smtp_server(transaction: UnitOfWork, on_archived: Callable[[int], None] = lambda _i: None,
                **overrides: object) -> Iterator[Running]:
    settings = replace(SmtpSettings(port=0, recipients=(OURS, "käufer.example",
                                                             "@edi.buyer.example")), **overrides)
    server = build_server(settings, transaction, lambda: NOW, "mx.buyer.example", on_archived)
    ready = threading.Event()
    started: dict[str, object] = {}

    async def main() -> None:
        started["loop"] = asyncio.get_running_loop()
        started["stop"] = stop = asyncio.Event()
        await server.serve(stop, lambda port: (started.update(port=port), ready.set()))

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the server did not start"
    running = Running(server, int(started["port"]), started["loop"], started["stop"], thread)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def transaction(engine: Engine) -> UnitOfWork:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        load_partners(session, PARTNERS, NOW)
    return factory.begin


def stored(engine: Engine) -> list[InboundMessage]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(InboundMessage))
                   .scalar_one())


def read_reply(replies: BinaryIO) -> tuple[int, str]:
    """One (possibly multi-line) SMTP reply read from a raw socket."""
    lines = []
    while True:
        line = replies.readline()
        lines.append(line.decode("utf-8").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[0][:3]), "\n".join(lines)


# -- taking in --------------------------------------------------------------------------------


def test_250_only_after_the_exact_bytes_and_the_envelope_are_committed(engine, transaction):
    message = mail(1, body="Menge: 80 Stück, Liefertermin 05.12.\r\n".encode("latin-1"))
    with smtp_server(transaction) as running, running.client() as client:
        client.ehlo()
        assert client.mail("orders@acme.example", ["BODY=8BITMIME"])[0] == 250
        assert client.rcpt(OURS)[0] == 250
        assert client.rcpt("AS2@EDI.Buyer.Example")[0] == 250   # a domain of ours, any case
        code, reply = client.data(message)
        # The 250 names the row: it exists when the client reads it.
        assert code == 250
        rows = stored(engine)
        assert [f"#{row.id}" in reply.decode() for row in rows] == [True]
    (row,) = rows
    assert row.raw == message
    assert row.sha256 == hashlib.sha256(message).hexdigest()
    assert (row.channel, row.sender, row.size, row.state) == (
        "smtp", "orders@acme.example", len(message), "received")


def test_concurrent_clients_each_message_archived_exactly_once(engine, transaction):
    sent: list[bytes] = []
    lock = threading.Lock()
    failures: list[Exception] = []

    def client_thread(running: Running, number: int) -> None:
        try:
            with running.client() as client:
                for index in range(10):
                    message = mail(number * 100 + index)
                    client.sendmail(f"supplier{number}@acme.example", [OURS], message)
                    with lock:
                        sent.append(message)
        except (OSError, smtplib.SMTPException) as exc:  # asserted in the test's thread
            failures.append(exc)

    with smtp_server(transaction) as running:
        threads = [threading.Thread(target=client_thread, args=(running, n)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert failures == []
    rows = stored(engine)
    assert len(rows) == len(sent) == 80
    assert sorted(row.raw for row in rows) == sorted(sent)
    assert {row.state for row in rows} == {"received"}


def test_pipelined_commands_are_answered_in_order(engine, transaction):
    message = mail(2)
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        assert read_reply(replies)[0] == 220
        sock.sendall(b"EHLO mx.acme.example\r\n")
        code, ehlo = read_reply(replies)
        assert code == 250
        assert "PIPELINING" in ehlo.splitlines()[1]
        # RFC 2920: the whole transaction in one write, DATA last; then the body and QUIT.
        sock.sendall(b"MAIL FROM:<orders@acme.example>\r\nRCPT TO:<nobody@elsewhere.example>\r\n"
                     b"RCPT TO:<orders@buyer.example>\r\nDATA\r\n")
        assert [read_reply(replies)[0] for _ in range(4)] == [250, 550, 250, 354]
        stuffed = message.replace(b"\r\n.", b"\r\n..")
        sock.sendall(stuffed + b".\r\nMAIL FROM:<orders@acme.example>\r\nRSET\r\nQUIT\r\n")
        assert [read_reply(replies)[0] for _ in range(4)] == [250, 250, 250, 221]
    assert [row.raw for row in stored(engine)] == [message]


def test_smtputf8_address_and_8bit_body_are_kept_as_sent(engine, transaction):
    body = "采购订单号 4500012345: 数量 80, 交货日期 2026-12-05\r\nGrüße\r\n".encode()
    message = "From: 供应商 <lieferant@müller.example>\r\nSubject: 确认\r\n\r\n".encode() + body
    with smtp_server(transaction) as running, running.client() as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        assert client.has_extn("8bitmime")
        refused = client.sendmail("lieferant@müller.example", ["bestellung@käufer.example"],
                                  message, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        assert refused == {}
    (row,) = stored(engine)
    assert row.raw == message
    assert row.sender == "lieferant@müller.example"


def test_a_20_mb_message_is_stored_whole(engine, transaction):
    line = base64.b64encode(os.urandom(57)) + b"\r\n"   # 78 bytes a line, as MIME does it
    body = line * (20_000_000 // len(line))
    message = mail(3, body)
    assert len(message) > 20_000_000
    with smtp_server(transaction) as running, running.client() as client:
        assert client.sendmail("orders@acme.example", [OURS], message) == {}
    (row,) = stored(engine)
    assert row.size == len(message)
    assert row.sha256 == hashlib.sha256(message).hexdigest()


def test_a_client_that_hangs_up_during_data_leaves_nothing_behind(engine, transaction):
    with smtp_server(transaction) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
                sock.makefile("rb") as replies:
            read_reply(replies)
            sock.sendall(b"EHLO mx.acme.example\r\n")
            read_reply(replies)
            sock.sendall(b"MAIL FROM:<orders@acme.example>\r\nRCPT TO:<orders@buyer.example>\r\n"
                         b"DATA\r\n")
            assert [read_reply(replies)[0] for _ in range(3)] == [250, 250, 354]
            sock.sendall(mail(4) * 100)    # no final dot
        time.sleep(0.5)
        assert count(engine) == 0
        # The server carries on.
        with running.client() as client:
            assert client.sendmail("orders@acme.example", [OURS], mail(5)) == {}
    assert count(engine) == 1


# -- refusals ---------------------------------------------------------------------------------


def test_a_recipient_not_ours_gets_550_and_nothing_is_stored(engine, transaction):
    with smtp_server(transaction) as running, running.client() as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("orders@acme.example", ["orders@buyer.example.evil.example",
                                                    "x@elsewhere.example"], mail(6))
        assert {code for code, _text in refused.value.recipients.values()} == {550}
        assert all(b"5.1.1" in text for _code, text in refused.value.recipients.values())
    assert count(engine) == 0


def test_over_the_size_limit_552_at_mail_from_and_during_data(engine, transaction):
    limit = 50_000
    big = mail(7, b"x" * 70 + b"\r\n") * 1000
    small = mail(8)
    with smtp_server(transaction, max_size=limit) as running, running.client() as client:
        client.ehlo()
        assert client.esmtp_features["size"] == str(limit)
        code, reply = client.mail("orders@acme.example", [f"SIZE={len(big)}"])
        assert (code, reply[:5]) == (552, b"5.3.4")
        # A client that does not declare the size is stopped during DATA.
        assert client.mail("orders@acme.example")[0] == 250
        assert client.rcpt(OURS)[0] == 250
        code, reply = client.data(big)
        assert (code, reply[:5]) == (552, b"5.3.4")
        # Within the limit, the same session goes on.
        client.rset()
        assert client.sendmail("orders@acme.example", [OURS], small) == {}
    assert [row.raw for row in stored(engine)] == [small]


# -- the database goes away -------------------------------------------------------------------


class TcpProxy:
    """A TCP relay between the gateway and PostgreSQL; `cut` is a real outage: the listening
    socket and every relayed connection are closed, new connections are refused."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        self._close(self._listener)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            self._close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            self._close(sock)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class Outage:
    """Makes the gateway's database genuinely unavailable and brings it back: PostgreSQL
    behind a TCP relay that is cut; SQLite with its write lock held by another process's
    connection (the gateway's busy timeout shortened so the test need not wait 30 s)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.down = False
        self._holder: sqlite3.Connection | None = None
        self._proxy: TcpProxy | None = None
        if settings.is_sqlite:
            self.engine = make_engine(settings)
            event.listen(self.engine, "connect", _short_busy_timeout)
        else:
            url = make_url(settings.database_url)
            self._proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
            self.engine = make_engine(Settings(
                url.set(host="127.0.0.1", port=self._proxy.port)
                .render_as_string(hide_password=False)))

    def begin(self) -> None:
        self.down = True
        if self._proxy is not None:
            self._proxy.cut()
            return
        path = make_url(self.settings.database_url).database
        self._holder = sqlite3.connect(str(path), isolation_level=None)
        self._holder.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if not self.down:
            return
        self.down = False
        if self._proxy is not None:
            self._proxy.restore()
        elif self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None

    def close(self) -> None:
        self.end()
        self.engine.dispose()
        if self._proxy is not None:
            self._proxy.cut()


def _short_busy_timeout(connection: object, _record: object) -> None:
    connection.execute("PRAGMA busy_timeout=500")  # type: ignore[attr-defined]


@pytest.fixture
def outage(settings: Settings, engine: Engine) -> Iterator[Outage]:
    result = Outage(settings)
    yield result
    result.close()


def test_database_down_451_then_the_retry_is_stored(engine, outage):
    transaction = make_session_factory(outage.engine).begin
    first, second = mail(9), mail(10)
    with smtp_server(transaction) as running:
        with running.client() as client:
            assert client.sendmail("orders@acme.example", [OURS], first) == {}
        outage.begin()
        try:
            with running.client() as client:
                with pytest.raises(smtplib.SMTPDataError) as refused:
                    client.sendmail("orders@acme.example", [OURS], second)
                assert (refused.value.smtp_code, refused.value.smtp_error[:5]) == (451, b"4.3.0")
        finally:
            outage.end()
        # The sending MTA retries later, as a 4xx tells it to.
        with running.client() as client:
            assert client.sendmail("orders@acme.example", [OURS], second) == {}
    assert [row.raw for row in stored(engine)] == [first, second]


# -- processing after the 250 -----------------------------------------------------------------


def test_unknown_sender_is_kept_and_quarantined_known_one_processed(engine, transaction):
    known = edifact_interchange("ORDRSP+'BGM+231+RSP-1+29'RFF+ON:4500000001'", "IC1", GLN) \
        + b"\r\n"
    unknown = edifact_interchange("ORDRSP+'BGM+231+RSP-2+29'RFF+ON:4500000001'", "IC2",
                                  "4099999000004") + b"\r\n"
    worker = ReceivedWorker(transaction, ["smtp"], lambda: date(2026, 11, 26), lambda: NOW,
                            sweep_seconds=0.2, max_pause_seconds=0.5)
    worker.start()
    try:
        with smtp_server(transaction, on_archived=worker.wake) as running, \
                running.client() as client:
            assert client.sendmail("orders@acme.example", [OURS], known) == {}
            assert client.sendmail("someone@unknown.example", [OURS], unknown) == {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(r.state == "received" for r in stored(engine)):
            time.sleep(0.1)
    finally:
        worker.stop(30)
    rows = {row.sender: row for row in stored(engine)}
    assert rows["orders@acme.example"].state == "reconciled"
    assert rows["orders@acme.example"].supplier_code == "ACME"
    quarantined = rows["someone@unknown.example"]
    assert (quarantined.state, quarantined.raw) == ("quarantined", unknown)
    assert "unknown sender" in (quarantined.state_reason or "")


@pytest.mark.parametrize("sender", [b"a\xffb@acme.example", b"a\x00b@acme.example"])
def test_a_sender_that_cannot_be_stored_is_refused_at_mail_not_deferred_forever(
        engine: Engine, transaction: UnitOfWork, sender: bytes) -> None:
    # Not UTF-8 (RFC 6531 requires it), or NUL (PostgreSQL text refuses it): a 451 after DATA
    # would make the sender retry for days and never deliver; RFC 3463 X.1.7 says why now.
    message = mail()
    with smtp_server(transaction) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock, \
            sock.makefile("rb") as replies:
        read_reply(replies)
        sock.sendall(b"EHLO mx.acme.example\r\n")
        read_reply(replies)
        sock.sendall(b"MAIL FROM:<" + sender + b"> SMTPUTF8\r\n")
        code, text = read_reply(replies)
        assert (code, text[4:9]) == (553, "5.1.7")
        # The session goes on with a sender that can be stored.
        sock.sendall(b"MAIL FROM:<orders@acme.example>\r\nRCPT TO:<" + OURS.encode()
                     + b">\r\nDATA\r\n")
        assert [read_reply(replies)[0] for _ in range(3)] == [250, 250, 354]
        sock.sendall(message + b"\r\n.\r\nQUIT\r\n")
        assert [read_reply(replies)[0] for _ in range(2)] == [250, 221]
    assert [row.sender for row in stored(engine)] == ["orders@acme.example"]


# -- STARTTLS and AUTH ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        reason = "the openssl command is needed to make a self-signed certificate"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def client_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False   # the client connects to 127.0.0.1, the cert names localhost
    return context


def test_starttls_is_required_when_configured(engine, transaction, certificate):
    cert, key = certificate
    message = mail(11)
    with smtp_server(transaction, tls_cert=cert, tls_key=key, require_starttls=True) as running, \
            running.client() as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert "auth" not in client.esmtp_features
        assert client.mail("orders@acme.example")[0] == 530
        client.starttls(context=client_context(cert))
        client.ehlo()
        assert not client.has_extn("starttls")
        assert "auth" not in client.esmtp_features    # no credentials configured
        assert client.sendmail("orders@acme.example", [OURS], message) == {}
    assert [row.raw for row in stored(engine)] == [message]


def test_auth_over_tls_only_with_the_configured_credentials(engine, transaction, certificate):
    cert, key = certificate
    with smtp_server(transaction, tls_cert=cert, tls_key=key, auth_user="relay",
                     auth_password="s3cret", auth_required=True) as running:
        with running.client() as client:
            client.ehlo()
            assert "auth" not in client.esmtp_features   # never in the clear
            client.starttls(context=client_context(cert))
            client.ehlo()
            assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
            assert client.mail("orders@acme.example")[0] == 530    # AUTH required first
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                client.login("relay", "guess")
            assert wrong.value.smtp_code == 535
        for mechanism in ("PLAIN", "LOGIN"):
            with running.client() as client:
                client.starttls(context=client_context(cert))
                client.ehlo()
                client.user, client.password = "relay", "s3cret"
                code, _reply = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
                assert code == 235
                assert client.sendmail("relay@buyer.example", [OURS], mail(12)) == {}
    assert count(engine) == 2


# -- stopping ---------------------------------------------------------------------------------


@contextmanager
def writes_held(settings: Settings, engine: Engine) -> Iterator[None]:
    """Another connection holds the write lock (SQLite) or the table lock (PostgreSQL): the
    gateway's commit waits for it, as it would behind a long transaction."""
    if settings.is_sqlite:
        holder = sqlite3.connect(str(make_url(settings.database_url).database),
                                 isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with engine.connect() as connection:
        connection.execute(text("LOCK TABLE inbound_messages IN ACCESS EXCLUSIVE MODE"))
        yield
        connection.rollback()


def test_stop_waits_for_the_commit_under_way_and_its_250(settings, engine, transaction):
    replies: list[tuple[int, bytes]] = []
    message = mail(13)

    def send(running: Running) -> None:
        with running.client() as client:
            client.ehlo()
            client.mail("orders@acme.example")
            client.rcpt(OURS)
            replies.append(client.data(message))

    with smtp_server(transaction) as running:
        with writes_held(settings, engine):
            sender = threading.Thread(target=send, args=(running,))
            sender.start()
            deadline = time.monotonic() + 10
            while running.server.intake.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert running.server.intake.in_flight == 1
            running.request_stop()
            time.sleep(0.5)
            assert running.thread.is_alive()      # still waiting for the commit
            with pytest.raises(ConnectionRefusedError):   # but no longer accepting
                socket.create_connection(("127.0.0.1", running.port), timeout=2).close()
        sender.join(30)
        running.thread.join(30)
        assert not running.thread.is_alive()
    assert replies
    assert replies[0][0] == 250
    assert [row.raw for row in stored(engine)] == [message]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_gateway_smtp_command_exits_0_on_signal(settings, engine, tmp_path, signum):
    port = free_port()
    message = mail(14)
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url,
           "GATEWAY_VAR_DIR": str(tmp_path), "GATEWAY_SMTP_RECIPIENTS": OURS,
           "GATEWAY_SMTP_HOSTNAME": "mx.buyer.example"}
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "smtp",
               "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "listening on" in line:
                break
        else:
            pytest.fail(f"gateway smtp did not start: exit status {process.wait()}")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            assert client.sendmail("orders@acme.example", [OURS], message) == {}
        process.send_signal(signum)
        rest = process.communicate(timeout=30)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, rest
    assert "stopped" in rest
    assert "orders@acme.example" not in rest
    assert "signature line" not in rest
    assert [row.raw for row in stored(engine)] == [message]


def test_gateway_smtp_refuses_to_start_without_recipients(settings, engine):
    env = {**os.environ, "GATEWAY_DATABASE_URL": settings.database_url,
           "GATEWAY_SMTP_RECIPIENTS": ""}
    done = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()",
                           "smtp", "--port", "0"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "GATEWAY_SMTP_RECIPIENTS" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_from_the_environment():
    settings = SmtpSettings.from_env({
        "GATEWAY_SMTP_RECIPIENTS": " Orders@Buyer.example, @b.example",
        "GATEWAY_SMTP_MAX_SIZE": "1000", "GATEWAY_SMTP_PORT": "25"})
    assert (settings.recipients, settings.max_size, settings.port) == (
        ("orders@buyer.example", "@b.example"), 1000, 25)
    for env in ({"GATEWAY_SMTP_PORT": "smtp"}, {"GATEWAY_SMTP_TLS_CERT": "c.pem"},
                {"GATEWAY_SMTP_AUTH_USER": "u", "GATEWAY_SMTP_AUTH_PASSWORD": "p"},
                {"GATEWAY_SMTP_REQUIRE_STARTTLS": "maybe"}):
        with pytest.raises(ConfigurationError, match="GATEWAY_SMTP_"):
            SmtpSettings.from_env(env)
    assert "s3cret" not in repr(SmtpSettings(auth_user="u", auth_password="s3cret"))

