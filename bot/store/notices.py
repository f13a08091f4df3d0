"""Notes a chat is told at most once a day (that the model reads no images…), across replicas."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.store.keys import Keys

logger = logging.getLogger(__name__)

DAY_SECONDS = 86400


class Notices:
    """Which once-a-day notes a chat was already told today (UTC days; a marker lives a day)."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock

    async def first_today(self, chat: ChatKey, kind: str) -> bool:
        """True the first time today this note is due in the chat (and marks it told); with Redis down, True."""
        day = time.strftime("%Y%m%d", time.gmtime(self._clock()))
        try:
            return bool(await self._redis.set(self._keys.notice(chat, kind, day), 1, nx=True, ex=DAY_SECONDS))
        except (RedisError, OSError) as exc:
            logger.warning("could not check a once-a-day note (%s); telling it", type(exc).__name__)
            return True
