from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.ingress.stream import GROUP, READ_BATCH, UpdateStream
from bot.metrics import Metrics
from bot.store.keys import Keys

STREAM = "t:{updates}"


def update_stream(redis: Redis, consumer: str = "live", *, claim_idle_ms: int = 200,
                  metrics: Metrics | None = None) -> UpdateStream:
    return UpdateStream(redis, Keys("t"), consumer, metrics or Metrics(), claim_idle_ms=claim_idle_ms)


class Recorder:
    """A process callback that remembers (update_id, taken_over) and can be held until released."""

    def __init__(self, *, hold: bool = False, failing: frozenset[int] = frozenset()) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.finished: list[int] = []
        self.release = asyncio.Event()
        self._hold = hold
        self._failing = failing
        if not hold:
            self.release.set()

    async def __call__(self, data: dict[str, Any], taken_over: bool) -> None:
        update_id = int(data["update_id"])
        self.calls.append((update_id, taken_over))
        if update_id in self._failing:
            raise RuntimeError("poisonous update")
        await self.release.wait()
        self.finished.append(update_id)


@asynccontextmanager
async def consuming(stream: UpdateStream, process: Recorder, grace: float = 5.0) -> AsyncIterator[None]:
    running = asyncio.create_task(stream.run(process))
    try:
        yield
    finally:
        await stream.stop(grace)
        await asyncio.wait_for(running, timeout=5)


async def eventually(check: Callable[[], bool | Awaitable[bool]]) -> None:
    """Wait until ``check`` holds; fail after 5 s."""
    for _ in range(500):
        if await _value(check()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else result


async def pending(redis: Redis) -> int:
    summary: dict[str, Any] = await redis.xpending(STREAM, GROUP)
    return int(summary["pending"])


async def settled(redis: Redis) -> bool:
    """Nothing pending, nothing left in the stream."""
    return await redis.xlen(STREAM) == 0 and await pending(redis) == 0


async def abandon(redis: Redis, *update_ids: int) -> None:
    """Queue updates that a replica read and then died with (read, never acknowledged)."""
    submitter = update_stream(redis, "webhook")
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for update_id in update_ids:
        await submitter.submit({"update_id": update_id})
    await redis.xreadgroup(GROUP, "dead", {STREAM: ">"})


async def test_an_update_is_queued_once_and_a_repeat_is_counted_as_duplicate(real_redis: Redis) -> None:
    metrics = Metrics()
    stream = update_stream(real_redis, metrics=metrics)
    assert await stream.submit({"update_id": 1, "message": {"text": "hi"}}) is True
    assert await stream.submit({"update_id": 1, "message": {"text": "hi"}}) is False
    assert await stream.submit({"update_id": 2}) is True
    assert await real_redis.xlen(STREAM) == 2
    assert metrics.registry.get_sample_value("bot_updates_duplicate_total") == 1
    assert metrics.registry.get_sample_value("bot_updates_received_total") == 3


async def test_an_update_is_remembered_as_seen_for_a_day(real_redis: Redis) -> None:
    stream = update_stream(real_redis)
    await stream.submit({"update_id": 7})
    assert 24 * 3600 - 60 < await real_redis.ttl(Keys("t").seen(7)) <= 24 * 3600


async def test_each_update_is_processed_and_acknowledged_only_after_processing_returns(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder(hold=True)
    await stream.submit({"update_id": 1, "message": {"text": "hi"}})
    async with consuming(stream, process):
        await eventually(lambda: process.calls == [(1, False)])
        await asyncio.sleep(0.1)
        assert await pending(real_redis) == 1
        assert await real_redis.xlen(STREAM) == 1
        process.release.set()
        await eventually(lambda: settled(real_redis))
    assert process.finished == [1]


async def test_an_update_abandoned_by_a_dead_replica_is_taken_over(real_redis: Redis) -> None:
    await abandon(real_redis, 1)
    stream, process = update_stream(real_redis, claim_idle_ms=100), Recorder()
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == [(1, True)]


async def test_a_fresh_pending_update_is_not_taken_before_it_has_been_idle_long_enough(real_redis: Redis) -> None:
    await abandon(real_redis, 1)
    stream, process = update_stream(real_redis, claim_idle_ms=60_000), Recorder()
    await stream.submit({"update_id": 2})
    async with consuming(stream, process):
        await eventually(lambda: process.finished == [2])
    assert process.calls == [(2, False)]
    assert await pending(real_redis) == 1


async def test_a_long_update_is_not_taken_from_a_live_replica(real_redis: Redis) -> None:
    busy, idle = update_stream(real_redis, "busy", claim_idle_ms=150), update_stream(real_redis, "idle",
                                                                                      claim_idle_ms=150)
    work, other = Recorder(hold=True), Recorder()
    await busy.submit({"update_id": 1})
    async with consuming(busy, work):
        await eventually(lambda: work.calls == [(1, False)])
        async with consuming(idle, other):
            await asyncio.sleep(1.5)  # many claim_idle periods, and more than one XREADGROUP block
            work.release.set()
            await eventually(lambda: settled(real_redis))
    assert other.calls == []
    assert work.calls == [(1, False)]


async def test_a_taken_over_update_that_was_already_answered_is_acknowledged_without_answering_again(
        real_redis: Redis) -> None:
    await abandon(real_redis, 1)
    await real_redis.set("t:done:1", 1)
    stream, process = update_stream(real_redis, claim_idle_ms=100), Recorder()
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == []


async def test_a_fresh_update_is_processed_even_if_marked_done(real_redis: Redis) -> None:
    await real_redis.set("t:done:1", 1)
    stream, process = update_stream(real_redis), Recorder()
    await stream.submit({"update_id": 1})
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == [(1, False)]


async def test_an_update_that_fails_is_dropped_and_does_not_block_later_ones(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder(failing=frozenset({1}))
    await stream.submit({"update_id": 1})
    await stream.submit({"update_id": 2})
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert sorted(process.calls) == [(1, False), (2, False)]
    assert process.finished == [2]


async def test_an_entry_no_replica_can_read_is_dropped_once_with_a_warning(
    real_redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    stream, process = update_stream(real_redis), Recorder()
    await real_redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    unreadable = [{"u": "not json"}, {"u": "[1]"}, {"other": "field"}, {"u": '{"update_id": "3"}'},
                  {"u": '{"update_id": 4, "message": {"chat": {"id": "x"}}}'}]
    for fields in unreadable:
        await real_redis.xadd(STREAM, fields)  # type: ignore[arg-type]
    await stream.submit({"update_id": 5})
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == [(5, False)]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot.")]
    assert [r.getMessage() for r in warnings] == ["unreadable update stream entry dropped"] * len(unreadable)


async def test_stop_waits_for_running_updates_to_finish(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder(hold=True)
    await stream.submit({"update_id": 1})
    running = asyncio.create_task(stream.run(process))
    await eventually(lambda: process.calls == [(1, False)])
    asyncio.get_running_loop().call_later(0.1, process.release.set)
    await stream.stop(grace=5)
    assert process.finished == [1]
    assert await settled(real_redis)
    await asyncio.wait_for(running, timeout=5)


async def test_stop_leaves_an_update_that_outlasts_the_grace_pending_for_another_replica(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder(hold=True)
    await stream.submit({"update_id": 1})
    running = asyncio.create_task(stream.run(process))
    await eventually(lambda: process.calls == [(1, False)])
    await stream.stop(grace=0.1)
    await asyncio.wait_for(running, timeout=5)
    assert process.finished == []
    assert await pending(real_redis) == 1
    assert await real_redis.xlen(STREAM) == 1
    assert stream.in_flight == 0


async def test_what_was_kept_for_a_takeover_is_deleted_with_the_acknowledgement(real_redis: Redis) -> None:
    seen_while_running: list[int] = []

    async def process(data: dict[str, Any], taken_over: bool) -> None:
        seen_while_running.append(await real_redis.exists(f"t:reply:{data['update_id']}"))

    stream = update_stream(real_redis)
    await real_redis.set("t:reply:1", "kept")
    await real_redis.set("t:reply:2", "another update's")
    await stream.submit({"update_id": 1})
    running = asyncio.create_task(stream.run(process))
    try:
        await eventually(lambda: settled(real_redis))
    finally:
        await stream.stop(5)
        await asyncio.wait_for(running, timeout=5)
    assert seen_while_running == [1]
    assert await real_redis.exists("t:reply:1") == 0
    assert await real_redis.get("t:reply:2") == "another update's"



async def test_no_more_updates_run_at_once_than_the_concurrency_allows(real_redis: Redis) -> None:
    stream, process = UpdateStream(real_redis, Keys("t"), "live", Metrics(), concurrency=2), Recorder(hold=True)
    for update_id in range(1, 5):
        await stream.submit({"update_id": update_id})
    async with consuming(stream, process):
        await eventually(lambda: len(process.calls) == 2)
        await asyncio.sleep(0.2)
        assert len(process.calls) == 2
        process.release.set()
        await eventually(lambda: settled(real_redis))
    assert sorted(process.finished) == [1, 2, 3, 4]


async def test_after_stop_no_new_update_is_taken(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder()
    running = asyncio.create_task(stream.run(process))
    await asyncio.sleep(0.3)  # waiting for new entries
    await stream.stop(grace=1)
    await update_stream(real_redis, "webhook").submit({"update_id": 9})
    await asyncio.wait_for(running, timeout=5)
    await asyncio.sleep(0.1)
    assert process.calls == []


async def test_a_busy_replica_takes_a_batch_and_leaves_the_rest_to_an_idle_one(real_redis: Redis) -> None:
    submitter = update_stream(real_redis, "webhook")
    for update_id in range(1, READ_BATCH + 11):
        await submitter.submit({"update_id": update_id})
    lagging = Metrics()
    lagging.latest_loop_lag = 1.0
    busy = UpdateStream(real_redis, Keys("t"), "busy", lagging)
    idle = UpdateStream(real_redis, Keys("t"), "idle", Metrics())
    held, other = Recorder(hold=True), Recorder(hold=True)
    async with consuming(busy, held):
        await eventually(lambda: len(held.calls) == READ_BATCH)
        async with consuming(idle, other):
            await eventually(lambda: len(other.calls) == 10)
            await asyncio.sleep(0.2)
            assert len(held.calls) == READ_BATCH  # busy with what it has: took nothing more
            held.release.set()
            other.release.set()
    assert sorted(held.finished + other.finished) == list(range(1, READ_BATCH + 11))
