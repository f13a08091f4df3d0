from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.domain.capability import Limit
from bot.store.capabilities import REMEMBER_SECONDS, ModelCapabilities
from bot.store.keys import Keys

KEYS = Keys("t:1")


async def test_what_a_model_refuses_is_remembered_for_a_day_per_model(redis: Redis) -> None:
    store = ModelCapabilities(redis, KEYS)
    assert await store.limits("o4-mini") == frozenset()
    await store.learn("o4-mini", Limit.TEMPERATURE)
    await store.refused_images("o4-mini")
    assert await store.limits("o4-mini") == {Limit.TEMPERATURE, Limit.IMAGES}
    assert await store.refuses_images("o4-mini") and not await store.refuses_tools("o4-mini")
    assert await store.limits("gpt-4o") == frozenset()
    assert 0 < await redis.ttl(KEYS.capability("o4-mini", "temperature")) <= REMEMBER_SECONDS


async def test_a_store_outage_knows_nothing_and_learns_nothing_without_failing(redis: Redis) -> None:
    store = ModelCapabilities(redis, KEYS)
    await redis.aclose()
    broken = ModelCapabilities(Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0)), KEYS)
    assert await broken.limits("o4-mini") == frozenset()
    await broken.learn("o4-mini", Limit.TOOLS)
    del store
