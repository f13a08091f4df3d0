"""Each user's images of the day (DAILY_IMAGES_PER_USER), counted in Redis so all replicas share the limit."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.domain.usage import next_midnight
from bot.store.keys import Keys
from bot.store.script import LuaScript

# KEYS: the user's count today. ARGV: the limit, the end of the day (Unix seconds). 1 when one more fits.
_TAKE = """
local made = redis.call('INCR', KEYS[1])
if made == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
if made > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""


class DailyImages:
    """An ImageQuota: images per user and UTC day, taken before a picture is made, given back if it fails."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._take = LuaScript(redis, _TAKE)

    async def take(self, user_id: int, limit: int) -> bool:
        """Count one more image for today, if the user has one left."""
        now = self._clock()
        end = calendar.timegm(next_midnight(now).utctimetuple())
        return bool(await self._take([self._key(user_id, now)], [limit, end]))

    async def give_back(self, user_id: int) -> None:
        """An image that could not be made does not count."""
        await self._redis.decr(self._key(user_id, self._clock()))

    def _key(self, user_id: int, now: datetime) -> str:
        return self._keys.images(user_id, now.strftime("%Y%m%d"))
