"""Per-chat order across replicas: a chat's messages are handled one after another, in the order they arrived.

Replicas read the shared update stream at the same time, so two messages of one chat may be read by two
replicas a millisecond apart, and whichever reached the chat lock first would be answered first. Instead each
update joins its chat's line (a sorted set of stream entry ids, by arrival) in the same script that appends
it to the stream, and is handled only once it is first in line; acknowledging the update takes it out. An
update taken over from a dead replica keeps its place. A head that stays in line for STALE_SECONDS (its entry
lost from the stream) stops blocking the chat. Lines live in the stream's hash slot, beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.script import LuaScript

STALE_SECONDS = 600
LINE_TTL_SECONDS = 2 * STALE_SECONDS
POLL_SECONDS = (0.02, 0.25)  # the first wait for an earlier update, and the longest (it doubles)

# KEYS: the line. ARGV: arrival score, entry id, ttl seconds, stale score. Returns 1 when the entry is first.
_JOIN = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if head[1] == ARGV[2] then return 1 end
return 0
"""


class ChatLines:
    """Each chat's line of unfinished updates, shared by all replicas."""

    def __init__(self, redis: Redis, *, stale_seconds: float = STALE_SECONDS,
                 poll_seconds: tuple[float, float] = POLL_SECONDS, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._join = LuaScript(redis, _JOIN)
        self._stale_seconds = stale_seconds
        self._poll = poll_seconds
        self._clock = clock  # the wall clock: stream entry ids are its milliseconds
        self._sleep = sleep

    async def wait_turn(self, line: str, entry_id: str) -> None:
        """Return once every earlier update of the chat is done (joining the line if the entry is not in it)."""
        delay = self._poll[0]
        while not await self._join([line], [arrival(entry_id), entry_id, LINE_TTL_SECONDS,
                                            arrival(entry_id, self._clock() - self._stale_seconds)]):
            await self._sleep(delay)
            delay = min(delay * 2, self._poll[1])

    @staticmethod
    def leave(pipe: Pipeline, line: str, entry_id: str) -> None:
        """Queue the update's exit from its line (sent with its acknowledgement)."""
        pipe.zrem(line, entry_id)


def arrival(entry_id: str, at: float | None = None) -> int:
    """A stream entry id as a sortable number (or the number an entry added at ``at`` would have)."""
    if at is not None:
        return int(at * 1000) * 1000
    millis, _, sequence = entry_id.partition("-")
    return int(millis) * 1000 + min(int(sequence or 0), 999)
