"""Lua scripts that also run inside pipelines without redis-py's extra SCRIPT EXISTS round trip."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

Arg = str | int | float


class LuaScript:
    """A Lua script called by its SHA; loaded on first NOSCRIPT (after a Redis restart or failover)."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self._source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run the script on its own."""
        try:
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self._redis.script_load(self._source)
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)

    def queue(self, pipe: Pipeline, keys: Sequence[str], args: Sequence[Arg]) -> None:
        """Add the script to a pipeline; pair with ``settle`` on the pipeline's result."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    def queue_source(self, pipe: Pipeline, keys: Sequence[str], args: Sequence[Arg]) -> None:
        """Add the script by its source: it cannot be missing, so a MULTI holding it applies all or nothing
        (a NOSCRIPT would let the rest of the transaction apply without it)."""
        pipe.eval(self._source, len(keys), *keys, *args)

    async def settle(self, result: Any, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """The script's result from a pipeline run with raise_on_error=False, loading it if it was missing."""
        if isinstance(result, NoScriptError):
            return await self(keys, args)
        if isinstance(result, Exception):
            raise result
        return result
