from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.lock import ChatLock


def lock(redis: Redis, ttl: float = 5.0) -> ChatLock:
    return ChatLock(redis, Keys("t"), ttl_seconds=ttl, poll_seconds=0.01)


async def test_turns_of_one_chat_run_one_after_the_other_in_arrival_order(redis: Redis) -> None:
    chat_lock, log = lock(redis), []

    async def turn(name: str) -> None:
        async with chat_lock.hold(ChatKey(1)):
            log.append(f"{name} start")
            await asyncio.sleep(0.02)
            log.append(f"{name} end")

    await asyncio.gather(turn("a"), turn("b"), turn("c"))
    assert log == ["a start", "a end", "b start", "b end", "c start", "c end"]


async def test_two_replicas_never_overlap_on_one_chat(real_redis: Redis) -> None:
    replicas, inside, overlaps = [lock(real_redis), lock(real_redis)], [0], [0]

    async def turn(replica: ChatLock) -> None:
        async with replica.hold(ChatKey(1)):
            inside[0] += 1
            overlaps[0] += inside[0] > 1
            await asyncio.sleep(0.005)
            inside[0] -= 1

    await asyncio.gather(*(turn(replicas[i % 2]) for i in range(20)))
    assert overlaps[0] == 0


async def test_different_chats_do_not_wait_for_each_other(redis: Redis) -> None:
    chat_lock = lock(redis)
    async with chat_lock.hold(ChatKey(1)):
        async with asyncio.timeout(1):
            async with chat_lock.hold(ChatKey(2)):
                pass


async def test_a_lock_whose_holder_died_expires(real_redis: Redis) -> None:
    await real_redis.set(Keys("t").lock(ChatKey(1)), "dead-replica", px=200)
    async with asyncio.timeout(3):
        async with lock(real_redis).hold(ChatKey(1)) as lease:
            assert await real_redis.get(Keys("t").lock(ChatKey(1))) == lease.token
    assert await real_redis.get(Keys("t").lock(ChatKey(1))) is None


async def test_the_lock_is_renewed_while_a_long_turn_runs(real_redis: Redis) -> None:
    async with lock(real_redis, ttl=0.3).hold(ChatKey(1)) as lease:
        await asyncio.sleep(0.8)
        assert await real_redis.get(Keys("t").lock(ChatKey(1))) == lease.token
