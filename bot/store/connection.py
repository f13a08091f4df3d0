"""The Redis client, built once from REDIS_URL: one Redis, the master of a Sentinel-managed set, or the embedded store.

Both real forms use a blocking pool with the same limits and timeouts; how the Sentinel form follows the master
through a failover is bot/store/sentinel.py. (A single Redis keeps redis-py's behaviour: no retries.)
"""

from __future__ import annotations

import logging
import re
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from bot.errors import ConfigError
from bot.store.address import SentinelAddress, is_sentinel
from bot.store.sentinel import sentinel_master

logger = logging.getLogger(__name__)

REDIS_CONNECTIONS = 128
# Blocking: under a burst, a command waits (up to 20 s) for a free connection instead of failing at the limit.
POOL_OPTIONS: dict[str, Any] = {"max_connections": REDIS_CONNECTIONS, "timeout": 20, "decode_responses": True,
                                "socket_connect_timeout": 5, "socket_timeout": 15, "health_check_interval": 30}
_QUOTED = re.compile(r"'(\w{1,64})'")


def connect(url: str | None) -> Redis:
    """The client for REDIS_URL (unset: an in-process store); nothing is connected until the first command."""
    if not url:
        return _embedded()
    if is_sentinel(url):
        return sentinel_master(SentinelAddress.parse(url), **POOL_OPTIONS)
    return Redis.from_pool(_pool(url))


def _pool(url: str) -> BlockingConnectionPool:
    """The pool of a redis://, rediss:// or unix:// URL; ConfigError when redis-py refuses one of its ?options
    (a value it cannot read, or a name it does not know: that one would fail every command)."""
    try:
        pool = BlockingConnectionPool.from_url(url, **POOL_OPTIONS)
        pool.make_connection()  # type: ignore[no-untyped-call]  # the object only: nothing is connected
    except (ValueError, TypeError) as exc:
        named = _QUOTED.search(str(exc))  # redis-py names the option, never the URL
        option = f"?{named[1]}" if named else "an ?option"
        raise ConfigError("REDIS_URL", f"redis-py refuses {option} (a name it does not take, or a value it cannot "
                                       "read)") from None
    return pool


def _embedded() -> Redis:
    import fakeredis

    logger.warning("REDIS_URL is not set: using an in-process store. History is LOST on restart and NOT "
                   "shared between replicas. Set REDIS_URL for anything but local development.")
    embedded: Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    return embedded
