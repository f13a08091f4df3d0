"""The usage ledger in Redis: tokens per user and chat per day and month, and the daily budget counters.

Budget counters are separate keys that expire at the end of the UTC day. A turn reserves its expected
tokens before the model call (so concurrent turns see each other) and settles the difference afterwards;
a turn starts only while the counter is under the budget, so spending exceeds it by at most one turn.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.usage import Budgets, ModelTokens, Reservation, Spending, UsageRecord, next_midnight
from bot.store.keys import Keys
from bot.store.script import LuaScript

USAGE_TTL_SECONDS = 40 * 86400

_RESERVE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return used
"""


class UsageLedger:
    """Usage counters and budgets in Redis."""

    def __init__(self, redis: Redis, keys: Keys, budgets: Budgets,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.redis = redis
        self._keys = keys
        self._budgets = budgets
        self._clock = clock
        self._reserve = LuaScript(redis, _RESERVE)

    def queue(self, pipe: Any, chat: ChatKey, records: Sequence[UsageRecord],
              reservation: Reservation | None = None) -> None:
        """Add usage counts (and the settlement of a reservation) to a pipeline."""
        now = self._clock()
        for period in (now.strftime("%Y%m%d"), now.strftime("%Y%m")):
            for record in records:
                for key in self._usage_keys(chat, record.user_id, period):
                    pipe.hincrby(key, f"{record.model}:prompt", record.prompt_tokens)
                    pipe.hincrby(key, f"{record.model}:completion", record.completion_tokens)
                    pipe.expire(key, USAGE_TTL_SECONDS)
        self._queue_budget(pipe, chat, records, reservation)

    async def record(self, chat: ChatKey, records: Sequence[UsageRecord]) -> None:
        """Count calls outside a turn (summaries), charged to the chat's budget."""
        pipe = self.redis.pipeline(transaction=False)
        self.queue(pipe, chat, records)
        await pipe.execute()

    async def reserve(self, user_id: int, chat: ChatKey, tokens: int) -> Reservation:
        """Set tokens aside for a turn, or say which budget is spent (nothing is reserved then)."""
        reservation = Reservation(tokens)
        if user_id in self._budgets.exempt_users:
            return reservation
        limits = self._limits(user_id, chat)
        if not limits:
            return reservation
        args_of = [[budget, tokens, self._end_of_day()] for _, _, budget in limits]
        pipe = self.redis.pipeline(transaction=False)
        for (_, key, _), args in zip(limits, args_of, strict=True):
            self._reserve.queue(pipe, [key], args)
        results = await pipe.execute(raise_on_error=False)
        for (kind, key, _), args, result in zip(limits, args_of, results, strict=True):
            used = await self._reserve.settle(result, [key], args)
            if int(used) < 0:
                reservation.refused = reservation.refused or kind
            else:
                reservation.keys.append(key)
        if reservation.refused:
            await self.release(reservation)
        return reservation

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose turn made no model call."""
        if reservation.keys:
            pipe = self.redis.pipeline(transaction=False)
            for key in reservation.keys:
                pipe.decrby(key, reservation.tokens)
            await pipe.execute()
            reservation.keys = []

    async def spending(self, user_id: int | None = None, chat: ChatKey | None = None) -> Spending:
        """A user's or a chat's tokens today and this month, by model."""
        now = self._clock()
        pipe = self.redis.pipeline(transaction=False)
        for period in (now.strftime("%Y%m%d"), now.strftime("%Y%m")):
            if user_id is not None:
                pipe.hgetall(self._keys.user_usage(user_id, period))
            else:
                pipe.hgetall(self._keys.chat_usage(chat.chat_id if chat else 0, period))
        today, month = await pipe.execute()
        return Spending(_by_model(today), _by_model(month))

    def resets_at(self) -> datetime:
        """When the daily budgets start afresh: the next UTC midnight."""
        return next_midnight(self._clock())

    def _queue_budget(self, pipe: Any, chat: ChatKey, records: Sequence[UsageRecord],
                      reservation: Reservation | None) -> None:
        by_key: dict[str, int] = {}
        for record in records:
            for kind, key, _ in self._limits(record.user_id, chat):
                if kind == "chat" or record.user_id not in self._budgets.exempt_users:
                    by_key[key] = by_key.get(key, 0) + record.total
        if reservation is not None:
            for key in reservation.keys:
                by_key[key] = by_key.get(key, 0) - reservation.tokens
        for key, delta in by_key.items():
            if delta:
                pipe.incrby(key, delta)
                pipe.expireat(key, self._end_of_day())

    def _limits(self, user_id: int | None, chat: ChatKey) -> list[tuple[str, str, int]]:
        day = self._clock().strftime("%Y%m%d")
        limits = []
        if self._budgets.per_user and user_id is not None and user_id not in self._budgets.exempt_users:
            limits.append(("user", self._keys.user_budget(user_id, day), self._budgets.per_user))
        if self._budgets.per_chat and user_id not in self._budgets.exempt_users:
            limits.append(("chat", self._keys.chat_budget(chat.chat_id, day), self._budgets.per_chat))
        return limits

    def _end_of_day(self) -> int:
        return calendar.timegm(self.resets_at().utctimetuple())

    def _usage_keys(self, chat: ChatKey, user_id: int | None, period: str) -> list[str]:
        keys = [self._keys.chat_usage(chat.chat_id, period)]
        if user_id is not None:
            keys.append(self._keys.user_usage(user_id, period))
        return keys


def _by_model(fields: dict[str, str]) -> tuple[ModelTokens, ...]:
    totals: dict[str, list[int]] = {}
    for name, value in fields.items():
        model, _, kind = name.rpartition(":")
        pair = totals.setdefault(model, [0, 0])
        pair[0 if kind == "prompt" else 1] += int(value)
    return tuple(ModelTokens(model, p, c) for model, (p, c) in sorted(totals.items()))
