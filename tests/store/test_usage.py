from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.usage import Budgets, ModelTokens, PriceTable, Spending, UsageRecord
from bot.store.keys import Keys
from bot.store.usage import UsageLedger

# Budget keys expire at real instants (EXPIREAT), so the fake clock starts at the real now.
DAY = datetime.now(UTC)
MIDNIGHT = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ledger(redis: Redis, budgets: Budgets, clock: Clock | None = None) -> UsageLedger:
    return UsageLedger(redis, Keys("t:1"), budgets, clock or Clock(DAY))


async def spend(book: UsageLedger, user_id: int, chat: ChatKey, reserved: int, used: int) -> bool:
    """One turn: reserve, then settle with the tokens actually used. False when refused."""
    reservation = await book.reserve(user_id, chat, reserved)
    if reservation.refused:
        return False
    await asyncio.sleep(0)
    pipe = book.redis.pipeline(transaction=False)
    book.queue(pipe, chat, [UsageRecord(used // 2, used - used // 2, "gpt-4o-mini", user_id)], reservation)
    await pipe.execute()
    return True


async def test_usage_is_counted_per_user_and_chat_per_day_and_month(redis: Redis) -> None:
    book = ledger(redis, Budgets())
    await spend(book, 7, ChatKey(-100, 5), 0, 300)
    await book.record(ChatKey(-100, 5), [UsageRecord(40, 10, "gpt-4o-mini")])  # a summary: the chat's, not the user's
    mine = await book.spending(user_id=7)
    group = await book.spending(chat=ChatKey(-100, 5))
    assert mine == Spending((ModelTokens("gpt-4o-mini", 150, 150),), (ModelTokens("gpt-4o-mini", 150, 150),))
    assert group.today == (ModelTokens("gpt-4o-mini", 190, 160),)


async def test_the_cost_follows_the_price_table() -> None:
    prices = PriceTable([("my-model", 1.0, 2.0)])
    usage = [ModelTokens("gpt-4o-mini", 1_000_000, 500_000), ModelTokens("my-model", 2_000, 1_000)]
    assert prices.cost(usage) == pytest.approx(0.15 + 0.30 + 0.002 + 0.002)
    assert prices.cost([ModelTokens("gpt-4o-mini-2024-07-18", 1_000_000, 0)]) == pytest.approx(0.15)
    assert prices.cost([ModelTokens("llama3", 10, 10)]) is None
    assert PriceTable([("gpt-4o-mini", 1.0, 1.0)]).cost([ModelTokens("gpt-4o-mini", 10**6, 0)]) == 1.0


async def test_a_spent_budget_refuses_until_the_utc_day_ends(redis: Redis) -> None:
    clock = Clock(DAY)
    book = ledger(redis, Budgets(per_user=1000), clock)
    assert await spend(book, 7, ChatKey(7), 200, 1200)
    assert not await spend(book, 7, ChatKey(7), 200, 100)
    assert book.resets_at() == MIDNIGHT
    clock.now = MIDNIGHT + timedelta(minutes=1)
    assert await spend(book, 7, ChatKey(7), 200, 100)


async def test_budget_keys_expire_at_the_end_of_the_day(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_user=1000, per_chat=5000))
    await spend(book, 7, ChatKey(-100), 10, 10)
    keys = [k async for k in redis.scan_iter("t:1:budget:*")]
    assert len(keys) == 2
    for key in keys:
        assert await redis.expiretime(key) == int(MIDNIGHT.timestamp())


async def test_admins_are_exempt(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_user=100, per_chat=100, exempt_users=frozenset({1})))
    for _ in range(5):
        assert await spend(book, 1, ChatKey(-100), 50, 500)
    assert await spend(book, 2, ChatKey(-100), 50, 50)


async def test_a_chat_budget_covers_every_member_and_summaries(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_chat=1000))
    await book.record(ChatKey(-100), [UsageRecord(900, 100, "gpt-4o-mini")])
    assert not await spend(book, 3, ChatKey(-100, 7), 10, 10)


async def test_concurrent_turns_on_two_replicas_overshoot_by_at_most_one_turn(real_redis: Redis) -> None:
    budget, turn_size = 10_000, 700
    replicas = [ledger(real_redis, Budgets(per_user=budget)) for _ in range(2)]
    results = await asyncio.gather(*(spend(replicas[i % 2], 7, ChatKey(i), turn_size, turn_size) for i in range(60)))
    used = int(await real_redis.get(f"t:1:budget:user:7:{DAY:%Y%m%d}") or 0)
    assert sum(results) * turn_size == used
    assert budget <= used < budget + turn_size
