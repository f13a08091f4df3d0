from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.ingress.stream import BUSY_PAUSE_SECONDS, GROUP, READ_BATCH, UpdateStream
from bot.metrics import Metrics
from bot.store.keys import Keys

STREAM = "t:{updates}"
BLOCK_MS = 20  # reads end often, so a test sees many of them in little time


class Sleeps:
    """The stream's sleep: real (its intervals are injected short), each call recorded, so a test waits for the
    stream's own timers (heartbeats, claim checks, busy pauses) instead of sleeping for a guessed time."""

    def __init__(self) -> None:
        self.seen: list[float] = []
        self._slept = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)
        self._slept.set()
        await asyncio.sleep(seconds)

    async def until(self, check: Callable[[list[float]], bool]) -> None:
        """Wait until the sleeps so far satisfy ``check``; fail after 5 s."""
        async with asyncio.timeout(5):
            while not check(self.seen):
                self._slept.clear()
                await self._slept.wait()

    async def more(self, count: int) -> None:
        """Wait until the stream has slept ``count`` more times."""
        target = len(self.seen) + count
        await self.until(lambda seen: len(seen) >= target)


def update_stream(redis: Redis, consumer: str = "live", *, claim_idle_ms: int = 200, block_ms: int = BLOCK_MS,
                  metrics: Metrics | None = None, concurrency: int = 256,
                  sleeps: Sleeps | None = None) -> UpdateStream:
    return UpdateStream(redis, Keys("t"), consumer, metrics or Metrics(), concurrency=concurrency,
                        claim_idle_ms=claim_idle_ms, block_ms=block_ms, sleep=sleeps or asyncio.sleep)


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


async def blocked_read(redis: Redis) -> bool:
    """Whether a client waits in XREADGROUP for new entries (Redis lists it as blocked)."""
    clients: list[dict[str, Any]] = await redis.client_list()
    return any(c.get("cmd") == "xreadgroup" and "b" in c.get("flags", "") for c in clients)


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
        await stream.submit({"update_id": 2})
        await eventually(lambda: len(process.calls) == 2)  # the stream went on while the first was held
        assert await pending(real_redis) == 2
        assert await real_redis.xlen(STREAM) == 2
        process.release.set()
        await eventually(lambda: settled(real_redis))
    assert sorted(process.finished) == [1, 2]


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
    sleeps = Sleeps()
    busy = update_stream(real_redis, "busy", claim_idle_ms=450)
    idle = update_stream(real_redis, "idle", claim_idle_ms=450, sleeps=sleeps)
    work, other = Recorder(hold=True), Recorder()
    await busy.submit({"update_id": 1})
    async with consuming(busy, work):
        await eventually(lambda: work.calls == [(1, False)])
        async with consuming(idle, other):
            # Four looks for abandoned entries, each about 0.3 s after the last (the busy replica's heartbeat keeps
            # its entry under 0.15 s idle): a few claim_idle periods, and many XREADGROUP blocks.
            await sleeps.until(lambda seen: len([s for s in seen if s != 0.15]) >= 4)
            work.release.set()
            await eventually(lambda: settled(real_redis))
    assert other.calls == []
    assert work.calls == [(1, False)]


async def test_a_taken_over_update_is_handled_as_taken_over_even_when_its_answer_is_stored(
        real_redis: Redis) -> None:
    """The conversation delivers a stored answer of a taken-over turn (its final edit may never have landed)."""
    await abandon(real_redis, 1)
    await real_redis.set("t:done:1", '{"text": "stored", "ending": "complete"}')
    stream, process = update_stream(real_redis, claim_idle_ms=100), Recorder()
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == [(1, True)]


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
    stopping = asyncio.create_task(stream.stop(grace=5))
    await asyncio.sleep(0)
    assert not stopping.done()
    process.release.set()
    await stopping
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
    sleeps = Sleeps()
    stream = update_stream(real_redis, concurrency=2, claim_idle_ms=60, sleeps=sleeps)
    process = Recorder(hold=True)
    for update_id in range(1, 5):
        await stream.submit({"update_id": update_id})
    async with consuming(stream, process):
        await eventually(lambda: len(process.calls) == 2)
        await sleeps.more(3)  # three heartbeats later: time enough to have taken more
        assert len(process.calls) == 2
        assert await pending(real_redis) == 2  # the other two were not even read
        process.release.set()
        await eventually(lambda: settled(real_redis))
    assert sorted(process.finished) == [1, 2, 3, 4]


async def test_after_stop_no_new_update_is_taken(real_redis: Redis) -> None:
    stream, process = update_stream(real_redis), Recorder()
    running = asyncio.create_task(stream.run(process))
    await eventually(lambda: blocked_read(real_redis))  # waiting for new entries
    await stream.stop(grace=1)
    await update_stream(real_redis, "webhook").submit({"update_id": 9})
    await asyncio.wait_for(running, timeout=5)
    assert process.calls == []
    assert (await pending(real_redis), await real_redis.xlen(STREAM)) == (0, 1)  # there for the other replicas


async def test_a_busy_replica_takes_a_batch_and_leaves_the_rest_to_an_idle_one(real_redis: Redis) -> None:
    submitter = update_stream(real_redis, "webhook")
    for update_id in range(1, READ_BATCH + 11):
        await submitter.submit({"update_id": update_id})
    lagging = Metrics()
    lagging.latest_loop_lag = 1.0
    sleeps = Sleeps()
    # Both alive all along: no claim idle a stalled test process could outlast (each would take the other's).
    busy = update_stream(real_redis, "busy", metrics=lagging, sleeps=sleeps, claim_idle_ms=60_000)
    idle = update_stream(real_redis, "idle", claim_idle_ms=60_000)
    held, other = Recorder(hold=True), Recorder(hold=True)
    async with consuming(busy, held):
        await eventually(lambda: len(held.calls) == READ_BATCH)
        async with consuming(idle, other):
            await eventually(lambda: len(other.calls) == 10)
            await sleeps.until(lambda seen: seen.count(BUSY_PAUSE_SECONDS) >= 3)  # it looked, and let them be
            assert len(held.calls) == READ_BATCH  # busy with what it has: took nothing more
            held.release.set()
            other.release.set()
    assert sorted(held.finished + other.finished) == list(range(1, READ_BATCH + 11))


async def test_stop_ends_a_read_that_waits_for_new_updates(real_redis: Redis) -> None:
    stream = update_stream(real_redis, block_ms=60_000)
    running = asyncio.create_task(stream.run(Recorder()))
    await eventually(lambda: blocked_read(real_redis))
    await asyncio.wait_for(stream.stop(grace=30), timeout=5)  # not a minute later, when the read would end
    await asyncio.wait_for(running, timeout=5)


async def test_an_update_handed_to_a_read_that_stop_cut_off_is_still_answered_by_this_replica(
        real_redis: Redis) -> None:
    await update_stream(real_redis, "webhook").submit({"update_id": 1})
    await real_redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await real_redis.xreadgroup(GROUP, "live", {STREAM: ">"})  # handed to "live", whose reply never arrived
    stream, process = update_stream(real_redis, "live", claim_idle_ms=60_000, block_ms=60_000), Recorder()
    running = asyncio.create_task(stream.run(process))
    await eventually(lambda: blocked_read(real_redis))
    await stream.stop(grace=5)
    await asyncio.wait_for(running, timeout=5)
    assert process.calls == [(1, True)]
    assert await settled(real_redis)


async def test_an_abandoned_update_is_taken_over_while_the_read_waits_for_new_ones(real_redis: Redis) -> None:
    await abandon(real_redis, 1)
    stream, process = update_stream(real_redis, claim_idle_ms=100, block_ms=60_000), Recorder()
    async with consuming(stream, process):
        await eventually(lambda: settled(real_redis))
    assert process.calls == [(1, True)]


async def test_an_idle_replica_looks_for_abandoned_updates_again_when_one_can_have_been_idle_long_enough(
        real_redis: Redis) -> None:
    await abandon(real_redis, 1)
    entry_id = (await real_redis.xinfo_stream(STREAM))["first-entry"][0]
    await real_redis.xclaim(STREAM, GROUP, "dead", 0, [entry_id], idle=45_000, justid=True)  # idle for 45 s
    sleeps = Sleeps()
    stream = update_stream(real_redis, claim_idle_ms=60_000, sleeps=sleeps)  # heartbeat: every 20 s
    async with consuming(stream, Recorder()):
        await sleeps.until(lambda seen: len(seen) >= 2)
    [next_look] = [s for s in sleeps.seen if s != 20.0]
    assert 14.0 < next_look <= 15.0


async def test_with_nothing_pending_an_idle_replica_looks_again_only_after_a_whole_claim_idle(
        real_redis: Redis) -> None:
    sleeps = Sleeps()
    stream = update_stream(real_redis, claim_idle_ms=60_000, sleeps=sleeps)
    async with consuming(stream, Recorder()):
        await sleeps.until(lambda seen: len(seen) >= 2)
    assert sorted(sleeps.seen) == [20.0, 60.0]  # the heartbeat's period, and the next look for abandoned ones
