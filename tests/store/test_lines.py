from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from bot.store.lines import ChatLines, arrival

LINE = "t:chat:{42}:line"


async def _leave(redis: Redis, entry_id: str) -> None:
    pipe = redis.pipeline(transaction=False)
    ChatLines.leave(pipe, LINE, entry_id)
    await pipe.execute()


def _entry(seconds_ago: float = 0.0, sequence: int = 0) -> str:
    return f"{int((time.time() - seconds_ago) * 1000)}-{sequence}"


async def test_a_later_message_waits_until_the_earlier_one_is_done_even_if_read_first(redis: Redis) -> None:
    lines = ChatLines(redis)
    first, second = _entry(sequence=1), _entry(sequence=2)
    await redis.zadd(LINE, {first: arrival(first), second: arrival(second)})  # as the webhook appended them
    waiting = asyncio.create_task(lines.wait_turn(LINE, second))  # another replica reads the later one first
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await lines.wait_turn(LINE, first)
    await _leave(redis, first)
    await asyncio.wait_for(waiting, timeout=2)


async def test_lines_are_per_chat_and_rejoining_keeps_the_place(redis: Redis) -> None:
    lines = ChatLines(redis)
    first = _entry(sequence=1)
    await lines.wait_turn(LINE, first)
    await lines.wait_turn("t:chat:{43}:line", _entry(sequence=2))  # another chat never waits
    await lines.wait_turn(LINE, first)  # taken over by another replica: still first
    assert await redis.ttl(LINE) > 0


async def test_a_head_lost_long_ago_stops_blocking_the_chat(redis: Redis) -> None:
    lines = ChatLines(redis, stale_seconds=60)
    await redis.zadd(LINE, {"lost": arrival(_entry(seconds_ago=120))})
    await asyncio.wait_for(lines.wait_turn(LINE, _entry()), timeout=2)
    assert await redis.zscore(LINE, "lost") is None


def test_arrival_orders_like_the_stream() -> None:
    assert arrival("1700000000000-0") < arrival("1700000000000-1") < arrival("1700000000001-0")
