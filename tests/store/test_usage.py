from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import pytest
from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.usage import Budgets, ModelTokens, PriceTable, Reservation, Spending, UsageRecord
from bot.store.keys import Keys
from bot.store.usage import ESTIMATE_TTL_SECONDS, UsageLedger

# Budget keys expire at real instants (EXPIREAT), so the fake clock starts at the real now.
DAY = datetime.now(UTC)
MIDNIGHT = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=1)
EARLY = min(DAY, MIDNIGHT - timedelta(hours=1))  # today still, however far a test moves the clock on


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
    await settle(book, chat, reservation, used, user_id)
    return True


async def settle(book: UsageLedger, chat: ChatKey, reservation: Reservation, used: int, user_id: int = 7) -> None:
    pipe = book.redis.pipeline(transaction=False)
    book.queue(pipe, chat, [UsageRecord(used // 2, used - used // 2, "gpt-4o-mini", user_id)], reservation)
    await pipe.execute()


async def held(redis: Redis, user_id: int = 7, day: datetime = DAY) -> dict[str, str]:
    """The user's budget today: spent tokens and the estimates of turns running."""
    return {str(k): str(v) for k, v in (await redis.hgetall(f"t:1:spend:user:{user_id}:{day:%Y%m%d}")).items()}


async def test_usage_is_counted_per_user_and_chat_per_day_and_month(redis: Redis) -> None:
    book = ledger(redis, Budgets())
    await spend(book, 7, ChatKey(-100, 5), 0, 300)
    await book.record(ChatKey(-100, 5), [UsageRecord(40, 10, "gpt-4o-mini")])  # a summary: the chat's, not the user's
    mine = await book.spending(user_id=7)
    group = await book.spending(chat=ChatKey(-100, 5))
    assert mine == Spending((ModelTokens("gpt-4o-mini", 150, 150),), (ModelTokens("gpt-4o-mini", 150, 150),))
    assert group.today == (ModelTokens("gpt-4o-mini", 190, 160),)


async def test_the_cost_follows_the_price_table() -> None:
    prices = PriceTable([("my-model", 1.0, 2.0, None)])
    usage = [ModelTokens("gpt-4o-mini", 1_000_000, 500_000), ModelTokens("my-model", 2_000, 1_000)]
    assert prices.cost(usage) == pytest.approx(0.15 + 0.30 + 0.002 + 0.002)
    assert prices.cost([ModelTokens("gpt-4o-mini-2024-07-18", 1_000_000, 0)]) == pytest.approx(0.15)
    assert prices.cost([ModelTokens("llama3", 10, 10)]) is None
    assert PriceTable([("gpt-4o-mini", 1.0, 1.0, None)]).cost([ModelTokens("gpt-4o-mini", 10**6, 0)]) == 1.0


async def test_cached_input_is_billed_at_its_own_price() -> None:
    built_in = PriceTable()
    assert built_in.cost([ModelTokens("gpt-4o-mini", 1_000_000, 0, cached=800_000)]) == pytest.approx(
        0.2 * 0.15 + 0.8 * 0.075)
    assert PriceTable([("m", 1.0, 2.0, 0.25)]).cost([ModelTokens("m", 1_000_000, 0, cached=1_000_000)]) == 0.25
    assert PriceTable([("m", 1.0, 2.0, None)]).cost([ModelTokens("m", 1_000_000, 0, cached=1_000_000)]) == 1.0


async def test_cached_tokens_are_counted_per_model(redis: Redis) -> None:
    book = ledger(redis, Budgets(), Clock(DAY))
    await book.record(ChatKey(-100), [UsageRecord(900, 100, "gpt-4o-mini", 7, cached_tokens=600)])
    assert (await book.spending(user_id=7)).today == (ModelTokens("gpt-4o-mini", 900, 100, cached=600),)


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
    keys = [k async for k in redis.scan_iter("t:1:spend:*")]
    assert len(keys) == 2
    for key in keys:
        assert await redis.expiretime(key) == int(MIDNIGHT.timestamp())


async def test_operators_are_exempt(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_user=100, per_chat=100, exempt_users=frozenset({1})))
    for _ in range(5):
        assert await spend(book, 1, ChatKey(-100), 50, 500)
    assert await spend(book, 2, ChatKey(-100), 50, 50)


async def test_a_chat_budget_covers_every_member_and_summaries(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_chat=1000))
    await book.record(ChatKey(-100), [UsageRecord(900, 100, "gpt-4o-mini")])
    assert not await spend(book, 3, ChatKey(-100, 7), 10, 10)


async def test_a_turn_starts_only_when_its_estimate_fits_beside_what_is_spent_and_running(redis: Redis) -> None:
    book = ledger(redis, Budgets(per_user=1000))
    assert await spend(book, 7, ChatKey(7), 100, 700)
    running = await book.reserve(7, ChatKey(-1), 200)  # 700 spent + 200 running
    assert running.refused is None
    assert (await book.reserve(7, ChatKey(-2), 101)).refused == "user"  # 1,001 would not fit
    fits = await book.reserve(7, ChatKey(-3), 100)  # 1,000 does
    assert fits.refused is None
    assert await held(redis) == {"spent": "700", f"turn:{running.turn}": ANY, f"turn:{fits.turn}": ANY}
    await book.release(fits)
    await settle(book, ChatKey(-1), running, 150)  # the estimate gives way to what the turn used
    assert await held(redis) == {"spent": "850"}


async def test_concurrent_turns_on_two_replicas_go_over_only_by_what_running_turns_used_beyond_estimates(
    real_redis: Redis,
) -> None:
    budget, estimate, used = 10_000, 700, 900
    replicas = [ledger(real_redis, Budgets(per_user=budget)) for _ in range(2)]
    results = await asyncio.gather(*(spend(replicas[i % 2], 7, ChatKey(i), estimate, used) for i in range(60)))
    answered, spent = sum(results), int((await held(real_redis))["spent"])
    assert spent == answered * used
    assert answered * estimate <= budget  # no turn started without room for its estimate
    assert spent <= budget + answered * (used - estimate)
    assert spent + estimate > budget  # and a refused turn had no room
    assert await held(real_redis) == {"spent": str(spent)}  # no estimate left behind


async def test_when_estimates_are_right_concurrent_turns_end_within_the_budget(real_redis: Redis) -> None:
    budget, turn_size = 10_000, 700
    replicas = [ledger(real_redis, Budgets(per_user=budget)) for _ in range(2)]
    results = await asyncio.gather(*(spend(replicas[i % 2], 7, ChatKey(i), turn_size, turn_size) for i in range(60)))
    assert sum(results) == 14 and int((await held(real_redis))["spent"]) == 9_800


async def test_the_estimate_of_a_turn_whose_replica_died_stops_counting_at_its_deadline(redis: Redis) -> None:
    clock = Clock(EARLY)
    book = ledger(redis, Budgets(per_user=1000), clock)
    assert (await book.reserve(7, ChatKey(-1), 900)).refused is None  # and the replica dies: never settled
    assert (await book.reserve(7, ChatKey(-2), 200)).refused == "user"
    clock.now = EARLY + timedelta(seconds=ESTIMATE_TTL_SECONDS + 1)
    assert await spend(book, 7, ChatKey(-2), 200, 200)
    assert await held(redis, day=EARLY) == {"spent": "200"}


async def test_the_replica_taking_a_turn_over_replaces_its_estimate(redis: Redis) -> None:
    dead, taker = ledger(redis, Budgets(per_user=1000)), ledger(redis, Budgets(per_user=1000))
    assert (await dead.reserve(7, ChatKey(-1), 600, turn_id="4711")).refused is None
    again = await taker.reserve(7, ChatKey(-1), 600, turn_id="4711")  # 600 + 600 would not fit
    assert again.refused is None
    await settle(taker, ChatKey(-1), again, 500)
    assert await held(redis) == {"spent": "500"}
