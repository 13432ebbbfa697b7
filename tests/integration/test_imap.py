"""`gateway imap` against a real Dovecot on loopback, on SQLite and PostgreSQL.

Each test starts its own Dovecot (Debian package dovecot-imapd) with a private configuration
in a temporary folder, on a free port, and runs the gateway as a user does: a separate
process. Without Dovecot the tests skip with a reason, and fail under CI=true.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from gateway.bootstrap import make_session_factory
from gateway.channels.imap import ImapConnection, MailboxPoller
from gateway.channels.imap_decisions import sender_address
from gateway.channels.mailboxes import MailboxSettings, TlsMode
from gateway.config import Settings
from gateway.persistence.models import (
    ConnectorStatusRow,
    ExceptionRow,
    InboundMessage,
    LineVersionRow,
)
from gateway.services.ingest import Intake, archive
from gateway.services.orders import import_lines, read_order_file
from tests.integration.conftest import POSTGRES_ADMIN_URL, edifact_interchange, transactions

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
GLN = "4012345000009"
# Its mail is taken without sender authentication (tested in test_mail_authentication.py).
PARTNERS: dict[str, object] = {"suppliers": [{"code": "ACME", "name": "Acme Fasteners GmbH",
                           "emails": ["orders@acme.example"],
                           "edi_ids": [{"id": GLN, "qualifier": "14"}],
                           "mail_auth": "none"}]}
ORDERS_CSV = ("order_number,line_no,quantity,unit,price,currency,requested_date,gtin,"
              "supplier_id\n4500000001,10,100,PCE,12.50,EUR,2026-12-05,4000862141404,ACME\n"
              "4500000001,20,50,PCE,3.20,EUR,2026-12-05,4000862141411,ACME\n")
# An order response sent as the whole message (no mail headers): it is processed into
# events today, whatever the email readers will do later; a short quantity raises QTY_SHORT.
ORDRSP = edifact_interchange(
    "ORDRSP+'BGM+231+RSP-1+4'RFF+ON:4500000001'"
    "LIN+1+3+4000862141404:EN'QTY+113:80:PCE'RFF+ON:4500000001:10'"
    "LIN+2+5+4000862141411:EN'QTY+113:50:PCE'RFF+ON:4500000001:20'", "IC1", GLN)
PASSWORD = "s3cret-imap"
SQLITE = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize("settings", ["postgresql"], indirect=True)


def mail(subject: str, sender: str = "ACME Orders <Orders@ACME.example>",
         size: int = 0) -> bytes:
    body = "Line 10: 80 pcs, delivery 2026-12-09.\r\n" + "x" * size
    return (f"From: {sender}\r\nTo: orders@buyer.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@acme.example>\r\n\r\n{body}").encode()


# -- Dovecot ---------------------------------------------------------------------------------


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot"
                                        if os.access("/usr/sbin/dovecot", os.X_OK) else None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("dovecot is required under CI=true (Debian package dovecot-imapd; "
                    ".ci/run installs it)")
    pytest.skip("dovecot is not installed (Debian package dovecot-imapd): the IMAP tests run "
                "against a real server")


def _users() -> tuple[str, str, str]:
    """Dovecot's internal, login and mail users. Run by root, Dovecot refuses root for login
    processes and mail access: the package's own unprivileged users take those roles."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, me
    for name in ("dovenull", "dovecot"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            pytest.fail(f"running as root, the test Dovecot needs the system user {name!r} "
                        "that the dovecot-core package creates")
    return "root", "dovenull", "dovecot"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    """A private Dovecot: configuration, state, log and maildirs in one temporary folder."""

    user = "tester"

    def __init__(self, binary: str, root: Path, capability: str | None = None,
                 tls: bool = False) -> None:
        self.binary = binary
        self.root = root
        self.port = _free_port()
        self.tls_port = _free_port() if tls else 0
        self.process: subprocess.Popen[bytes] | None = None
        internal, login, mail_user = _users()
        (root / "mail").mkdir()
        if os.geteuid() == 0:
            shutil.chown(root / "mail", mail_user, mail_user)
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{PASSWORD}::::{root}/mail/tester::\n")
        tls_settings = "ssl = no"
        if tls:
            self._make_certificate()
            tls_settings = f"ssl = required\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
        (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = gateway-test-{self.port}
protocols = imap
listen = 127.0.0.1
{tls_settings}
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
mail_uid = {mail_user}
mail_gid = {pwd.getpwnam(mail_user).pw_gid}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/mail/%u
{f"imap_capability = {capability}" if capability else ""}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
""")

    def _make_certificate(self) -> None:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", str(self.root / "key.pem"),
                        "-out", str(self.root / "cert.pem")], check=True, capture_output=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read()!r}"  # type: ignore[union-attr]
                                   f" {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        """Stop the server and every session process: Dovecot's master leaves a session
        process running for a while after it stopped, and a restart should drop them."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(self.user, PASSWORD)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX", flags: tuple[bytes, ...] = ()
                ) -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags)

    def contents(self, folder: str = "INBOX") -> list[tuple[bytes, set[bytes]]]:
        """The messages of a folder, bytes and flags, read without setting \\Seen."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
            return [(data[b"BODY[]"], set(data[b"FLAGS"])) for _, data in sorted(found.items())]


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., Dovecot]]:
    binary = _dovecot_binary()
    started: list[tuple[Dovecot, Path]] = []

    def start(**options: object) -> Dovecot:
        root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
        root.chmod(0o755)   # the unprivileged mail user walks into its maildir
        server = Dovecot(binary, root, **options)  # type: ignore[arg-type]
        started.append((server, root))
        server.start()
        return server

    yield start
    for server, root in started:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_factory: Callable[..., Dovecot]) -> Dovecot:
    return dovecot_factory()


# -- the gateway as a user runs it -----------------------------------------------------------


class Gateway:
    def __init__(self, settings: Settings, folder: Path, server: Dovecot) -> None:
        self.settings = settings
        self.folder = folder
        self.server = server
        self.configure()

    def configure(self, **overrides: object) -> None:
        values: dict[str, object] = {
            "name": "orders", "host": "127.0.0.1", "port": self.server.port, "tls": "none",
            "user": self.server.user, "password_env": "TEST_IMAP_PASSWORD",
            "folder": "INBOX", "processed_folder": "Processed", "failed_folder": "Failed",
            "retry_initial_seconds": 0.2, "retry_max_seconds": 0.5, "timeout_seconds": 10}
        values.update(overrides)
        lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        (self.folder / "mailboxes.toml").write_text("[[mailboxes]]\n" + "\n".join(lines))

    def env(self, database_url: str | None = None) -> dict[str, str]:
        return {**os.environ, "GATEWAY_DATABASE_URL": database_url or self.settings.database_url,
                "GATEWAY_IMAP_MAILBOXES": str(self.folder / "mailboxes.toml"),
                "TEST_IMAP_PASSWORD": PASSWORD}

    def command(self, *args: str, script: str = "from gateway.cli import main; main()"
                ) -> list[str]:
        return [sys.executable, "-c", script, "--today", "2026-11-26", "imap", *args]

    def once(self, database_url: str | None = None, script: str | None = None
             ) -> subprocess.CompletedProcess[str]:
        command = self.command("--once", **({"script": script} if script else {}))
        return subprocess.run(command, env=self.env(database_url), cwd=ROOT, text=True,
                              capture_output=True, timeout=120)

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(), env=self.env(), cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, as a service manager stops it; the exit status and the log."""
    process.send_signal(signal.SIGTERM)
    try:
        _, errors = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, errors = process.communicate()
        pytest.fail(f"gateway imap did not stop on SIGTERM within 20 s: {errors[-3000:]}")
    return process.returncode, errors


class StderrTail:
    """The log (stderr) of a running gateway, read line by line as it is written."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        self._stream = process.stderr
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)[-3000:]

    def close(self, process: subprocess.Popen[str]) -> None:
        """Once the process has ended: the rest of the log read, the pipes closed."""
        self._reader.join(20)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def wait_for(self, text: str, seconds: float) -> None:
        wait_until(lambda: any(text in line for line in self.lines), seconds,
                   f"{text!r} in the log")


@pytest.fixture
def gateway(settings: Settings, engine: Engine, dovecot: Dovecot, tmp_path: Path) -> Gateway:
    return Gateway(settings, tmp_path, dovecot)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"not within {seconds} s: {what}")


def messages(engine: Engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def status(engine: Engine) -> ConnectorStatusRow | None:
    with Session(engine) as session:
        return session.scalars(select(ConnectorStatusRow)).first()


def load_orders(engine: Engine, tmp_path: Path) -> None:
    sessions = transactions(engine, PARTNERS, NOW)
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    lines, errors = read_order_file(path)
    assert not errors
    with sessions() as session:
        import_lines(session, lines, "orders.csv", NOW)


def uidvalidity(server: Dovecot, folder: str = "INBOX") -> int:
    with server.client() as client:
        return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


# -- the tests -------------------------------------------------------------------------------


def test_new_mail_is_archived_committed_then_moved(gateway: Gateway, dovecot: Dovecot,
                                                   engine: Engine, tmp_path: Path) -> None:
    load_orders(engine, tmp_path)
    first = mail("PO 4500000001 confirmation")
    dovecot.deliver(first)
    dovecot.deliver(ORDRSP)

    result = gateway.once()

    assert result.returncode == 0, result.stderr
    assert dovecot.contents("INBOX") == []
    moved = dovecot.contents("Processed")
    assert [raw for raw, _ in moved] == [first, ORDRSP]
    assert all(b"\\Seen" not in flags for _, flags in moved), "fetched without BODY.PEEK"
    archived = messages(engine)
    assert [(m.channel, m.sender, m.filename, m.raw) for m in archived] == [
        ("imap", "orders@acme.example", None, first), ("imap", "", None, ORDRSP)]
    assert archived[1].state == "reconciled", archived[1].state_reason
    state = status(engine)
    assert state is not None
    assert (state.connector, state.name, state.uidvalidity, state.last_uid) == (
        "imap", "orders", uidvalidity(dovecot), 2)
    assert state.messages_taken_in == 2
    assert state.last_success_at is not None
    assert state.consecutive_failures == 0
    assert PASSWORD not in result.stderr

    again = gateway.once()

    assert again.returncode == 0, again.stderr
    assert len(messages(engine)) == 2
    assert status(engine).last_uid == 2  # type: ignore[union-attr]


def test_a_crash_between_commit_and_move_archives_once_and_processes_once(
        gateway: Gateway, dovecot: Dovecot, engine: Engine, tmp_path: Path) -> None:
    load_orders(engine, tmp_path)
    dovecot.deliver(ORDRSP)
    crash_on_move = ("import os\nfrom gateway.channels import imap\n"
                     "def crash(self, uids, folder):\n    if uids:\n        os._exit(3)\n"
                     "imap.ImapConnection.move = crash\n"
                     "from gateway.cli import main\nmain()\n")

    crashed = gateway.once(script=crash_on_move)

    assert crashed.returncode == 3, crashed.stderr
    assert [m.state for m in messages(engine)] == ["received"]
    assert [raw for raw, _ in dovecot.contents("INBOX")] == [ORDRSP]
    assert dovecot.contents("Processed") == []

    result = gateway.once()

    assert result.returncode == 0, result.stderr
    original, duplicate = messages(engine)
    assert original.state == "reconciled", original.state_reason
    assert (duplicate.state, duplicate.duplicate_of_id) == ("duplicate", original.id)
    assert dovecot.contents("INBOX") == []
    assert [raw for raw, _ in dovecot.contents("Processed")] == [ORDRSP]
    with Session(engine) as session:
        versions = session.execute(select(LineVersionRow.message_id, func.count())
                                   .where(LineVersionRow.message_id.is_not(None))
                                   .group_by(LineVersionRow.message_id)).all()
        exceptions = session.execute(select(ExceptionRow.code, ExceptionRow.occurrences,
                                            ExceptionRow.message_id)).all()
    assert versions == [(original.id, 2)]
    assert exceptions == [("QTY_SHORT", 1, original.id)]
    assert status(engine).messages_taken_in == 1  # type: ignore[union-attr]


@SQLITE
def test_a_new_uidvalidity_rescans_the_folder(gateway: Gateway, dovecot: Dovecot,
                                              engine: Engine) -> None:
    gateway.configure(folder="Orders")
    earlier = [mail(f"order {n}") for n in range(3)]
    for raw in earlier:
        dovecot.deliver(raw, "Orders")
    assert gateway.once().returncode == 0
    before = uidvalidity(dovecot, "Orders")
    assert status(engine).last_uid == 3  # type: ignore[union-attr]
    # The folder is deleted and made again (a restored backup, say): its UIDs start at 1
    # again and mean other messages.
    with dovecot.client() as client:
        client.delete_folder("Orders")
        client.create_folder("Orders")
    fresh = mail("order after the restore")
    dovecot.deliver(fresh, "Orders")
    dovecot.deliver(earlier[0], "Orders")
    after = uidvalidity(dovecot, "Orders")
    assert after != before

    result = gateway.once()

    assert result.returncode == 0, result.stderr
    archived = messages(engine)
    assert [m.raw for m in archived[3:]] == [fresh, earlier[0]]
    assert [m.state for m in archived[3:]][1] == "duplicate"
    assert dovecot.contents("Orders") == []
    state = status(engine)
    assert state is not None
    assert (state.uidvalidity, state.last_uid) == (after, 2)
    assert state.notice is not None
    assert f"UIDVALIDITY changed from {before} to {after}" in state.notice


@SQLITE
def test_database_down_leaves_the_mail_untouched_and_exits_non_zero(
        gateway: Gateway, dovecot: Dovecot, engine: Engine, tmp_path: Path) -> None:
    dovecot.deliver(mail("while the database is down"))
    unopenable = tmp_path / "not-a-database"
    unopenable.mkdir()

    result = gateway.once(database_url=f"sqlite:///{unopenable}")

    assert result.returncode == 1
    assert "database unavailable" in result.stderr
    [(_raw, flags)] = dovecot.contents("INBOX")
    assert b"\\Seen" not in flags
    assert dovecot.contents("Processed") == []


@POSTGRES
def test_database_outage_leaves_mail_untouched_and_the_status_records_it(
        gateway: Gateway, dovecot: Dovecot, engine: Engine, settings: Settings) -> None:
    name = settings.database_url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def allow_connections(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allowed}'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
        engine.dispose()

    dovecot.deliver(mail("during the outage"))
    allow_connections(False)
    try:
        process = gateway.start()
        log = StderrTail(process)
        # Not a fixed sleep: on a loaded machine the start alone can take seconds.
        log.wait_for("database unavailable", 60)
        assert process.poll() is None, log.text()
        [(_, flags)] = dovecot.contents("INBOX")
        assert b"\\Seen" not in flags
        assert dovecot.contents("Processed") == []
    finally:
        allow_connections(True)
        admin.dispose()
    wait_until(lambda: len(dovecot.contents("Processed")) == 1, 20, "mail moved after outage")
    wait_until(lambda: status(engine) is not None
               and status(engine).last_success_at is not None, 10,  # type: ignore[union-attr]
               "status recorded")
    process.send_signal(signal.SIGTERM)
    code = process.wait(20)
    log.close(process)
    assert code == 0, log.text()
    state = status(engine)
    assert state is not None
    assert state.last_error is not None
    assert state.last_error.startswith("database unavailable")
    assert state.last_error_at is not None
    assert state.last_success_at is not None
    assert state.last_error_at <= state.last_success_at
    assert state.consecutive_failures == 0
    assert [m.channel for m in messages(engine)] == ["imap"]


@SQLITE
def test_idle_wakes_on_new_mail_and_reconnects_after_a_server_restart(
        gateway: Gateway, dovecot: Dovecot, engine: Engine) -> None:
    # Polling every ten minutes: a message found sooner was announced by IDLE.
    gateway.configure(poll_seconds=600, idle_seconds=600)
    process = gateway.start()
    try:
        wait_until(lambda: status(engine) is not None, 20, "first poll")
        dovecot.deliver(mail("announced by IDLE"))
        wait_until(lambda: len(messages(engine)) == 1, 15, "IDLE brought the first mail")
        dovecot.stop()
        time.sleep(1)
        dovecot.start()
        dovecot.deliver(mail("after the restart"))
        # Generous: the server's restart and the poller's back-off share two busy cores.
        wait_until(lambda: len(dovecot.contents("Processed")) == 2, 60, "mail after restart")
    except pytest.fail.Exception as exc:
        _code, log = stop(process)
        pytest.fail(f"{exc}\n--- gateway log ---\n{log[-4000:]}")
    finally:
        if process.returncode is None:
            code, log = stop(process)
    assert code == 0, log
    assert [m.raw for m in messages(engine)] == [mail("announced by IDLE"),
                                                 mail("after the restart")]
    state = status(engine)
    assert state is not None
    assert state.last_error is not None, log
    assert state.last_error.startswith("mailbox:")
    assert state.messages_taken_in == 2
    assert "SIGTERM" in log


def test_a_message_over_the_limit_goes_to_the_failed_folder_its_header_archived_as_failed(
        gateway: Gateway, dovecot: Dovecot, engine: Engine) -> None:
    """Only its header is downloaded (BODY.PEEK[HEADER]) and kept, as a `failed` message
    that says why, so that IT sees it in `gateway messages`; the server keeps the rest."""
    gateway.configure(max_message_bytes=4000)
    small, large = mail("small"), mail("large", size=6000)
    dovecot.deliver(large)
    dovecot.deliver(small)

    result = gateway.once()

    assert result.returncode == 0, result.stderr
    [record] = [m for m in messages(engine) if m.state == "failed"]
    [taken] = [m for m in messages(engine) if m.state != "failed"]
    header = large.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    assert (record.raw, record.sender, record.state) == (header, "orders@acme.example",
                                                          "failed")
    assert record.state_reason == (
        f"over the size limit: {len(large)} bytes > 4000; only its header was archived, the "
        "whole message was moved to the mailbox folder 'Failed'")
    assert taken.raw == small
    listed = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "messages", "list",
         "--state", "failed", "--json"], env=gateway.env(), cwd=ROOT, text=True,
        capture_output=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [(m["id"], m["reason"]) for m in json.loads(listed.stdout)] == [
        (record.id, record.state_reason)]
    [(kept, flags)] = dovecot.contents("Failed")
    assert kept == large
    assert b"\\Seen" not in flags
    assert [raw for raw, _ in dovecot.contents("Processed")] == [small]
    state = status(engine)
    assert state is not None
    assert state.notice is not None
    assert f"UID 1 ({len(large)} bytes, header archived as message #{record.id})" in state.notice
    assert "'Failed'" in state.notice
    assert state.last_uid == 2


@SQLITE
@pytest.mark.parametrize(("capability", "expunged"), [("IMAP4rev1 IDLE UIDPLUS", True),
                                                      ("IMAP4rev1 IDLE", False)])
def test_without_move_only_our_messages_are_expunged(
        dovecot_factory: Callable[..., Dovecot], settings: Settings, engine: Engine,
        tmp_path: Path, capability: str, expunged: bool) -> None:
    server = dovecot_factory(capability=capability)
    gateway = Gateway(settings, tmp_path, server)
    others = mail("deleted by another client")
    server.deliver(others, flags=(b"\\Deleted",))
    ours = mail("for the gateway")
    server.deliver(ours)

    assert gateway.once().returncode == 0
    assert gateway.once().returncode == 0

    assert [m.raw for m in messages(engine)] == [ours]
    assert [raw for raw, _ in server.contents("Processed")] == [ours]
    left = server.contents("INBOX")
    # Plain EXPUNGE would have removed the other client's message as well.
    assert [raw for raw, _ in left] == ([others] if expunged else [others, ours])
    assert all(b"\\Deleted" in flags for _, flags in left)


@SQLITE
@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_tls_verifies_the_server_certificate(dovecot_factory: Callable[..., Dovecot],
                                             settings: Settings, engine: Engine,
                                             tmp_path: Path, mode: str) -> None:
    server = dovecot_factory(tls=True)
    gateway = Gateway(settings, tmp_path, server)
    port = server.tls_port if mode == "implicit" else server.port
    gateway.configure(tls=mode, port=port)
    message = mail(f"over {mode}")
    _deliver_over_tls(server, message)

    untrusted = gateway.once()

    assert untrusted.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert messages(engine) == []

    gateway.configure(tls=mode, port=port, ca_file=str(server.root / "cert.pem"))
    trusted = gateway.once()

    assert trusted.returncode == 0, trusted.stderr
    assert [m.raw for m in messages(engine)] == [message]


def _deliver_over_tls(server: Dovecot, raw: bytes) -> None:
    context = ssl.create_default_context(cafile=str(server.root / "cert.pem"))
    with IMAPClient("127.0.0.1", server.tls_port, ssl=True, ssl_context=context,
                    timeout=10) as client:
        client.login(server.user, PASSWORD)
        client.append("INBOX", raw)


def test_a_from_header_with_nul_does_not_fail_the_archive(engine: Engine) -> None:
    # On PostgreSQL a NUL in the sender failed the batch's archive at every poll: the mailbox
    # never got past that message.
    raw = b"From: orders@acme.example\x00\r\nSubject: x\r\n\r\nbody\r\n"
    with make_session_factory(engine).begin() as session:
        archived = archive(session, Intake(raw, "imap", sender_address(raw)), NOW)
    assert archived.duplicate_of is None


class _DeliveringDuringPoll(ImapConnection):
    """The real connection; right after its first UID SEARCH another message arrives, as it
    does when a supplier's mail lands while the gateway is moving the previous one."""

    server: Dovecot
    raw: bytes
    delivered = False

    def uids_after(self, last_uid: int) -> list[int]:
        found = super().uids_after(last_uid)
        if not type(self).delivered:
            type(self).delivered = True
            self.server.deliver(self.raw)
        return found


@SQLITE
def test_mail_arriving_during_a_poll_is_taken_without_waiting_for_the_idle_timeout(
        dovecot: Dovecot, engine: Engine) -> None:
    first, second = mail("first"), mail("arrived during the poll")
    dovecot.deliver(first)
    connection = type("Delivering", (_DeliveringDuringPoll,),
                      {"server": dovecot, "raw": second, "delivered": False})
    settings = MailboxSettings(name="orders", host="127.0.0.1", port=dovecot.port,
                               tls=TlsMode.NONE, user=dovecot.user, password=PASSWORD,
                               poll_seconds=600, idle_seconds=600, timeout_seconds=10,
                               retry_initial_seconds=0.2, retry_max_seconds=0.5)
    stop = threading.Event()
    poller = MailboxPoller(settings, make_session_factory(engine).begin,
                           lambda: datetime.now(UTC), stop, connect=connection.open)
    thread = threading.Thread(target=poller.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(messages(engine)) < 2:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [m.raw for m in messages(engine)] == [first, second], \
        "the EXISTS the server sent during the poll was missed: IDLE waited for its timeout"
