"""Benchmark: many reminders falling due at once, delivered by several replicas' couriers sharing one Redis.

    python -m bench.reminders [--reminders 2000] [--replicas 2]

The real ReminderCourier and Redis store against a real redis-server; each replica's Bot API is a fake that
takes a millisecond per message. Prints how long the backlog took, how the replicas shared it, whether any
reminder was sent twice or lost, and the Redis round trips per reminder.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

from telegram import Bot

from bench.roundtrips import counting_redis, reset
from bot.domain.chat import ChatKey
from bot.domain.reminders import Reminder
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.reminders import RedisReminders
from bot.telegram.courier import ReminderCourier
from tests.redis_server import running_redis

KEYS = Keys("bench")


class CountingBot:
    """Bot.send_message as a fake Bot API that takes a millisecond per message."""

    def __init__(self, sent: Counter[str], wanted: int, done: asyncio.Event) -> None:
        self.sent = sent
        self.count = 0
        self._wanted = wanted
        self._done = done

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        await asyncio.sleep(0.001)
        self.sent[text] += 1
        self.count += 1
        if len(self.sent) == self._wanted:
            self._done.set()


async def run(reminders: int, replicas: int, url: str) -> None:
    redis = counting_redis(url)
    await redis.flushdb()
    book = RedisReminders(redis, KEYS)
    due = datetime.now(UTC)
    for index in range(reminders):
        assert await book.add(Reminder.new(ChatKey(index), index, 1, f"r{index}", due), limit=20)
    reset()
    sent: Counter[str] = Counter()
    done = asyncio.Event()
    bots = [CountingBot(sent, reminders, done) for _ in range(replicas)]
    couriers = [ReminderCourier(RedisReminders(redis, KEYS), cast(Bot, bot), Metrics()) for bot in bots]
    started = time.perf_counter()
    tasks = [asyncio.create_task(courier.run()) for courier in couriers]
    await asyncio.wait_for(done.wait(), 120)
    took = time.perf_counter() - started
    for courier in couriers:
        courier.stop()
    await asyncio.gather(*tasks)
    round_trips = reset()
    left = await redis.zcard(KEYS.reminders_due)
    await redis.aclose()
    twice = sum(1 for n in sent.values() if n > 1)
    print(f"{reminders} reminders due at once, {replicas} replicas: all sent in {took:.2f} s "
          f"({reminders / took:,.0f}/s); shares {[bot.count for bot in bots]}; sent twice {twice}, "
          f"lost {reminders - len(sent)}, left in Redis {left}; {round_trips / reminders:.2f} Redis round trips "
          "per reminder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--replicas", type=int, default=2)
    options = parser.parse_args()
    with running_redis() as url:
        asyncio.run(run(options.reminders, options.replicas, url))


if __name__ == "__main__":
    main()
