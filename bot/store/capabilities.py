"""What each model cannot do, as its server's refusals taught: remembered in Redis for a day, for all replicas.

A 400 naming images, tools, ``temperature`` or ``max_tokens`` is learned here once; every turn after it leaves out
what the model refuses (or sends ``max_completion_tokens``) instead of being refused again. A model learnt not to take
``temperature`` or ``max_tokens``, or seen spending reasoning tokens, is a reasoning model.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.capability import Limit
from bot.store.keys import Keys

logger = logging.getLogger(__name__)

REMEMBER_SECONDS = 86400


class ModelCapabilities:
    """ModelLimits (and vision's ImageSupport) on Redis: one key per model and limit, expiring after a day."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def limits(self, model: str) -> frozenset[Limit]:
        """What the model was learnt not to do (a store outage: nothing known, so nothing left out)."""
        try:
            found = await self._redis.mget([self._keys.capability(model, limit.value) for limit in Limit])
        except (RedisError, OSError) as exc:
            logger.warning("could not read what the model refuses (%s)", type(exc).__name__)
            return frozenset()
        return frozenset(limit for limit, value in zip(Limit, found, strict=True) if value is not None)

    async def learn(self, model: str, limit: Limit) -> None:
        """Remember for a day that the model refuses (or, for REASONS, does) this."""
        try:
            await self._redis.set(self._keys.capability(model, limit.value), 1, ex=REMEMBER_SECONDS)
        except (RedisError, OSError) as exc:  # the turn goes on without it; the next one learns it again
            logger.warning("could not remember what the model refuses (%s)", type(exc).__name__)

    async def refuses_images(self, model: str) -> bool:
        """ImageSupport: whether the model was learnt to read no images."""
        return Limit.IMAGES in await self.limits(model)

    async def refused_images(self, model: str) -> None:
        """ImageSupport: the model's server refused images."""
        await self.learn(model, Limit.IMAGES)

    async def refuses_tools(self, model: str) -> bool:
        """Whether the model was learnt to take no tools."""
        return Limit.TOOLS in await self.limits(model)

    async def refused_tools(self, model: str) -> None:
        """The model's server refused tools."""
        await self.learn(model, Limit.TOOLS)
