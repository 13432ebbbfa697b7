"""Calls from the event loop to the web context's threads (`gateway.web.threads`)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.web.threads import WorkerThreads


def _named(prefix: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


def test_a_call_returns_its_result_from_another_thread() -> None:
    threads = WorkerThreads(2, "test-result")

    async def main() -> tuple[int, str]:
        return await threads.call(lambda a, b: a + b, 2, 3), await threads.call(
            lambda: threading.current_thread().name)

    try:
        total, name = asyncio.run(main())
        assert total == 5
        assert name.startswith("test-result-")
        assert name != threading.current_thread().name
    finally:
        threads.shutdown()


def test_an_exception_is_raised_in_the_awaiting_task_and_the_thread_goes_on() -> None:
    threads = WorkerThreads(1, "test-raise")

    def fail() -> None:
        raise LookupError("no such page")

    async def main() -> str:
        with pytest.raises(LookupError, match="no such page"):
            await threads.call(fail)
        return await threads.call(lambda: "still serving")

    try:
        assert asyncio.run(main()) == "still serving"
    finally:
        threads.shutdown()


def test_calls_run_side_by_side_up_to_the_number_of_threads() -> None:
    threads = WorkerThreads(3, "test-side")
    together = threading.Barrier(3, timeout=10)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(threads.call(together.wait) for _ in range(3))))

    try:
        assert sorted(asyncio.run(main())) == [0, 1, 2]
    finally:
        threads.shutdown()


def test_a_cancelled_caller_leaves_the_thread_serving() -> None:
    threads = WorkerThreads(1, "test-cancel")
    release = threading.Event()

    async def main() -> str:
        waiting = asyncio.ensure_future(threads.call(release.wait, 10))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        return await threads.call(lambda: "next")

    try:
        assert asyncio.run(main()) == "next"
    finally:
        threads.shutdown()


def test_threads_start_at_the_first_call_and_end_at_shutdown() -> None:
    threads = WorkerThreads(2, "test-life")
    assert _named("test-life") == []

    async def main() -> None:
        await threads.call(lambda: None)

    asyncio.run(main())
    started = _named("test-life")
    assert len(started) == 2
    threads.shutdown()
    for thread in started:
        thread.join(timeout=10)
        assert not thread.is_alive()
