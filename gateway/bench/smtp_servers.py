"""`gateway bench smtp`, the servers: each side of the benchmark runs in a subprocess of its
own (a fresh interpreter, as `gateway smtp` is one), started by `running_server`.

- bare: aiosmtpd with a handler that writes each message to a file of its own and fsyncs it
  before the `250` (`FsyncFileHandler`);
- gateway: the server `gateway smtp` builds (`build_server`) on a fresh database, default
  settings, logging at INFO to a file, its in-process worker not running (in production
  processing is a separate worker process): the messages stay `received`;
- with worker: the same with the worker running alongside, woken after every commit, as
  `gateway smtp` does on one machine (information, not the target);
- postgresql: the gateway side on a scratch PostgreSQL database (information).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.bench.common import BenchmarkError
from gateway.bench.smtp_traffic import RECIPIENT
from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings, SmtpSettings

BARE, GATEWAY, WITH_WORKER, POSTGRES = "bare", "gateway", "worker", "postgresql"


class FsyncFileHandler:
    """The baseline: each message written to a file of its own and fsynced before the 250; the
    write runs in a thread, as the gateway's commit does, so concurrent sessions overlap."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        assert raw is not None
        self._count += 1
        path = self._folder / f"{self._count:06d}.eml"
        await asyncio.get_running_loop().run_in_executor(None, _write_synced, path, raw)
        return "250 2.0.0 OK"


def _write_synced(path: Path, raw: bytes) -> None:
    with path.open("xb") as file:
        file.write(raw)
        file.flush()
        os.fsync(file.fileno())


def serve_child() -> None:
    """The subprocess: `side folder [database_url]`. Prints `ready PORT` once it listens and
    stops when a line arrives on stdin (or stdin closes), after the messages under way."""
    side, folder = sys.argv[1], Path(sys.argv[2])
    from gateway.bootstrap import configure_logging, tune_garbage_collector

    tune_garbage_collector()  # as the `gateway` entry point does
    configure_logging()  # as `gateway smtp` does: INFO, JSON lines on stderr (a file here)
    if side == BARE:
        asyncio.run(_serve_bare(folder))
    else:
        _serve_gateway(side, sys.argv[3])


def _on_ready(port: int) -> None:
    print(f"ready {port}", flush=True)


def _stop_on_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def wait() -> None:
        sys.stdin.readline()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, daemon=True).start()


async def _serve_bare(folder: Path) -> None:
    loop = asyncio.get_running_loop()
    handler = FsyncFileHandler(folder)
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=SmtpSettings().max_size, enable_SMTPUTF8=True,
                     decode_data=False, hostname="mx.bench.example", loop=loop),
        "127.0.0.1", 0)
    stop = asyncio.Event()
    _stop_on_stdin(loop, stop)
    _on_ready(int(server.sockets[0].getsockname()[1]))
    await stop.wait()
    server.close()
    await server.wait_closed()


def _serve_gateway(side: str, database_url: str) -> None:
    from gateway.channels.smtp import build_server
    from gateway.services.intake_worker import ReceivedWorker

    engine = make_engine(Settings(database_url))
    transaction = make_session_factory(engine).begin
    now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
    worker = ReceivedWorker(transaction, ["smtp"], lambda: now().date(), now)
    settings = SmtpSettings(host="127.0.0.1", port=0, recipients=(RECIPIENT,))
    server = build_server(settings, transaction, now, "mx.bench.example",
                          worker.wake if side == WITH_WORKER else lambda _ids: None)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_stdin(asyncio.get_running_loop(), stop)
        await server.serve(stop, _on_ready)

    if side == WITH_WORKER:
        worker.start()
    try:
        asyncio.run(main())
    finally:
        worker.stop()
        engine.dispose()


@contextmanager
def running_server(side: str, folder: Path, database_url: str | None) -> Iterator[int]:
    """A server subprocess; yields its port, then stops it and waits for it to exit."""
    log_path = folder / "server.log"
    with log_path.open("w") as log_file:
        # -P: `-c` would put the working directory first on the path, and run from a checkout
        # the server would import the plain sources instead of the build being measured.
        command = [sys.executable, "-P", "-c", "from gateway.bench.smtp_servers import "
                   "serve_child; serve_child()", side, str(folder),
                   *([database_url] if database_url else [])]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=log_file, text=True)
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            port = _await_ready(process.stdout, log_path)
            yield port
            process.stdin.write("stop\n")
            process.stdin.close()
            if process.wait(120):
                raise BenchmarkError(f"the {side} server exited {process.returncode}:\n"
                                     f"{_tail(log_path)}")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _await_ready(stdout: IO[str], log_path: Path) -> int:
    line = stdout.readline()
    if not line.startswith("ready "):
        raise BenchmarkError(f"the server did not start:\n{_tail(log_path)}")
    return int(line.split()[1])


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
