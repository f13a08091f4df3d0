"""The whole bot's counts for /stats: per day and month, distinct users and chats, tokens as the ledger wrote them."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.usage import Budgets, ModelTokens, UsageRecord
from bot.store.keys import Keys
from bot.store.stats import STATS_TTL_SECONDS, StatsBook
from bot.store.usage import UsageLedger

KEYS = Keys("t:1")
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)


async def test_turns_users_chats_tokens_and_errors_are_counted_per_day_and_month(redis: Redis) -> None:
    stats = StatsBook(redis, KEYS, clock=lambda: NOW)
    ledger = UsageLedger(redis, KEYS, Budgets(), clock=lambda: NOW, stats=stats)
    for user, chat, outcome in ((1, 1, "complete"), (1, -100, "complete"), (2, -100, "failed:user_budget")):
        await stats.turn(user, chat, outcome)
    await ledger.record(ChatKey(-100), [UsageRecord(1000, 50, "gpt-4o-mini", 1, cached_tokens=400)])
    await stats.error()
    figures = await stats.read()
    assert figures.today == figures.month
    assert (figures.today.users, figures.today.chats) == (2, 2)
    assert dict(figures.today.turns) == {"complete": 2, "failed:user_budget": 1}
    assert figures.today.budget_refusals == 1 and figures.today.model_errors == 0 and figures.today.errors == 1
    assert figures.today.tokens == (ModelTokens("gpt-4o-mini", 1000, 50, cached=400),)
    assert 0 < await redis.ttl(KEYS.stats("20260331")) <= STATS_TTL_SECONDS
    assert 0 < await redis.ttl(KEYS.stats_users("202603")) <= STATS_TTL_SECONDS


async def test_images_and_reasoning_tokens_are_counted_by_model_as_for_usage(redis: Redis) -> None:
    stats = StatsBook(redis, KEYS, clock=lambda: NOW)
    ledger = UsageLedger(redis, KEYS, Budgets(), clock=lambda: NOW, stats=stats)
    await ledger.record(ChatKey(1), [UsageRecord(0, 0, "gpt-image-1", 1, images=2),
                                     UsageRecord(100, 300, "o4-mini", 1, reasoning_tokens=250)])
    assert (await stats.read()).today.tokens == (ModelTokens("gpt-image-1", 0, 0, images=2),
                                                 ModelTokens("o4-mini", 100, 300, reasoning=250))


async def test_a_new_day_starts_from_nothing_while_the_month_goes_on(redis: Redis) -> None:
    await StatsBook(redis, KEYS, clock=lambda: NOW).turn(1, 1, "complete")
    figures = await StatsBook(redis, KEYS, clock=lambda: datetime(2026, 4, 1, tzinfo=UTC)).read()
    assert figures.today.users == 0 and figures.month.users == 0  # April: a new month too
    later = await StatsBook(redis, KEYS, clock=lambda: datetime(2026, 3, 31, 23, tzinfo=UTC)).read()
    assert later.today.users == 1 and dict(later.month.turns) == {"complete": 1}
