"""The usage ledger in Redis: tokens per user and chat per day and month, and the daily budget counters.

Each daily budget is one hash that expires at the end of the UTC day: ``spent`` (tokens used today) and one
field per turn running (its estimate and a deadline). A turn starts only when spent + the running estimates
+ its own estimate fit the budget; when it ends, its estimate is replaced by what it really used. So spending
goes over the budget only by what running turns use beyond their estimates. An estimate whose turn died
with its replica stops counting at its deadline instead of holding the budget until midnight, and the
replica that takes the turn over replaces it (same turn id) instead of adding a second one.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.usage import BudgetLeft, Budgets, ModelTokens, Reservation, Spending, UsageRecord, next_midnight
from bot.store.keys import Keys
from bot.store.script import Arg, LuaScript
from bot.store.stats import StatsBook

USAGE_TTL_SECONDS = 40 * 86400
# Longer than any turn's model call takes (timeouts and retries included); short enough that a dead replica's
# estimate stops counting within minutes.
ESTIMATE_TTL_SECONDS = 600
_SPENT = "spent"
_TURN = "turn:"

# ARGV: budget, estimate, the turn's field, now, the estimate's deadline, the end of the day (Unix seconds).
# Returns the tokens spent and running before this turn, or -1 (nothing reserved) when the estimate does not fit.
_RESERVE = """
local held, now = 0, tonumber(ARGV[4])
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if name == 'spent' then
    held = held + tonumber(value)
  elseif name ~= ARGV[3] then
    local tokens, deadline = string.match(value, '^(%d+):(%d+)$')
    if tokens and tonumber(deadline) > now then
      held = held + tonumber(tokens)
    else
      redis.call('HDEL', KEYS[1], name)
    end
  end
end
if held + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[2] .. ':' .. ARGV[5])
redis.call('EXPIREAT', KEYS[1], ARGV[6])
return held
"""


class UsageLedger:
    """Usage counters and budgets in Redis."""

    def __init__(self, redis: Redis, keys: Keys, budgets: Budgets,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), stats: StatsBook | None = None) -> None:
        self.redis = redis
        self._keys = keys
        self._budgets = budgets
        self._clock = clock
        self._reserve = LuaScript(redis, _RESERVE)
        self._stats = stats or StatsBook(redis, keys, clock)

    def queue(self, pipe: Any, chat: ChatKey, records: Sequence[UsageRecord],
              reservation: Reservation | None = None) -> None:
        """Add usage counts (and the settlement of a reservation) to a pipeline."""
        now = self._clock()
        for period in (now.strftime("%Y%m%d"), now.strftime("%Y%m")):
            for record in records:
                for key in self._usage_keys(chat, record.user_id, period):
                    pipe.hincrby(key, f"{record.model}:prompt", record.prompt_tokens)
                    pipe.hincrby(key, f"{record.model}:completion", record.completion_tokens)
                    if record.cached_tokens:
                        pipe.hincrby(key, f"{record.model}:cached", record.cached_tokens)
                    if record.seconds:
                        pipe.hincrby(key, f"{record.model}:seconds", record.seconds)
                    pipe.expire(key, USAGE_TTL_SECONDS)
        self._stats.queue_tokens(pipe, records)
        self._queue_budget(pipe, chat, records, reservation)

    async def record(self, chat: ChatKey, records: Sequence[UsageRecord],
                     reservation: Reservation | None = None) -> None:
        """Count calls outside a turn's commit (summaries, transcriptions), charged to the chat's budget and, for a
        record with a user, the user's; settles the reservation made for them, if any."""
        pipe = self.redis.pipeline(transaction=False)
        self.queue(pipe, chat, records, reservation)
        await pipe.execute()

    async def reserve(self, user_id: int, chat: ChatKey, tokens: int, turn_id: str | None = None) -> Reservation:
        """Count a turn's estimate as running, or say which budget has no room for it (nothing is reserved then)."""
        reservation = Reservation(tokens) if turn_id is None else Reservation(tokens, turn=turn_id)
        if user_id in self._budgets.exempt_users:
            return reservation
        limits = self._limits(user_id, chat)
        if not limits:
            return reservation
        now = int(self._clock().timestamp())
        field = _TURN + reservation.turn
        args_of: list[list[Arg]] = [[budget, tokens, field, now, now + ESTIMATE_TTL_SECONDS, self._end_of_day()]
                                    for _, _, budget in limits]
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
        """Drop the estimate of a turn that made no model call."""
        if reservation.keys:
            pipe = self.redis.pipeline(transaction=False)
            for key in reservation.keys:
                pipe.hdel(key, _TURN + reservation.turn)
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

    async def budgets(self, user_id: int, chat: ChatKey | None = None) -> list[BudgetLeft]:
        """The daily budgets that hold this user (and, given, this chat): each limit and the tokens spent today."""
        limits = self._limits(user_id, chat)
        if not limits:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for _, key, _ in limits:
            pipe.hget(key, _SPENT)
        spent = await pipe.execute()
        return [BudgetLeft(kind, budget, int(used or 0)) for (kind, _, budget), used in zip(limits, spent, strict=True)]

    def resets_at(self) -> datetime:
        """When the daily budgets start afresh: the next UTC midnight."""
        return next_midnight(self._clock())

    def _queue_budget(self, pipe: Any, chat: ChatKey, records: Sequence[UsageRecord],
                      reservation: Reservation | None) -> None:
        """Spent tokens onto today's budgets; the turn's estimate off the budgets it was counted on."""
        by_key: dict[str, int] = {}
        for record in records:
            for kind, key, _ in self._limits(record.user_id, chat):
                if kind == "chat" or record.user_id not in self._budgets.exempt_users:
                    by_key[key] = by_key.get(key, 0) + record.total
        for key, tokens in by_key.items():
            if tokens:
                pipe.hincrby(key, _SPENT, tokens)
                pipe.expireat(key, self._end_of_day())
        if reservation is not None:  # a turn that began yesterday: yesterday's budget held its estimate
            for key in reservation.keys:
                pipe.hdel(key, _TURN + reservation.turn)

    def _limits(self, user_id: int | None, chat: ChatKey | None) -> list[tuple[str, str, int]]:
        day = self._clock().strftime("%Y%m%d")
        limits = []
        if self._budgets.per_user and user_id is not None and user_id not in self._budgets.exempt_users:
            limits.append(("user", self._keys.user_budget(user_id, day), self._budgets.per_user))
        if self._budgets.per_chat and chat is not None and user_id not in self._budgets.exempt_users:
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
    totals: dict[str, dict[str, int]] = {}
    for name, value in fields.items():
        model, _, kind = name.rpartition(":")
        counts = totals.setdefault(model, {})
        counts[kind] = counts.get(kind, 0) + int(value)
    return tuple(ModelTokens(model, t.get("prompt", 0), t.get("completion", 0), seconds=t.get("seconds", 0),
                             cached=t.get("cached", 0)) for model, t in sorted(totals.items()))
