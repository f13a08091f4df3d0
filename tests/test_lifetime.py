from __future__ import annotations

import asyncio

import pytest

from bot.lifetime import stop, unless_set


async def test_a_running_task_is_cancelled_and_waited_for() -> None:
    ended = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.set()

    task = asyncio.create_task(forever())
    await asyncio.sleep(0)
    await stop(task)
    assert task.cancelled() and ended.is_set()


async def test_the_owners_own_cancellation_is_not_swallowed() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # cleanup under way while the owner is cancelled
            raise

    async def owner() -> str:
        child = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0)
        await stop(child)
        return "carried on"

    running = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_task_that_had_failed_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("edit failed")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    await stop(task)
    assert [r.getMessage() for r in caplog.records] == ["a task failed before it was stopped: RuntimeError"]
    await stop(None)


async def test_unless_set_runs_work_to_its_end_or_cancels_it_when_the_event_is_set() -> None:
    finished: list[str] = []

    async def work(seconds: float) -> None:
        await asyncio.sleep(seconds)
        finished.append("done")

    assert await unless_set(work(0), asyncio.Event()) is False
    event = asyncio.Event()
    asyncio.get_running_loop().call_soon(event.set)
    assert await unless_set(work(30), event) is True
    assert finished == ["done"]
