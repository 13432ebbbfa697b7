"""Handing archived messages on: what a channel calls after the commit that stored them.

A channel archives, commits, answers (SMTP 250, IMAP move) and then calls
`Dispatcher.dispatch(ids)` (docs/architecture.md, "Archive before acknowledge": tasks only after
the commit that makes their work visible). Two kinds:

- `InProcessDispatcher` wakes the worker thread of the same process (the embedded default and
  any process without `GATEWAY_BROKER_URL`);
- `BatchPublisher` hands the ids to a thread that publishes them to the broker in batches of up
  to `batch_size` ids per task (one task per message would not keep up: docs/architecture.md,
  "Measured facts").

Neither can lose a message: the `received` row is the work. A publish that fails (the broker
is down, the process is killed before its batch went out) costs latency only: the sweeper
publishes every message still `received` some minutes after its commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.persistence.queries import chunked

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def dispatch(self, message_ids: Sequence[int]) -> None:
        """Called after the commit that stored the messages; returns at once."""


class InProcessDispatcher:
    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def dispatch(self, message_ids: Sequence[int]) -> None:
        if message_ids:
            self._wake()


class BatchPublisher:
    """Collects ids from any thread and publishes them from one thread of its own: a channel
    never waits for the broker. It waits `linger_seconds` after the first id so the ids of a
    burst travel together. At most `max_pending` ids wait; more are left to the sweeper."""

    def __init__(self, publish: Callable[[list[int]], None], batch_size: int = 200,
                 linger_seconds: float = 0.05, max_pending: int = 100_000) -> None:
        self._publish = publish
        self._batch_size = batch_size
        self._linger = linger_seconds
        self._max_pending = max_pending
        self._pending: list[int] = []
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="task-publisher", daemon=True)
        self.published = 0
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def dispatch(self, message_ids: Sequence[int]) -> None:
        with self._condition:
            room = max(0, self._max_pending - len(self._pending))
            if len(message_ids) > room:
                self.dropped += len(message_ids) - room
                log.warning("%d message id(s) not queued for publishing (%d waiting); the "
                            "sweeper will publish them", len(message_ids) - room,
                            len(self._pending))
            self._pending += message_ids[:room]
            self._condition.notify()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Publish what is waiting, then stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending:
                    return
                if not self._stopping and len(self._pending) < self._batch_size:
                    self._condition.wait(self._linger)
                taken, self._pending = self._pending, []
            self._send(taken)

    def _send(self, message_ids: list[int]) -> None:
        for batch in chunked(message_ids, self._batch_size):
            try:
                self._publish(batch)
            except Exception as exc:  # noqa: BLE001 - kombu raises each transport's own errors
                self.dropped += len(batch)
                log.warning("could not publish %d message id(s) (#%d-#%d): %s; they stay "
                            "`received` and the sweeper publishes them", len(batch), batch[0],
                            batch[-1], str(exc).splitlines()[0][:200] if str(exc) else
                            type(exc).__name__)
                continue
            self.published += len(batch)
