"""Who may talk to the bot, and who may change a group's settings (allowlists, admins, one refusal)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300
REFUSAL_MEMORY_SECONDS = 30 * 86400

FetchAdmins = Callable[[int], Awaitable[Iterable[int]]]


@dataclass(frozen=True)
class Allowlist:
    """ALLOWED_USER_IDS and ALLOWED_CHAT_IDS: a listed user may use the bot anywhere, everyone may use it in
    a listed chat; with both lists empty everyone may."""

    users: frozenset[int] = frozenset()
    chats: frozenset[int] = frozenset()

    def permits(self, user_id: int | None, chat_id: int) -> bool:
        """Whether this user in this chat may use the bot (messages, commands and buttons alike)."""
        if not self.users and not self.chats:
            return True
        return chat_id in self.chats or (user_id is not None and user_id in self.users)


class Gatekeeper:
    """Redis-backed memory of refusals and a short cache of group administrators."""

    def __init__(self, redis: Redis, prefix: str, fetch_admins: FetchAdmins) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fetch_admins = fetch_admins

    async def first_refusal(self, user_id: int) -> bool:
        """True the first time a user is refused (so they are told once, not on every message)."""
        key = f"{self._prefix}:refused:{user_id}"
        return bool(await self._redis.set(key, 1, nx=True, ex=REFUSAL_MEMORY_SECONDS))

    async def too_fast(self, user_id: int, per_minute: int) -> tuple[bool, bool]:
        """(over USER_MESSAGES_PER_MINUTE this minute, and the first time this minute: tell them)."""
        minute = int(time.time() // 60)
        key = f"{self._prefix}:rate:{user_id}:{minute}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
        if int(count) <= per_minute:
            return False, False
        told = await self._redis.set(f"{self._prefix}:slowdown:{user_id}", 1, nx=True, ex=60)
        return True, bool(told)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether the user administers the group; the list is cached for a few minutes."""
        key = f"{self._prefix}:admins:{chat_id}"
        cached = [str(member) for member in await self._redis.lrange(key, 0, -1)]
        if not cached:
            cached = [str(admin) for admin in await self._fetch_admins(chat_id)] or ["none"]
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            pipe.rpush(key, *cached)
            pipe.expire(key, ADMIN_CACHE_SECONDS)
            await pipe.execute()
        return str(user_id) in cached
