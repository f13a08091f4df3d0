"""Telegram's rate limits shared by every replica: 30 messages a second overall, 20 a minute per group.

A PTB BaseRateLimiter whose counters live in Redis (fixed one-second and one-minute windows), so N replicas
together send no more than one would. Calls over a limit wait for the next window; nothing is dropped here
(the streaming sink already skips intermediate edits it cannot afford).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram._utils.types import JSONDict
from telegram.ext import BaseRateLimiter

OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# Messages count; chat actions and callback answers are not messages and must not queue behind them.
_COUNTED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendMessageDraft", "deleteMessage",
            "sendPhoto", "sendDocument"}
_GROUP_COUNTED = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}


class RedisRateLimiter(BaseRateLimiter[None]):
    """Waits until both the global and the group window have room, then makes the call."""

    def __init__(self, redis: Redis, prefix: str, *, per_second: int = OVERALL_PER_SECOND,
                 group_per_minute: int = GROUP_PER_MINUTE, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._per_second = per_second
        self._group_per_minute = group_per_minute
        self._clock = clock

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
            group = chat_id if endpoint in _GROUP_COUNTED and _is_group(chat_id) else None
            await self._wait_for_room(group)
        return await callback(*args, **kwargs)

    async def _wait_for_room(self, group: int | str | None) -> None:
        while True:
            delay = await self._try_take(group)
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def _try_take(self, group: int | str | None) -> float:
        """Take a slot in every window that applies; otherwise give them back and say how long to wait."""
        now = self._clock()
        second, minute = int(now), int(now // 60)
        overall_key = f"{self._prefix}:tg-rate:all:{second}"
        group_key = f"{self._prefix}:tg-rate:chat:{group}:{minute}"
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incr(overall_key)
            pipe.expire(overall_key, 2)
            if group is not None:
                pipe.incr(group_key)
                pipe.expire(group_key, 61)
            counts = await pipe.execute()
        except (RedisError, OSError):
            return 0.0  # Redis down: Telegram's own 429s (handled by the sink) still protect us
        overall_ok = counts[0] <= self._per_second
        group_ok = group is None or counts[2] <= self._group_per_minute
        if overall_ok and group_ok:
            return 0.0
        await self._give_back(overall_key, group_key if group is not None else None)
        return (second + 1 - now) if not overall_ok else ((minute + 1) * 60 - now)

    async def _give_back(self, overall_key: str, group_key: str | None) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.decr(overall_key)
        if group_key is not None:
            pipe.decr(group_key)
        await pipe.execute()


def _is_group(chat_id: object) -> bool:
    if isinstance(chat_id, str):
        return chat_id.startswith("-") or chat_id.startswith("@")
    return isinstance(chat_id, int) and chat_id < 0
