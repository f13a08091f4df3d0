from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.reminders import Cancellation, Reminder
from bot.store.keys import Keys
from bot.store.reminders import RedisReminders

KEYS = Keys("t")
CHAT, TOPIC, OTHER = ChatKey(1), ChatKey(-100, 7), ChatKey(2)
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def book(redis: Redis, clock: Clock | None = None) -> RedisReminders:
    return RedisReminders(redis, KEYS, clock=clock or Clock())


def reminder(chat: ChatKey = CHAT, text: str = "call Ann", minutes: float = 20) -> Reminder:
    return Reminder.new(chat, 7, 33, text, NOW + timedelta(minutes=minutes))


async def test_a_chats_reminders_are_listed_soonest_first_and_only_there(redis: Redis) -> None:
    reminders = book(redis)
    late, soon, elsewhere = reminder(text="late", minutes=60), reminder(text="soon", minutes=5), reminder(TOPIC)
    for r in (late, soon, elsewhere):
        assert await reminders.add(r, limit=20)
    assert await reminders.pending(CHAT) == [soon, late]
    assert await reminders.pending(TOPIC) == [elsewhere]
    assert await reminders.pending(OTHER) == []


async def test_a_chat_may_have_at_most_the_limit_pending(redis: Redis) -> None:
    reminders = book(redis)
    assert [await reminders.add(reminder(), limit=2) for _ in range(3)] == [True, True, False]
    assert await reminders.add(reminder(OTHER), limit=2)  # the limit is per chat
    await reminders.cancel(CHAT, (await reminders.pending(CHAT))[0].id)
    assert await reminders.add(reminder(), limit=2)


async def test_every_key_expires_a_while_after_the_farthest_reminder(redis: Redis) -> None:
    reminders = book(redis)
    await reminders.add(reminder(minutes=60 * 24), limit=20)
    await reminders.add(reminder(minutes=10), limit=20)
    for key in (KEYS.reminders(CHAT), KEYS.reminders_due, KEYS.reminder_items):
        assert 8 * 86400 - 60 < await redis.ttl(key) <= 8 * 86400


async def test_nothing_is_claimed_before_it_is_due_and_a_due_one_once(redis: Redis) -> None:
    clock = Clock()
    replicas = [book(redis, clock), book(redis, clock)]
    wanted = reminder(minutes=1)
    await replicas[0].add(wanted, limit=20)
    assert await replicas[0].next_due() == wanted.due.timestamp()
    assert await replicas[1].claim(lease_seconds=30, most=10) == []
    clock.now += 60
    (claim,) = await replicas[1].claim(lease_seconds=30, most=10)
    assert (claim.reminder, claim.attempt) == (wanted, 1)
    assert await replicas[0].claim(lease_seconds=30, most=10) == []
    assert await replicas[1].finish(claim)
    assert await replicas[0].pending(CHAT) == []
    assert await replicas[0].next_due() is None


async def test_a_claim_that_lapses_is_claimed_again_and_the_first_claimer_can_no_longer_finish(redis: Redis) -> None:
    clock = Clock()
    dead, alive = book(redis, clock), book(redis, clock)
    await dead.add(reminder(minutes=1), limit=20)
    clock.now += 60
    (lapsed,) = await dead.claim(lease_seconds=30, most=10)
    clock.now += 29
    assert await alive.claim(lease_seconds=30, most=10) == []
    clock.now += 1
    (again,) = await alive.claim(lease_seconds=30, most=10)
    assert (again.reminder, again.attempt) == (lapsed.reminder, 2)
    assert not await dead.finish(lapsed)
    assert await alive.finish(again)


async def test_a_claimed_reminder_can_no_longer_be_cancelled(redis: Redis) -> None:
    clock = Clock()
    reminders = book(redis, clock)
    kept, taken = reminder(minutes=1), reminder(minutes=2)
    await reminders.add(kept, limit=20)
    await reminders.add(taken, limit=20)
    clock.now += 90
    (claim,) = await reminders.claim(lease_seconds=30, most=10)
    assert await reminders.cancel(CHAT, claim.reminder.id) is Cancellation.DELIVERING
    assert await reminders.cancel(OTHER, taken.id) is Cancellation.UNKNOWN  # another chat's id
    assert await reminders.cancel(CHAT, taken.id) is Cancellation.CANCELLED
    assert await reminders.cancel(CHAT, taken.id) is Cancellation.UNKNOWN
    assert await reminders.pending(CHAT) == [kept]


async def test_a_cancel_racing_the_claims_of_two_replicas_has_one_winner_each_time(real_redis: Redis) -> None:
    clock = Clock()
    replicas = [book(real_redis, clock), book(real_redis, clock)]
    due = [reminder(minutes=1, text=f"r{i}") for i in range(50)]
    for r in due:
        await replicas[0].add(r, limit=100)
    clock.now += 60

    async def claims(replica: RedisReminders) -> list[str]:
        taken: list[str] = []
        while batch := await replica.claim(lease_seconds=30, most=3):
            taken += [c.reminder.id for c in batch]
        return taken

    async def cancels() -> list[str]:
        return [r.id for r in due if await replicas[1].cancel(CHAT, r.id) is Cancellation.CANCELLED]

    first, second, cancelled = await asyncio.gather(claims(replicas[0]), claims(replicas[1]), cancels())
    assert sorted(first + second + cancelled) == sorted(r.id for r in due)  # each exactly once
    assert first and second  # both replicas really raced
