"""Shared fixtures: an in-memory Redis for unit tests, a real redis-server for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import fakeredis
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tests.e2e import World, world
from tests.redis_server import running_redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client: Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture
async def real_redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def env(redis_url: str) -> Iterator[World]:
    """Everything a user's message passes through, over an emptied real redis-server (end-to-end tests)."""
    SyncRedis.from_url(redis_url).flushdb()
    with world(redis_url) as w:
        yield w
