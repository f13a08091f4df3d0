from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis
from telegram import Bot
from telegram.error import NetworkError

from bot.domain.chat import ChatKey
from bot.domain.reminders import Reminder
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.reminders import RedisReminders
from bot.telegram.courier import ReminderCourier
from tests.fake_bot import FakeBot

KEYS = Keys("t")
TOPIC = ChatKey(-100, 7)


def due_now(text: str = "stretch", chat: ChatKey = TOPIC) -> Reminder:
    return Reminder.new(chat, 5, 41, text, datetime.now(UTC) - timedelta(seconds=1))


@asynccontextmanager
async def courier(redis: Redis, bot: FakeBot, lease_seconds: float = 60) -> AsyncIterator[ReminderCourier]:
    running = ReminderCourier(RedisReminders(redis, KEYS), cast(Bot, bot), Metrics(), lease_seconds=lease_seconds,
                              idle_seconds=0.05)
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        running.stop()
        await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_a_due_reminder_is_sent_once_in_its_topic_replying_to_the_asker_then_deleted(redis: Redis) -> None:
    bot, book = FakeBot(time.monotonic), RedisReminders(redis, KEYS)
    await book.add(due_now(), limit=20)
    async with courier(redis, bot):
        await until(lambda: bool(bot.messages))
        await asyncio.sleep(0.2)  # more rounds of the loop: nothing is sent twice
    (sent,) = bot.messages
    assert (sent.text, sent.thread_id, sent.reply_to) == ("⏰ Reminder: stretch", 7, 41)
    assert await book.pending(TOPIC) == []


async def test_a_reminder_set_while_the_courier_sleeps_is_sent_when_due(redis: Redis) -> None:
    bot, book = FakeBot(time.monotonic), RedisReminders(redis, KEYS)
    async with courier(redis, bot):
        await asyncio.sleep(0.1)
        await book.add(Reminder.new(TOPIC, 5, 41, "later", datetime.now(UTC) + timedelta(seconds=0.3)), limit=20)
        await until(lambda: bool(bot.messages))
    assert [m.text for m in bot.messages] == ["⏰ Reminder: later"]


async def test_a_reminder_telegram_refuses_for_good_is_dropped(redis: Redis) -> None:
    bot, book = FakeBot(time.monotonic), RedisReminders(redis, KEYS)
    bot.blocked = True
    await book.add(due_now(), limit=20)
    async with courier(redis, bot, lease_seconds=0.1):
        await until(lambda: bool(bot.calls))
        await asyncio.sleep(0.3)  # past the lease: it is not tried again
    assert len(bot.calls) == 1
    assert await book.pending(TOPIC) == []


async def test_a_send_that_fails_for_a_while_is_tried_again_once_its_lease_lapses(redis: Redis) -> None:
    bot, book = FakeBot(time.monotonic), RedisReminders(redis, KEYS)
    bot.fail_next("send_message", NetworkError("connection reset"))
    await book.add(due_now(), limit=20)
    async with courier(redis, bot, lease_seconds=0.2):
        await until(lambda: bool(bot.messages))
    assert [c.method for c in bot.calls] == ["send_message", "send_message"]
    assert [m.text for m in bot.messages] == ["⏰ Reminder: stretch"]
    assert await book.pending(TOPIC) == []


async def test_a_reminder_is_sent_in_the_language_of_the_one_who_set_it(redis: Redis) -> None:
    bot, book = FakeBot(time.monotonic), RedisReminders(redis, KEYS)
    german = Reminder.new(TOPIC, 5, 41, "Blumen gießen", datetime.now(UTC) - timedelta(seconds=1), language="de")
    await book.add(german, limit=20)
    await book.add(due_now("stretch", ChatKey(9)), limit=20)  # no language kept: the bot's default
    async with courier(redis, bot):
        await until(lambda: len(bot.messages) == 2)
    assert sorted(m.text for m in bot.messages) == ["⏰ Erinnerung: Blumen gießen", "⏰ Reminder: stretch"]
