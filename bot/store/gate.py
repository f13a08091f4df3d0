"""Refusals told once, the per-user message rate, and a short cache of group administrators, in Redis."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.script import Arg, LuaScript

logger = logging.getLogger(__name__)

ADMINISTRATORS_CACHE_SECONDS = 300
REFUSAL_MEMORY_SECONDS = 30 * 86400
RATE_WINDOW_SECONDS = 60

# A sliding window: the user's answered messages of the last minute, by time. A message over the limit is not
# added, so a user who keeps sending is answered again as soon as the oldest counted message is a minute old.
_ADMIT = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

FetchAdministrators = Callable[[int], Awaitable[Iterable[int]]]


class Gatekeeper:
    """Redis-backed memory of refusals and a short cache of group administrators."""

    def __init__(self, redis: Redis, keys: Keys, fetch_administrators: FetchAdministrators,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self._fetch_administrators = fetch_administrators
        self._clock = clock
        self._admit = LuaScript(redis, _ADMIT)

    async def first_refusal(self, user_id: int) -> bool:
        """True the first time a user is refused (so they are told once, not on every message)."""
        key = self._keys.refused(user_id)
        return bool(await self._redis.set(key, 1, nx=True, ex=REFUSAL_MEMORY_SECONDS))

    async def too_fast(self, user_id: int, per_minute: int) -> tuple[bool, bool]:
        """(over USER_MESSAGES_PER_MINUTE in the last 60 seconds, and the first time this minute: tell them)."""
        now = self._clock()
        member = f"{now:.6f}:{secrets.token_hex(4)}"  # two messages in one microsecond both count
        args: list[Arg] = [now, RATE_WINDOW_SECONDS, per_minute, member]
        if await self._admit([self._keys.rate(user_id)], args):
            return False, False
        told = await self._redis.set(self._keys.slowdown(user_id), 1, nx=True, ex=RATE_WINDOW_SECONDS)
        return True, bool(told)

    async def is_group_administrator(self, chat_id: int, user_id: int) -> bool:
        """Whether the user administers the group; the list is cached for a few minutes."""
        key = self._keys.group_administrators(chat_id)
        cached = [str(member) for member in await self._redis.lrange(key, 0, -1)]
        if not cached:
            cached = [str(member) for member in await self._fetch_administrators(chat_id)] or ["none"]
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            pipe.rpush(key, *cached)
            pipe.expire(key, ADMINISTRATORS_CACHE_SECONDS)
            await pipe.execute()
        return str(user_id) in cached
