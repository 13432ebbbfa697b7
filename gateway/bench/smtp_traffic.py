"""`gateway bench smtp`, the traffic: the messages sent, the clients that send them, and the
check that every message was kept exactly once.

The messages are seeded (every run sends the same bytes), about 20 KB each, shaped as suppliers
send them. The clients are threads of the bench process, one smtplib connection each, sending
their share one after the other; the clock starts once every client has connected and said
EHLO, and stops at the last reply. Afterwards every message's sha256 is looked for among the
files or rows the server kept.
"""

from __future__ import annotations

import base64
import hashlib
import random
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from gateway.bench.common import BenchmarkError
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.persistence.models import InboundMessage

MESSAGE_BYTES = 20_000
SEED = 2525
RECIPIENT = "orders@buyer.example"
SENDER = "edi@supplier.example"


# -- the messages -------------------------------------------------------------------------------


def make_messages(count: int, size: int = MESSAGE_BYTES, seed: int = SEED) -> list[bytes]:
    """`count` distinct messages of `size` bytes as they are stored (CRLF line ends, the last
    line ended): a short text part and a base64 EDIFACT-like attachment, as suppliers send them.
    Seeded, so every run sends the same bytes."""
    rng = random.Random(seed)
    return [_message(index, size, rng) for index in range(count)]


def _message(index: int, size: int, rng: random.Random) -> bytes:
    head = (f"From: Supplier <{SENDER}>\r\nTo: <{RECIPIENT}>\r\n"
            f"Subject: DESADV {index:06d}\r\nMessage-ID: <{index}.bench@supplier.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nDespatch advice attached.\r\n"
            # A line that starts with a dot: dot-stuffed on the wire (RFC 5321 4.5.2).
            ".signature: the supplier's EDI desk\r\n"
            "--b\r\nContent-Type: application/EDIFACT\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\n").encode()
    tail = b"--b--\r\n"
    room = max(size - len(head) - len(tail), 0)
    text = base64.b64encode(rng.randbytes(room))
    # Lines of 76 base64 characters and CRLF; the last one takes what is left of `size`.
    lines: list[bytes] = []
    while room > 80:
        lines.append(text[len(lines) * 76 : (len(lines) + 1) * 76] + b"\r\n")
        room -= 78
    if room > 2:
        lines.append(text[len(lines) * 76 : len(lines) * 76 + room - 2] + b"\r\n")
    return head + b"".join(lines) + tail


# -- did every message arrive once? ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """The messages sent against the ones the server kept, compared by sha256."""

    sent: int
    stored: int
    missing: int
    duplicated: int
    unexpected: int

    @property
    def lossless(self) -> bool:
        return self.missing == self.duplicated == self.unexpected == 0 and \
            self.sent == self.stored


def check_delivery(sent: Iterable[bytes], stored: Iterable[bytes]) -> DeliveryCheck:
    expected = Counter(hashlib.sha256(raw).hexdigest() for raw in sent)
    found = Counter(hashlib.sha256(raw).hexdigest() for raw in stored)
    missing = sum((expected - found).values())
    extra = found - expected
    duplicated = sum(count for digest, count in extra.items() if digest in expected)
    return DeliveryCheck(sum(expected.values()), sum(found.values()), missing, duplicated,
                         sum(extra.values()) - duplicated)


def stored_in_files(folder: Path) -> Iterator[bytes]:
    for path in sorted(folder.glob("*.eml")):
        yield path.read_bytes()


def stored_in_database(database_url: str) -> Iterator[bytes]:
    engine = make_engine(Settings(database_url))
    try:
        with make_session_factory(engine)() as session:
            yield from session.scalars(select(InboundMessage.raw).order_by(InboundMessage.id))
    finally:
        engine.dispose()


# -- the clients ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientRun:
    seconds: float
    latencies: list[float]
    refused: list[str]


def share(messages: Sequence[bytes], clients: int) -> list[list[bytes]]:
    """Each client's messages, dealt round-robin."""
    return [list(messages[number::clients]) for number in range(clients)]


def send_all(port: int, messages: Sequence[bytes], clients: int) -> ClientRun:
    """Every message through `clients` concurrent smtplib connections; timed from the moment all
    are connected to the last reply. A refusal is recorded, not raised."""
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))
    latencies: list[list[float]] = [[] for _ in range(clients)]
    refused: list[str] = []
    finished: list[float] = []
    errors: list[BaseException] = []

    def client(number: int, mine: list[bytes]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.supplier.example",
                              timeout=120) as connection:
                connection.ehlo()
                barrier.wait(60)
                for raw in mine:
                    begin = time.perf_counter()
                    try:
                        connection.sendmail(SENDER, [RECIPIENT], raw)
                    except smtplib.SMTPResponseException as exc:
                        refused.append(f"{exc.smtp_code} {exc.smtp_error!r}")
                    latencies[number].append(time.perf_counter() - begin)
                finished.append(time.perf_counter())
        except (OSError, smtplib.SMTPException, threading.BrokenBarrierError) as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(number, mine), name=f"bench-client-{number}")
               for number, mine in enumerate(share(messages, clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchmarkError(f"a client failed: {errors[0]!r}")
    return ClientRun(max(finished) - started[0], [t for ts in latencies for t in ts], refused)
