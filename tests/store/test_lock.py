from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from tests.virtual_clock import VirtualClock

KEY = Keys("t").lock(ChatKey(1))


async def no_wait(_: float) -> None:
    """A poll's pause without the time: contenders ask Redis again at once (each ask is a round trip)."""
    await asyncio.sleep(0)


def lock(redis: Redis, ttl: float = 5.0, sleep: Callable[[float], Awaitable[None]] = no_wait) -> ChatLock:
    return ChatLock(redis, Keys("t"), ttl_seconds=ttl, poll_seconds=0.01, sleep=sleep)


async def yield_a_while() -> None:
    """A turn's work: it gives every other task many chances to run meanwhile."""
    for _ in range(10):
        await asyncio.sleep(0)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``check`` holds; fail after 5 s."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_turns_of_one_chat_run_one_after_the_other_in_arrival_order(redis: Redis) -> None:
    # Real, jittered polls: turns that polled Redis against each other would go in a random order.
    chat_lock, log = lock(redis, sleep=asyncio.sleep), []

    async def turn(name: str) -> None:
        async with chat_lock.hold(ChatKey(1)):
            log.append(f"{name} start")
            await yield_a_while()
            log.append(f"{name} end")

    await asyncio.gather(*(turn(name) for name in "abcdefgh"))
    assert log == [f"{name} {edge}" for name in "abcdefgh" for edge in ("start", "end")]


async def test_two_replicas_never_overlap_on_one_chat(real_redis: Redis) -> None:
    replicas, inside, overlaps = [lock(real_redis), lock(real_redis)], [0], [0]

    async def turn(replica: ChatLock) -> None:
        async with replica.hold(ChatKey(1)):
            inside[0] += 1
            overlaps[0] += inside[0] > 1
            for _ in range(3):  # round trips, while the other replica keeps asking for the lock
                await real_redis.ping()
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
    await real_redis.set(KEY, "dead-replica", px=100)
    async with asyncio.timeout(3):
        async with lock(real_redis, sleep=asyncio.sleep).hold(ChatKey(1)) as lease:
            assert await real_redis.get(KEY) == lease.token
    assert await real_redis.get(KEY) is None


async def test_the_lock_is_renewed_while_a_long_turn_runs(real_redis: Redis) -> None:
    clock = VirtualClock()
    async with lock(real_redis, ttl=6.0, sleep=clock.sleep).hold(ChatKey(1)) as lease:
        await real_redis.pexpire(KEY, 100)  # as if the turn had run for almost the whole ttl

        async def renewed() -> bool:
            return int(await real_redis.pttl(KEY)) > 1000

        await clock.advance(2.0)  # a third of the ttl: the renewal is due
        await eventually(renewed)
        assert await real_redis.get(KEY) == lease.token
