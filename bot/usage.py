"""Token accounting: usage per user and chat per day and month, prices, and daily budgets.

Budget counters are separate keys that expire at the end of the UTC day. A turn reserves its expected
tokens before the model call (so concurrent turns see each other) and settles the difference afterwards;
a turn starts only while the counter is under the budget, so spending exceeds it by at most one turn.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.script import LuaScript

USAGE_TTL_SECONDS = 40 * 86400

# USD per 1M tokens (input, output), as published by OpenAI.
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}

_RESERVE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return used
"""


@dataclass(frozen=True)
class UsageRecord:
    """Tokens one model call used, charged to a chat and (unless a summary) a user."""

    prompt_tokens: int
    completion_tokens: int
    model: str
    user_id: int | None = None

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Budgets:
    """Daily token budgets (0 = unlimited) and who is exempt."""

    per_user: int = 0
    per_chat: int = 0
    exempt_users: frozenset[int] = frozenset()


@dataclass
class Reservation:
    """Tokens set aside for a turn, on the budget counters that apply to it."""

    tokens: int
    keys: list[str] = field(default_factory=list)
    refused: str | None = None  # "user" or "chat" when a budget is spent


@dataclass(frozen=True)
class ModelTokens:
    """Tokens in and out of one model over a period."""

    model: str
    prompt: int
    completion: int


@dataclass(frozen=True)
class Spending:
    """Usage of one user or chat today and this month."""

    today: tuple[ModelTokens, ...]
    month: tuple[ModelTokens, ...]


class PriceTable:
    """USD per 1M tokens by model, the built-in table overridden by MODEL_PRICES."""

    def __init__(self, overrides: Iterable[tuple[str, float, float]] = ()) -> None:
        self._prices = dict(BUILTIN_PRICES) | {model: (i, o) for model, i, o in overrides}

    def cost(self, usage: Sequence[ModelTokens]) -> float | None:
        """Estimated USD; None when a model of the usage has no price."""
        total = 0.0
        for item in usage:
            price = self._price(item.model)
            if price is None:
                return None
            total += (item.prompt * price[0] + item.completion * price[1]) / 1_000_000
        return total

    def _price(self, model: str) -> tuple[float, float] | None:
        if model in self._prices:
            return self._prices[model]
        dated = model.rsplit("-", 3)[0]  # "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini"
        return self._prices.get(dated)


class UsageLedger:
    """Usage counters and budgets in Redis."""

    def __init__(self, redis: Redis, prefix: str, budgets: Budgets,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.redis = redis
        self._prefix = prefix
        self._budgets = budgets
        self._clock = clock
        self._reserve = LuaScript(redis, _RESERVE)

    def queue(self, pipe: Any, chat: str, records: Sequence[UsageRecord],
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

    async def record(self, chat: str, records: Sequence[UsageRecord]) -> None:
        """Count calls outside a turn (summaries), charged to the chat's budget."""
        pipe = self.redis.pipeline(transaction=False)
        self.queue(pipe, chat, records)
        await pipe.execute()

    async def reserve(self, user_id: int, chat: str, tokens: int) -> Reservation:
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

    async def spending(self, user_id: int | None = None, chat: str | None = None) -> Spending:
        """A user's or a chat's tokens today and this month, by model."""
        now = self._clock()
        pipe = self.redis.pipeline(transaction=False)
        for period in (now.strftime("%Y%m%d"), now.strftime("%Y%m")):
            pipe.hgetall(self._user_key(user_id, period) if user_id is not None else self._chat_key(chat or "", period))
        today, month = await pipe.execute()
        return Spending(_by_model(today), _by_model(month))

    def resets_at(self) -> datetime:
        """When the daily budgets start afresh: the next UTC midnight."""
        now = self._clock()
        return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)

    def _queue_budget(self, pipe: Any, chat: str, records: Sequence[UsageRecord],
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

    def _limits(self, user_id: int | None, chat: str) -> list[tuple[str, str, int]]:
        day = self._clock().strftime("%Y%m%d")
        limits = []
        if self._budgets.per_user and user_id is not None and user_id not in self._budgets.exempt_users:
            limits.append(("user", f"{self._prefix}:budget:user:{user_id}:{day}", self._budgets.per_user))
        if self._budgets.per_chat and user_id not in self._budgets.exempt_users:
            chat_id = chat.split(":", 1)[0]
            limits.append(("chat", f"{self._prefix}:budget:chat:{{{chat_id}}}:{day}", self._budgets.per_chat))
        return limits

    def _end_of_day(self) -> int:
        return calendar.timegm(self.resets_at().utctimetuple())

    def _usage_keys(self, chat: str, user_id: int | None, period: str) -> list[str]:
        keys = [self._chat_key(chat, period)]
        if user_id is not None:
            keys.append(self._user_key(user_id, period))
        return keys

    def _user_key(self, user_id: int, period: str) -> str:
        return f"{self._prefix}:usage:{user_id}:{period}"

    def _chat_key(self, chat: str, period: str) -> str:
        return f"{self._prefix}:usage:chat:{{{chat.split(':', 1)[0]}}}:{period}"


def _by_model(fields: dict[str, str]) -> tuple[ModelTokens, ...]:
    totals: dict[str, list[int]] = {}
    for name, value in fields.items():
        model, _, kind = name.rpartition(":")
        pair = totals.setdefault(model, [0, 0])
        pair[0 if kind == "prompt" else 1] += int(value)
    return tuple(ModelTokens(model, p, c) for model, (p, c) in sorted(totals.items()))
