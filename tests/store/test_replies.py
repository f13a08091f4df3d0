from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.replies import Owner, Record, Replies

ASKER = Owner(chat_id=-100, user_id=7)


async def test_a_running_answer_is_found_here_and_from_another_replica_once_it_shows_a_message(
        redis: Redis) -> None:
    here, there = Replies(redis, Keys("t")), Replies(redis, Keys("t"))
    here.open(1, ASKER, asyncio.Event())
    assert await here.find(1) == Record(-100, 7)
    assert await there.find(1) is None  # nothing visible yet, so nothing to stop from elsewhere
    await here.remember(1, ASKER, [10, 11])
    assert await there.find(1) == Record(-100, 7, (10, 11))
    assert 0 < await redis.ttl(here.key(1)) <= 3600


async def test_a_stop_pressed_on_another_replica_reaches_the_running_answer(real_redis: Redis) -> None:
    here, there = Replies(real_redis, Keys("t")), Replies(real_redis, Keys("t"))
    stop = asyncio.Event()
    here.open(2, ASKER, stop)
    await here.remember(2, ASKER, [20])
    listening = asyncio.create_task(here.listen())
    try:
        await _subscribed(real_redis, "t:stops")
        await there.stop(2)
        await asyncio.wait_for(stop.wait(), timeout=5)
    finally:
        listening.cancel()


async def test_a_local_stop_needs_no_redis(redis: Redis) -> None:
    replies, stop = Replies(redis, Keys("t")), asyncio.Event()
    replies.open(3, ASKER, stop)
    await redis.aclose()
    await replies.stop(3)
    assert stop.is_set()


async def test_only_a_taken_over_update_adopts_the_earlier_messages_and_their_stop(redis: Redis) -> None:
    dead, survivor = Replies(redis, Keys("t")), Replies(redis, Keys("t"))
    await dead.remember(4, ASKER, [40, 41])
    await survivor.stop(4)  # pressed while no replica runs it
    assert await survivor.adopt(4) is None  # not marked as taken over: a fresh update costs no round trip
    survivor.taken_over(4)
    assert await survivor.adopt(4) == Record(-100, 7, (40, 41), stopped=True)


async def test_a_finished_answer_is_not_found(redis: Redis) -> None:
    replies = Replies(redis, Keys("t"))
    replies.open(5, ASKER, asyncio.Event())
    await replies.remember(5, ASKER, [50])
    replies.close(5)
    await redis.delete(replies.key(5))  # the ingress deletes it with the acknowledgement
    assert await replies.find(5) is None


async def _subscribed(redis: Redis, channel: str) -> None:
    for _ in range(100):
        counts = await redis.pubsub_numsub(channel)
        if counts and counts[0][1]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never subscribed")
