"""Refusals told once, the per-user message rate, and a short cache of group administrators, in Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis

from bot.store.keys import Keys

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300
REFUSAL_MEMORY_SECONDS = 30 * 86400

FetchAdmins = Callable[[int], Awaitable[Iterable[int]]]


class Gatekeeper:
    """Redis-backed memory of refusals and a short cache of group administrators."""

    def __init__(self, redis: Redis, keys: Keys, fetch_admins: FetchAdmins,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self._fetch_admins = fetch_admins
        self._clock = clock

    async def first_refusal(self, user_id: int) -> bool:
        """True the first time a user is refused (so they are told once, not on every message)."""
        key = self._keys.refused(user_id)
        return bool(await self._redis.set(key, 1, nx=True, ex=REFUSAL_MEMORY_SECONDS))

    async def too_fast(self, user_id: int, per_minute: int) -> tuple[bool, bool]:
        """(over USER_MESSAGES_PER_MINUTE this minute, and the first time this minute: tell them)."""
        key = self._keys.rate(user_id, int(self._clock() // 60))
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
        if int(count) <= per_minute:
            return False, False
        told = await self._redis.set(self._keys.slowdown(user_id), 1, nx=True, ex=60)
        return True, bool(told)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether the user administers the group; the list is cached for a few minutes."""
        key = self._keys.admins(chat_id)
        cached = [str(member) for member in await self._redis.lrange(key, 0, -1)]
        if not cached:
            cached = [str(admin) for admin in await self._fetch_admins(chat_id)] or ["none"]
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            pipe.rpush(key, *cached)
            pipe.expire(key, ADMIN_CACHE_SECONDS)
            await pipe.execute()
        return str(user_id) in cached
