from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.store.lines import ChatLines, arrival
from tests.virtual_clock import VirtualClock

LINE = "t:chat:{42}:line"
NOW = 1_700_000_000.0


async def _leave(redis: Redis, entry_id: str) -> None:
    pipe = redis.pipeline(transaction=False)
    ChatLines.leave(pipe, LINE, entry_id)
    await pipe.execute()


def _entry(seconds_ago: float = 0.0, sequence: int = 0) -> str:
    return f"{int((NOW - seconds_ago) * 1000)}-{sequence}"


def chat_lines(redis: Redis, clock: VirtualClock, stale_seconds: float = 600) -> ChatLines:
    return ChatLines(redis, stale_seconds=stale_seconds, clock=lambda: NOW + clock(), sleep=clock.sleep)


async def test_a_later_message_waits_until_the_earlier_one_is_done_even_if_read_first(redis: Redis) -> None:
    clock = VirtualClock()
    lines = chat_lines(redis, clock)
    first, second = _entry(sequence=1), _entry(sequence=2)
    await redis.zadd(LINE, {first: arrival(first), second: arrival(second)})  # as the webhook appended them
    waiting = asyncio.create_task(lines.wait_turn(LINE, second))  # another replica reads the later one first
    await clock.advance(10)  # it asks again and again
    assert not waiting.done()
    await lines.wait_turn(LINE, first)
    await _leave(redis, first)
    await clock.advance(1)  # its next ask finds it first
    await asyncio.wait_for(waiting, timeout=2)


async def test_lines_are_per_chat_and_rejoining_keeps_the_place(redis: Redis) -> None:
    lines = chat_lines(redis, VirtualClock())
    first = _entry(sequence=1)
    await lines.wait_turn(LINE, first)
    await lines.wait_turn("t:chat:{43}:line", _entry(sequence=2))  # another chat never waits
    await lines.wait_turn(LINE, first)  # taken over by another replica: still first
    assert await redis.ttl(LINE) > 0


async def test_a_head_lost_long_ago_stops_blocking_the_chat(redis: Redis) -> None:
    lines = chat_lines(redis, VirtualClock(), stale_seconds=60)
    await redis.zadd(LINE, {"lost": arrival(_entry(seconds_ago=120))})
    await asyncio.wait_for(lines.wait_turn(LINE, _entry()), timeout=2)
    assert await redis.zscore(LINE, "lost") is None


async def test_a_head_that_is_not_stale_yet_keeps_blocking(redis: Redis) -> None:
    clock = VirtualClock()
    lines = chat_lines(redis, clock, stale_seconds=60)
    await redis.zadd(LINE, {"slow": arrival(_entry(seconds_ago=50))})
    waiting = asyncio.create_task(lines.wait_turn(LINE, _entry()))
    await clock.advance(5)
    assert not waiting.done()
    await clock.advance(10)  # now 65 s old: stale
    await asyncio.wait_for(waiting, timeout=2)


def test_arrival_orders_like_the_stream() -> None:
    assert arrival("1700000000000-0") < arrival("1700000000000-1") < arrival("1700000000001-0")
