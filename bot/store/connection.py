"""The Redis client, built once from REDIS_URL: one Redis, the master of a Sentinel-managed set, or the embedded store.

Both real forms use a blocking pool with the same limits and timeouts. Under Sentinel every (re)connect asks
the sentinels where the master is, and keeps asking (with backoff, for up to FAILOVER_SECONDS) while a failover
elects a new one; a command whose connection broke — the master died, or it was demoted and answered READONLY —
is sent once more, on a connection to the master Sentinel names then. So callers see a slow command during a
failover, not an error. (A single Redis keeps redis-py's behaviour: no retries.)
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

from bot.store.address import SentinelAddress, is_sentinel

logger = logging.getLogger(__name__)

REDIS_CONNECTIONS = 128
POOL_TIMEOUT_SECONDS = 20
# Longer than Sentinel takes to notice a dead master (down-after-milliseconds: 5 s in deploy/) and promote a replica.
FAILOVER_SECONDS = 30.0
_FIRST_PAUSE_SECONDS = 0.05
_LONGEST_PAUSE_SECONDS = 1.0
_CONNECTION_OPTIONS: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 5, "socket_timeout": 15,
                                       "health_check_interval": 30}
# A sentinel that does not answer at once is skipped for the next one; redis-py's default retries would wait on it.
_SENTINEL_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 1, "retry": Retry(NoBackoff(), 0)}


def connect(url: str | None) -> Redis:
    """The client for REDIS_URL (unset: an in-process store); nothing is connected until the first command."""
    if not url:
        return _embedded()
    if is_sentinel(url):
        return _sentinel_master(SentinelAddress.parse(url))
    # Blocking: under a burst, a command waits for a free connection instead of failing at the limit.
    pool = BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=POOL_TIMEOUT_SECONDS,
                                           **_CONNECTION_OPTIONS)
    return Redis.from_pool(pool)


def _sentinel_master(address: SentinelAddress) -> Redis:
    sentinel = Sentinel(address.sentinels, sentinel_kwargs=_SENTINEL_OPTIONS)  # type: ignore[no-untyped-call]
    logger.info("Redis: the master of Sentinel service %r, asked of %d sentinel(s)", address.service,
                len(address.sentinels))
    client: Redis = sentinel.master_for(
        address.service, connection_pool_class=_FailoverPool, connection_class=_FailoverConnection,
        db=address.db, username=address.username, password=address.password,
        max_connections=REDIS_CONNECTIONS, timeout=POOL_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 1),
        **_CONNECTION_OPTIONS)
    return client


def _embedded() -> Redis:
    import fakeredis

    logger.warning("REDIS_URL is not set: using an in-process store. History is LOST on restart and NOT "
                   "shared between replicas. Set REDIS_URL for anything but local development.")
    embedded: Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    return embedded


class _FailoverConnection(SentinelManagedConnection):
    """A connection that asks Sentinel for the master on every (re)connect, and asks again through a failover.

    redis-py reconnects a broken connection to the address it had (redis/redis-py#3874), which after a failover
    is the dead or demoted master; the address is therefore looked up here, where every path connects. Once
    FAILOVER_SECONDS have passed without a master, connects fail at once until one succeeds again.
    """

    _give_up_at: float | None = None

    async def _connect(self) -> None:
        pause = _FIRST_PAUSE_SECONDS
        while True:
            try:
                await self._connect_to_master()
                self._give_up_at = None
                return
            except (OSError, ConnectionError, TimeoutError):
                now = time.monotonic()
                self._give_up_at = self._give_up_at or now + FAILOVER_SECONDS
                if now + pause > self._give_up_at:
                    raise
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # spread the connections' questions out
            pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)

    async def _connect_to_master(self) -> None:
        self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()  # type: ignore[no-untyped-call]


class _FailoverPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool, blocking at the limit like the single-Redis one; it says when the master moved."""

    _followed: tuple[str, int] | None = None

    async def get_master_address(self) -> tuple[str, int]:
        address: tuple[str, int] = await super().get_master_address()  # type: ignore[no-untyped-call]
        if address != self._followed:
            if self._followed is not None:
                logger.warning("Redis master of %r moved to %s:%s (Sentinel failover)", self.service_name, *address)
            self._followed = address
        return address

    async def aclose(self) -> None:
        await super().aclose()
        await self.sentinel_manager.aclose()
