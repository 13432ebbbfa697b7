"""IMAP mailboxes as a channel (`gateway imap`): poll, archive, commit, and only then move.

One poll of a mailbox, batch by batch (docs/architecture.md, "Archive before acknowledge"):

1. read the mailbox's position (UIDVALIDITY, last UID) from the database; if the database is
   down, stop here: the mail is not touched;
2. SELECT the folder and SEARCH the UIDs above the last one taken in (not \\Deleted);
3. FETCH their RFC822.SIZE, then BODY.PEEK[] of those within the limit (PEEK sets no \\Seen),
   and only the header (BODY.PEEK[HEADER], at most 256 KiB of it) of those over it;
4. archive the raw bytes, and each header as a `failed` message saying "over the size
   limit" (so IT sees it in `gateway messages`), and commit;
5. move them to the processed folder, and messages over the limit to the failed folder (the
   server keeps their bytes; the status says so);
6. record the new position and commit; wake the worker that processes them.

A crash between 4 and 6 leaves the mail in the folder and the position where it was: the next
poll archives the same bytes again, which the archive records as a duplicate delivery (no
second set of events), and moves them. Between polls the connection waits in IDLE when the
server has it (RFC 2177), else sleeps; a lost connection is opened again with back-off.
This module is the I/O; the decisions are in `gateway.channels.imap_decisions`.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from time import monotonic

from imapclient import IMAPClient
from imapclient.imapclient import DELETED
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.channels.imap_decisions import (
    HEADER_LIMIT,
    Batch,
    MoveMethod,
    handled_up_to,
    move_method,
    new_uids,
    oversize_reason,
    plan_batches,
    retry_delay,
    sender_address,
    start_position,
)
from gateway.channels.mailboxes import MailboxSettings, TlsMode
from gateway.errors import GatewayError
from gateway.services.connector_status import (
    Position,
    read_position,
    record_failure,
    record_notice,
    record_position,
    record_success,
)
from gateway.services.ingest import Archived, Intake, UnitOfWork, archive_failed, archive_many

CHANNEL = "imap"
log = logging.getLogger(__name__)


class MailboxError(GatewayError):
    """The IMAP server could not be reached, refused the login or failed a command (a
    `GatewayError`; imapclient's, imaplib's, socket and TLS errors are translated into it).
    Retryable: the poller reconnects with back-off and the mail stays where it was."""

    retryable = True


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except (imaplib.IMAP4.error, OSError) as exc:   # imapclient's errors derive from the first
        raise MailboxError(f"{action}: {exc}".splitlines()[0][:500]) from exc


class ImapConnection:
    """One logged-in session: the few commands a poll needs, with errors translated."""

    def __init__(self, client: IMAPClient, settings: MailboxSettings) -> None:
        self.client = client
        self.settings = settings
        with _translated("CAPABILITY"):
            capabilities = client.capabilities()
        self.method = move_method(capabilities)
        self.can_idle = b"IDLE" in capabilities

    @classmethod
    def open(cls, settings: MailboxSettings) -> ImapConnection:
        host, _, port = settings.address.rpartition(":")
        with _translated(f"connecting to {settings.address}"):
            context = ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None)
            client = IMAPClient(host, int(port), ssl=settings.tls is TlsMode.IMPLICIT,
                                ssl_context=context, timeout=settings.timeout_seconds)
        try:
            with _translated(f"logging in to {settings.address} as {settings.user}"):
                if settings.tls is TlsMode.STARTTLS:
                    client.starttls(context)
                client.login(settings.user, settings.password)
            connection = cls(client, settings)
            connection.ensure_folders()
        except MailboxError:
            _shut(client)
            raise
        return connection

    def ensure_folders(self) -> None:
        for folder in (self.settings.processed_folder, self.settings.failed_folder):
            with _translated(f"creating folder {folder!r}"):
                if not self.client.folder_exists(folder):
                    self.client.create_folder(folder)

    def select(self) -> int:
        """Open the polled folder; its UIDVALIDITY."""
        with _translated(f"SELECT {self.settings.folder!r}"):
            response = self.client.select_folder(self.settings.folder)
        return int(response[b"UIDVALIDITY"])

    def uids_after(self, last_uid: int) -> list[int]:
        with _translated("UID SEARCH"):
            found = self.client.search(["UID", f"{last_uid + 1}:*", "NOT", "DELETED"])
        return new_uids(found, last_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        with _translated("FETCH RFC822.SIZE"):
            found = self.client.fetch(uids, ["RFC822.SIZE"])
        return {uid: int(data[b"RFC822.SIZE"]) for uid, data in found.items()
                if b"RFC822.SIZE" in data}

    def raw_messages(self, uids: tuple[int, ...]) -> dict[int, bytes]:
        if not uids:
            return {}
        with _translated("FETCH BODY.PEEK[]"):
            found = self.client.fetch(list(uids), ["BODY.PEEK[]"])
        return {uid: bytes(data[b"BODY[]"]) for uid, data in found.items()
                if data.get(b"BODY[]") is not None}

    def headers(self, uids: list[int]) -> dict[int, bytes]:
        """The header of each message, at most `HEADER_LIMIT` bytes of it (RFC 3501 section
        6.4.5, a partial fetch), without setting \\Seen."""
        if not uids:
            return {}
        with _translated("FETCH BODY.PEEK[HEADER]"):
            found = self.client.fetch(uids, [f"BODY.PEEK[HEADER]<0.{HEADER_LIMIT}>"])
        # The server names a partial fetch's data with its origin: BODY[HEADER]<0>.
        return {uid: bytes(value) for uid, data in found.items()
                for key, value in data.items()
                if key.startswith(b"BODY[HEADER]") and value is not None}

    def move(self, uids: list[int], folder: str) -> None:
        if not uids:
            return
        with _translated(f"moving {len(uids)} message(s) to {folder!r}"):
            if self.method is MoveMethod.MOVE:
                self.client.move(uids, folder)
                return
            self.client.copy(uids, folder)
            self.client.add_flags(uids, [DELETED], silent=True)
            if self.method is MoveMethod.COPY_UID_EXPUNGE:
                self.client.uid_expunge(uids)

    def wait_for_mail(self, seconds: float, stop: threading.Event) -> None:
        """IDLE until the server reports new mail, `seconds` pass or `stop` is set."""
        if self._mail_announced():
            return
        deadline = monotonic() + seconds
        with _translated("IDLE"):
            self.client.idle()
            try:
                while not stop.is_set() and (left := deadline - monotonic()) > 0:
                    step = min(1.0, left)
                    began = monotonic()
                    responses = self.client.idle_check(timeout=step)
                    # imapclient returns nothing, at once, when the server closed the
                    # connection; IDLE DONE then fails and the poller reconnects.
                    if any(_new_mail(r) for r in responses) or (
                            not responses and monotonic() - began < step / 2):
                        break
            finally:
                self.client.idle_done()

    def _mail_announced(self) -> bool:
        """Whether the server announced new mail since the SELECT of this poll. It does so with
        an untagged EXISTS at the end of any command (RFC 3501 section 7.3.1), and not again
        in IDLE: mail that landed while the poll fetched or moved would otherwise wait for
        the IDLE timeout. imaplib keeps those responses, emptied by each SELECT; the one
        EXISTS of the SELECT itself is not news."""
        untagged = self.client._imap.untagged_responses
        return len(untagged.get("EXISTS", ())) > 1

    def close(self) -> None:
        try:
            with _translated("LOGOUT"):
                self.client.logout()
        except MailboxError:
            _shut(self.client)


def _new_mail(response: tuple[object, ...]) -> bool:
    return (len(response) > 1 and response[1] in (b"EXISTS", b"RECENT")) or \
        response[0] == b"BYE"


def _shut(client: IMAPClient) -> None:
    try:
        with _translated("closing the connection"):
            client.shutdown()
    except MailboxError as exc:
        log.debug("closing the connection failed: %s", exc)


Connect = Callable[[MailboxSettings], ImapConnection]


@dataclass(slots=True)
class _Unrecorded:
    """Failures the database has not been told about yet (it was down, say)."""

    count: int = 0
    error: str = ""
    at: datetime | None = None


class MailboxPoller:
    """Polls one mailbox until stopped. `wake` is given the ids of new messages once they
    were committed and moved (a `Dispatcher`'s `dispatch`); `clock` gives aware UTC times."""

    def __init__(self, settings: MailboxSettings, transaction: UnitOfWork,
                 clock: Callable[[], datetime], stop: threading.Event,
                 wake: Callable[[list[int]], None] = lambda _ids: None,
                 connect: Connect = ImapConnection.open) -> None:
        self.settings = settings
        self.transaction = transaction
        self.clock = clock
        self.stop = stop
        self.wake = wake
        self.connect = connect
        self.failures = 0
        self._unrecorded = _Unrecorded()
        self._connection: ImapConnection | None = None

    def run(self, once: bool = False) -> bool:
        """Poll, then wait for mail, until `stop` is set; with `once`, poll once. Returns
        whether the last poll succeeded."""
        succeeded = False
        try:
            while not self.stop.is_set():
                succeeded = self._attempt(self._poll)
                if once:
                    break
                if succeeded:
                    succeeded = self._attempt(self._wait)
                if not succeeded:
                    delay = retry_delay(self.failures, self.settings.retry_initial_seconds,
                                        self.settings.retry_max_seconds)
                    log.info("imap %s: next attempt in %.1f s", self.settings.name, delay)
                    self.stop.wait(delay)
        finally:
            self._disconnect()
        return succeeded

    def _attempt(self, step: Callable[[], None]) -> bool:
        try:
            step()
        except (MailboxError, SQLAlchemyError) as exc:
            self._failed(exc)
            return False
        return True

    def _poll(self) -> None:
        with self.transaction() as session:   # the database first: if it is down, touch nothing
            stored = read_position(session, CHANNEL, self.settings.name)
        if self._connection is None:
            self._connection = self.connect(self.settings)
            log.info("imap %s: connected to %s (%s)", self.settings.name,
                     self.settings.address, self._connection.method.value)
        connection = self._connection
        start = start_position(stored, connection.select())
        position = start.position
        if start.notice:
            log.warning("imap %s: %s", self.settings.name, start.notice)
            with self.transaction() as session:
                record_notice(session, CHANNEL, self.settings.name, start.notice, self.clock())
                record_position(session, CHANNEL, self.settings.name, position, 0, self.clock())
        sizes = connection.sizes(connection.uids_after(position.last_uid))
        for batch in plan_batches(sizes, self.settings.max_message_bytes):
            if self.stop.is_set():
                break
            position = self._take_in(connection, batch, sizes, position)
            if position.last_uid < batch.uids[-1]:
                break   # the server did not return a message: the next poll starts there
        with self.transaction() as session:
            self._record_failures(session)
            record_position(session, CHANNEL, self.settings.name, position, 0, self.clock())
            record_success(session, CHANNEL, self.settings.name, self.clock())
        self._unrecorded = _Unrecorded()
        self.failures = 0

    def _take_in(self, connection: ImapConnection, batch: Batch, sizes: dict[int, int],
                 position: Position) -> Position:
        raws = connection.raw_messages(batch.take)
        headers = connection.headers(list(batch.set_aside))
        taken = sorted(raws)
        now = self.clock()
        with self.transaction() as session:
            archived = archive_many(session, [Intake(raws[uid], CHANNEL,
                                                     sender_address(raws[uid]))
                                              for uid in taken], now)
            records = dict(zip(sorted(headers), archive_failed(session, [
                (Intake(headers[uid], CHANNEL, sender_address(headers[uid])),
                 oversize_reason(sizes[uid], self.settings.max_message_bytes,
                                 self.settings.failed_folder))
                for uid in sorted(headers)], now), strict=True))
        connection.move(taken, self.settings.processed_folder)
        connection.move(list(batch.set_aside), self.settings.failed_folder)
        new = [a.message_id for a in archived if a.duplicate_of is None]
        after = Position(position.uidvalidity,
                         handled_up_to(batch.uids, [*taken, *batch.set_aside], position.last_uid))
        with self.transaction() as session:
            record_position(session, CHANNEL, self.settings.name, after, len(taken), now)
            if batch.set_aside:
                record_notice(session, CHANNEL, self.settings.name,
                              self._set_aside_notice(batch, sizes, records), now)
        for uid, result in zip(taken, archived, strict=True):
            log.info("imap %s: UID %d archived as message #%d%s, moved to %r",
                     self.settings.name, uid, result.message_id,
                     f" (duplicate of #{result.duplicate_of})" if result.duplicate_of else "",
                     self.settings.processed_folder)
        if new:
            self.wake(new)
        return after

    def _set_aside_notice(self, batch: Batch, sizes: dict[int, int],
                          records: dict[int, Archived]) -> str:
        listed = ", ".join(
            f"UID {uid} ({sizes[uid]} bytes"
            + (f", header archived as message #{records[uid].message_id})" if uid in records
               else ", header not returned by the server)")
            for uid in batch.set_aside)
        notice = (f"over max_message_bytes {self.settings.max_message_bytes}: {listed}; moved "
                  f"to {self.settings.failed_folder!r} without being downloaded whole (the "
                  "server keeps them)")
        log.warning("imap %s: %s", self.settings.name, notice)
        return notice

    def _wait(self) -> None:
        connection = self._connection
        if connection is not None and connection.can_idle:
            connection.wait_for_mail(self.settings.idle_seconds, self.stop)
        else:
            self.stop.wait(self.settings.poll_seconds)

    def _failed(self, exc: MailboxError | SQLAlchemyError) -> None:
        self.failures += 1
        error = describe(exc)
        now = self.clock()
        self._unrecorded.count += 1
        self._unrecorded.error, self._unrecorded.at = error, now
        log.warning("imap %s: %s (%d failure(s) in a row)", self.settings.name, error,
                    self.failures)
        self._disconnect()
        try:
            with self.transaction() as session:
                self._record_failures(session)
            self._unrecorded = _Unrecorded()
        except SQLAlchemyError as db_exc:
            log.warning("imap %s: the failure cannot be recorded either: %s",
                        self.settings.name, describe(db_exc))

    def _record_failures(self, session: Session) -> None:
        """Write the failures not yet recorded; the caller forgets them once it committed."""
        pending = self._unrecorded
        if pending.count and pending.at is not None:
            record_failure(session, CHANNEL, self.settings.name, pending.error, pending.at,
                           pending.count, self.clock())

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def describe(exc: MailboxError | SQLAlchemyError) -> str:
    """One line for the log and the status table. A database error's statement and
    parameters (which may hold message bytes) are left out: the driver's message only."""
    if isinstance(exc, DBAPIError):
        detail = str(exc.orig) if exc.orig is not None else type(exc).__name__
        kind = ("database unavailable" if isinstance(exc, OperationalError | InterfaceError)
                else "database error")
        return f"{kind}: {detail}".splitlines()[0][:500]
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {type(exc).__name__}"
    return f"mailbox: {exc}"
