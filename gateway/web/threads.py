"""Calls from the event loop to a fixed set of threads, for work that must block (a
synchronous database driver).

The event loop's `run_in_executor` on a `ThreadPoolExecutor` builds a `concurrent.futures`
future per call (a condition variable and its locks), a work item, and chains that future to
an asyncio one through callbacks; measured under callgrind, about 115,000 instructions a
call on top of the work, against about 17,500 for a plain queue of jobs and a result handed
back with `call_soon_threadsafe` (docs/benchmarks.md, `gateway bench web`). The queue API
hands every page to a thread, so the difference is paid once a request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Job = Callable[[], None]

log = logging.getLogger(__name__)


class WorkerThreads:
    """`size` threads, started at the first call (never before: uvicorn forks its workers
    after the app is built, and threads do not survive a fork), each taking the next job
    from one queue. A call's result or exception is handed back to the awaiting task on its
    event loop; a task cancelled meanwhile (the client went away) is left alone, and the
    call still runs to its end in its thread."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._starting = threading.Lock()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in one of the threads; its result, or its exception raised."""
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = function(*args)
            except BaseException as exc:  # noqa: BLE001 - raised again in the awaiting task
                _hand_back(loop, _fail, future, exc)
            else:
                _hand_back(loop, _settle, future, result)

        self._jobs.put(job)
        return await future

    def shutdown(self) -> None:
        """Each thread ends after the job it is running (if any); nothing is waited for."""
        for _ in self._threads:
            self._jobs.put(None)
        self._threads = []

    def _start(self) -> None:
        with self._starting:
            if self._threads:
                return
            for number in range(self._size):
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"{self._name}-{number}")
                thread.start()
                self._threads.append(thread)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def _hand_back(loop: asyncio.AbstractEventLoop, settle: Callable[..., None],
               future: asyncio.Future[Any], value: object) -> None:
    try:
        loop.call_soon_threadsafe(settle, future, value)
    except RuntimeError:
        # The loop was closed while the job ran (the server stopping): no task awaits it.
        log.debug("a thread's result arrived after its event loop closed")


def _settle(future: asyncio.Future[Any], result: object) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
