"""What the update stream and the Stop relay need from the embedded store (fakeredis, when REDIS_URL is unset).

Polling without REDIS_URL runs the same pipeline as production on it, so it must behave like Redis where the
stream relies on it: a blocking read that waits, takeovers, Lua scripts, pub/sub.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bot.ingress.stream import GROUP, UpdateStream
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.replies import Owner, Replies

KEYS = Keys("t")
UPDATE = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}}


async def test_a_blocking_read_of_an_empty_stream_waits_until_an_update_comes(redis: Redis) -> None:
    await redis.xgroup_create(KEYS.stream, GROUP, id="0", mkstream=True)
    read: asyncio.Task[Any] = asyncio.ensure_future(
        redis.xreadgroup(GROUP, "c", {KEYS.stream: ">"}, count=20, block=10_000))
    for _ in range(50):  # an in-process store answers within a few turns of the loop
        await asyncio.sleep(0)
    # fakeredis before 2.41 answered at once, empty: the stream's consumer then spun a core while idle.
    assert not read.done()
    assert await UpdateStream(redis, KEYS, "webhook", Metrics(), claim_idle_ms=10_000).submit(UPDATE)
    ((_, entries),) = await asyncio.wait_for(read, timeout=5)
    assert [fields for _, fields in entries] == [{"u": '{"update_id":1,"message":{"message_id":1,"date":0,'
                                                       '"chat":{"id":5,"type":"private"},"text":"hi"}}'}]


async def test_a_submitted_update_is_handled_and_acknowledged_off_the_stream_and_its_chat_line(
        redis: Redis) -> None:
    stream, handled = UpdateStream(redis, KEYS, "c", Metrics(), claim_idle_ms=10_000), asyncio.Event()

    async def process(data: dict[str, object], taken_over: bool) -> None:
        handled.set()

    consuming = asyncio.create_task(stream.run(process))
    assert await stream.submit(UPDATE) and not await stream.submit(UPDATE)  # the seen-set drops a repeat
    await asyncio.wait_for(handled.wait(), timeout=5)
    await stream.stop(5)
    await asyncio.wait_for(consuming, timeout=5)
    assert await redis.xlen(KEYS.stream) == 0
    assert (await redis.xpending(KEYS.stream, GROUP))["pending"] == 0
    assert await redis.keys(f"{KEYS.stream}:line:*") == []


async def test_entries_a_dead_consumer_left_are_claimed_and_then_kept_by_the_new_owners_heartbeat(
        redis: Redis) -> None:
    await redis.xgroup_create(KEYS.stream, GROUP, id="0", mkstream=True)
    ids: list[int | bytes | str | memoryview[int]] = [await redis.xadd(KEYS.stream, {"u": str(n)}) for n in range(3)]
    await redis.xreadgroup(GROUP, "dead", {KEYS.stream: ">"})
    _, claimed, _ = await redis.xautoclaim(KEYS.stream, GROUP, "live", min_idle_time=0, count=10)
    assert [entry_id for entry_id, _ in claimed] == ids
    assert await redis.xclaim(KEYS.stream, GROUP, "live", min_idle_time=0, message_ids=ids, justid=True) == ids
    pending = await redis.xpending_range(KEYS.stream, GROUP, "-", "+", 10)
    assert [p["consumer"] for p in pending] == ["live"] * 3


async def test_a_stop_published_on_the_channel_reaches_the_running_answer(redis: Redis) -> None:
    here, there, stop = Replies(redis, KEYS), Replies(redis, KEYS), asyncio.Event()
    here.open(2, Owner(chat_id=5, user_id=5), stop)
    listening = asyncio.create_task(here.listen())
    try:
        await _subscribed(redis, KEYS.stops)
        await there.stop(2)
        await asyncio.wait_for(stop.wait(), timeout=5)
    finally:
        listening.cancel()


async def _subscribed(redis: Redis, channel: str) -> None:
    for _ in range(1000):
        if (await redis.pubsub_numsub(channel))[0][1]:
            return
        await asyncio.sleep(0)
    raise AssertionError("never subscribed")
