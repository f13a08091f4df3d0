from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.store.keys import Keys
from bot.telegram.ratelimit import RedisRateLimiter
from tests.redis_server import free_port

# Just before a window ends, so a call that must wait for the next window polls every millisecond
# and moves on only when the test advances the clock.
SECOND = 1_000_000.999
MINUTE_END = 60 * 20_000 + 59.999


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Telegram:
    """Records which calls the limiter let through, by chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    async def call(self, endpoint: str, chat_id: int) -> bool:
        self.sent.append((endpoint, chat_id))
        return True

    def to(self, chat_id: int) -> int:
        return sum(1 for _, chat in self.sent if chat == chat_id)


def replicas(redis: Redis, clock: Clock, per_second: int = 30) -> list[RedisRateLimiter]:
    return [RedisRateLimiter(redis, Keys("t"), per_second=per_second, clock=clock) for _ in range(2)]


def send(limiter: RedisRateLimiter, telegram: Telegram, chat_id: int,
         endpoint: str = "sendMessage") -> asyncio.Task[object]:
    return asyncio.create_task(limiter.process_request(
        telegram.call, (endpoint, chat_id), {}, endpoint, {"chat_id": chat_id, "text": "hi"}, None))


async def sent_after_settling(telegram: Telegram, expected: int) -> int:
    """Wait until ``expected`` calls went out, give more a chance to slip through, and count them."""
    for _ in range(500):
        if len(telegram.sent) >= expected:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    return len(telegram.sent)


async def test_two_replicas_together_send_no_more_than_the_limit_per_second(redis: Redis) -> None:
    clock, telegram = Clock(SECOND), Telegram()
    limiters = replicas(redis, clock, per_second=5)
    tasks = [send(limiters[i % 2], telegram, chat_id=100 + i) for i in range(12)]
    counts = [await sent_after_settling(telegram, 5)]
    for expected in (10, 12):
        clock.now += 1
        counts.append(await sent_after_settling(telegram, expected))
    await asyncio.gather(*tasks)
    assert counts == [5, 10, 12]


async def test_calls_arriving_while_slots_are_taken_go_at_once_when_the_window_has_room(redis: Redis) -> None:
    telegram = Telegram()
    limiter = replicas(redis, Clock(1_000_000.0))[0]  # the start of a second: the next window is a second away
    first = send(limiter, telegram, 7)
    await asyncio.sleep(0)  # the first call's round trip to Redis is under way
    later = [send(limiter, telegram, 100 + i) for i in range(5)]
    async with asyncio.timeout(0.5):
        await asyncio.gather(first, *later)
    assert len(telegram.sent) == 6


async def test_two_replicas_together_send_no_more_than_twenty_a_minute_to_one_group(redis: Redis) -> None:
    clock, telegram = Clock(MINUTE_END), Telegram()
    limiters = replicas(redis, clock, per_second=1000)
    endpoints = ("sendMessage", "editMessageText")
    tasks = [send(limiters[i % 2], telegram, -100, endpoints[i % 2]) for i in range(25)]
    tasks += [send(limiters[i % 2], telegram, -200) for i in range(3)]
    await sent_after_settling(telegram, 23)
    in_first_minute = (telegram.to(-100), telegram.to(-200))
    clock.now += 60
    await asyncio.gather(*tasks)
    assert in_first_minute == (20, 3)
    assert telegram.to(-100) == 25


async def test_a_group_waiting_for_its_minute_does_not_use_up_the_overall_budget(redis: Redis) -> None:
    clock, telegram = Clock(MINUTE_END), Telegram()
    limiter = replicas(redis, clock, per_second=40)[0]
    for _ in range(20):
        await send(limiter, telegram, -100)
    waiting = [send(limiter, telegram, -100) for _ in range(10)]
    await asyncio.sleep(0.1)  # the waiting calls try again and again
    async with asyncio.timeout(5):
        await asyncio.gather(*(send(limiter, telegram, 7) for _ in range(20)))
    assert (telegram.to(-100), telegram.to(7)) == (20, 20)
    clock.now += 60
    await asyncio.gather(*waiting)
    assert telegram.to(-100) == 30


async def test_private_chats_have_no_minute_limit(redis: Redis) -> None:
    telegram = Telegram()
    limiter = replicas(redis, Clock(MINUTE_END))[0]
    async with asyncio.timeout(5):
        await asyncio.gather(*(send(limiter, telegram, 7) for _ in range(25)))
    assert telegram.to(7) == 25


async def test_deleting_in_a_group_counts_only_toward_the_overall_limit(redis: Redis) -> None:
    clock, telegram = Clock(MINUTE_END), Telegram()
    limiter = replicas(redis, clock)[0]
    for _ in range(20):
        await send(limiter, telegram, -100)
    async with asyncio.timeout(5):
        await send(limiter, telegram, -100, "deleteMessage")
    waiting = send(limiter, telegram, -100)
    assert await sent_after_settling(telegram, 21) == 21
    clock.now += 60
    await waiting
    assert telegram.to(-100) == 22


async def test_calls_that_are_not_messages_pass_even_when_the_window_is_full(redis: Redis) -> None:
    clock, telegram = Clock(SECOND), Telegram()
    limiter = replicas(redis, clock, per_second=2)[0]
    waiting = [send(limiter, telegram, 7) for _ in range(3)]
    await sent_after_settling(telegram, 2)
    async with asyncio.timeout(5):
        for endpoint in ("sendChatAction", "answerCallbackQuery", "getMe"):
            await send(limiter, telegram, 7, endpoint)
    assert [endpoint for endpoint, _ in telegram.sent] == [
        "sendMessage", "sendMessage", "sendChatAction", "answerCallbackQuery", "getMe"]
    clock.now += 1
    await asyncio.gather(*waiting)
    assert len(telegram.sent) == 6


async def test_messages_still_go_out_when_redis_is_down() -> None:
    down: Redis = Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    telegram = Telegram()
    limiter = RedisRateLimiter(down, Keys("t"), per_second=1, clock=Clock(SECOND))
    try:
        async with asyncio.timeout(10):
            await asyncio.gather(*(send(limiter, telegram, -100) for _ in range(3)))
    finally:
        await down.aclose()
    assert telegram.to(-100) == 3
