"""Telegram's rate limits shared by every replica: TELEGRAM_MESSAGES_PER_SECOND overall, 20 a minute per group.

A PTB BaseRateLimiter whose counters live in Redis (fixed one-second and one-minute windows), so N replicas
together send no more than one would. Calls over a limit wait for the next window; nothing is dropped here
(the streaming sink already skips intermediate edits it cannot afford). Waiting calls queue in the process,
oldest first, and one dispatcher takes slots for all of them in a round trip a second: a thousand answers
waiting to be sent cost Redis nothing more than one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram._utils.types import JSONDict
from telegram.ext import BaseRateLimiter

from bot.store.keys import Keys
from bot.telegram.flood import GROUP_MESSAGES_PER_MINUTE

# Messages count; chat actions and callback answers are not messages and must not queue behind them.
_COUNTED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendMessageDraft", "deleteMessage",
            "sendPhoto", "sendDocument"}
_GROUP_COUNTED = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}


class RedisRateLimiter(BaseRateLimiter[None]):
    """Waits until both the global and the group window have room, then makes the call."""

    def __init__(self, redis: Redis, keys: Keys, *, per_second: int,
                 group_per_minute: int = GROUP_MESSAGES_PER_MINUTE, clock: Callable[[], float] = time.time,
                 max_in_flight: int = 32) -> None:
        self._redis = redis
        # Calls beyond the HTTP pool's size wait here, not in the pool, whose queue costs CPU per waiting call.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._keys = keys
        self._per_second = per_second
        self._group_per_minute = group_per_minute
        self._clock = clock
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._dispatcher: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        """Nothing to set up: the counters expire by themselves."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint in _COUNTED:
            chat_id = data.get("chat_id")
            if endpoint in _GROUP_COUNTED and _is_group(chat_id):
                await self._group_slot(chat_id)
            await self._overall_slot()
        async with self._in_flight:
            return await callback(*args, **kwargs)

    async def _group_slot(self, group: object) -> None:
        while True:
            delay = await self._try_group(group)
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def _try_group(self, group: object) -> float:
        """Take a slot in the group's minute, or say how long until the next minute."""
        now = self._clock()
        minute = int(now // 60)
        key = self._keys.group_rate(group, minute)
        try:
            count = await self._count(key, 1, ttl=61)
            if count <= self._group_per_minute:
                return 0.0
            await self._redis.decr(key)
        except (RedisError, OSError):
            return 0.0  # Redis down: Telegram's own 429s (handled by the sink) still protect us
        return (minute + 1) * 60 - now

    async def _overall_slot(self) -> None:
        """Queue for a slot in this second's overall window; one dispatcher per process serves the queue."""
        slot = asyncio.get_running_loop().create_future()
        self._waiting.append(slot)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        await slot

    async def _dispatch(self) -> None:
        """Take as many slots as calls wait (in one round trip) and let them go oldest first; wait for the next
        second only when this one's window is full (calls that queued during the round trip go at once)."""
        while self._still_waiting():
            now = self._clock()
            wanted = min(len(self._waiting), self._per_second)
            granted = await self._take(int(now), wanted)
            self._release(granted)
            if granted < wanted and self._still_waiting():
                await asyncio.sleep(int(now) + 1 - now)

    def _release(self, granted: int) -> None:
        while granted and self._waiting:
            slot = self._waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                granted -= 1

    def _still_waiting(self) -> int:
        self._waiting = deque(slot for slot in self._waiting if not slot.done())
        return len(self._waiting)

    async def _take(self, second: int, wanted: int) -> int:
        """Slots taken in ``second``'s shared window, at most ``wanted``; any taken beyond the limit go back."""
        key = self._keys.overall_rate(second)
        try:
            total = await self._count(key, wanted, ttl=2)
            granted = max(0, min(wanted, self._per_second - (total - wanted)))
            if granted < wanted:
                await self._redis.decrby(key, wanted - granted)
        except (RedisError, OSError):
            return wanted
        return granted

    async def _count(self, key: str, amount: int, *, ttl: int) -> int:
        pipe = self._redis.pipeline(transaction=False)
        pipe.incrby(key, amount)
        pipe.expire(key, ttl)
        total, _ = await pipe.execute()
        return int(total)


def _is_group(chat_id: object) -> bool:
    if isinstance(chat_id, str):
        return chat_id.startswith("-") or chat_id.startswith("@")
    return isinstance(chat_id, int) and chat_id < 0
