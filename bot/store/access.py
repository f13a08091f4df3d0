"""The operators' run-time access lists in Redis: banned users (/ban) and users allowed on top of
ALLOWED_USER_IDS (/allow). Every replica reads them for every update, so a change holds everywhere at once."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.keys import Keys


@dataclass(frozen=True)
class Standing:
    """A user's place on the run-time lists."""

    banned: bool
    allowed: bool


class AccessLists:
    """/ban, /unban, /allow, /disallow, and the gate's look-up of a user."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def standing(self, user_id: int, *, allowed_too: bool) -> Standing:
        """Whether the user is banned (and, when asked, allowed at run time): one round trip."""
        if not allowed_too:
            return Standing(bool(await self._redis.sismember(self._keys.banned, str(user_id))), allowed=False)
        pipe = self._redis.pipeline(transaction=False)
        pipe.sismember(self._keys.banned, str(user_id))
        pipe.sismember(self._keys.allowed, str(user_id))
        banned, allowed = await pipe.execute()
        return Standing(bool(banned), bool(allowed))

    async def ban(self, user_id: int) -> bool:
        """Ban a user; False when they already were."""
        return bool(await self._redis.sadd(self._keys.banned, str(user_id)))

    async def unban(self, user_id: int) -> bool:
        """Lift a ban; False when there was none."""
        return bool(await self._redis.srem(self._keys.banned, str(user_id)))

    async def allow(self, user_id: int) -> bool:
        """Allow a user on top of ALLOWED_USER_IDS; False when they already were."""
        return bool(await self._redis.sadd(self._keys.allowed, str(user_id)))

    async def disallow(self, user_id: int) -> bool:
        """Take a run-time allowance back; False when there was none."""
        return bool(await self._redis.srem(self._keys.allowed, str(user_id)))

    async def listed(self) -> tuple[list[int], list[int]]:
        """The banned and the allowed user ids, sorted."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.smembers(self._keys.banned)
        pipe.smembers(self._keys.allowed)
        banned, allowed = await pipe.execute()
        return sorted(int(u) for u in banned), sorted(int(u) for u in allowed)
