"""The whole bot's counts for /stats, per UTC day and month: users and chats answered, turns by outcome, tokens
(and images made) by model (written with the usage ledger's counts, in the same round trip), and updates that failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.domain.stats import BotStats, PeriodStats
from bot.domain.usage import ModelTokens, UsageRecord
from bot.store.keys import Keys

STATS_TTL_SECONDS = 40 * 86400  # a month's counts outlive the month by as long as /usage's
_TURN = "turn:"
_TOKENS = "tokens:"
_ERRORS = "errors"

logger = logging.getLogger(__name__)


def periods(now: datetime) -> tuple[str, str]:
    """The day (YYYYMMDD) and month (YYYYMM) counts of ``now`` go to."""
    return now.strftime("%Y%m%d"), now.strftime("%Y%m")


class StatsBook:
    """Counters in Redis; every write renews the period's TTL."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock

    def queue_tokens(self, pipe: Any, records: Sequence[UsageRecord]) -> None:
        """Add model calls' tokens to a pipeline (the ledger's, so usage and stats agree)."""
        for period in periods(self._clock()):
            key = self._keys.stats(period)
            for record in records:
                for kind, tokens in (("prompt", record.prompt_tokens), ("cached", record.cached_tokens),
                                     ("completion", record.completion_tokens), ("seconds", record.seconds),
                                     ("images", record.images), ("reasoning", record.reasoning_tokens)):
                    if tokens:
                        pipe.hincrby(key, f"{_TOKENS}{record.model}:{kind}", tokens)
            pipe.expire(key, STATS_TTL_SECONDS)

    async def turn(self, user_id: int, chat_id: int, outcome: str) -> None:
        """A turn finished: its user and chat were served, with this outcome (not counted while Redis fails)."""
        pipe = self._redis.pipeline(transaction=False)
        for period in periods(self._clock()):
            pipe.pfadd(self._keys.stats_users(period), user_id)
            pipe.pfadd(self._keys.stats_chats(period), chat_id)
            pipe.hincrby(self._keys.stats(period), _TURN + outcome, 1)
            for key in (self._keys.stats_users(period), self._keys.stats_chats(period), self._keys.stats(period)):
                pipe.expire(key, STATS_TTL_SECONDS)
        await _best_effort(pipe)

    async def error(self) -> None:
        """An update's handling raised (not counted while Redis fails)."""
        pipe = self._redis.pipeline(transaction=False)
        for period in periods(self._clock()):
            pipe.hincrby(self._keys.stats(period), _ERRORS, 1)
            pipe.expire(self._keys.stats(period), STATS_TTL_SECONDS)
        await _best_effort(pipe)

    async def read(self) -> BotStats:
        """Today's and this month's counts."""
        pipe = self._redis.pipeline(transaction=False)
        day_and_month = periods(self._clock())
        for period in day_and_month:
            pipe.pfcount(self._keys.stats_users(period))
            pipe.pfcount(self._keys.stats_chats(period))
            pipe.hgetall(self._keys.stats(period))
        results = await pipe.execute()
        today, month = (_period(*results[i:i + 3]) for i in (0, 3))
        return BotStats(today, month)


async def _best_effort(pipe: Pipeline) -> None:
    """Counts for /stats must not fail what they count."""
    try:
        await pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("could not count for /stats: %s", type(exc).__name__)


def _period(users: int, chats: int, fields: dict[str, str]) -> PeriodStats:
    turns = {name.removeprefix(_TURN): int(value) for name, value in fields.items() if name.startswith(_TURN)}
    tokens: dict[str, dict[str, int]] = {}
    for name, value in fields.items():
        if name.startswith(_TOKENS):
            model, _, kind = name.removeprefix(_TOKENS).rpartition(":")
            tokens.setdefault(model, {})[kind] = int(value)
    by_model = tuple(ModelTokens(model, t.get("prompt", 0), t.get("completion", 0), seconds=t.get("seconds", 0),
                                 images=t.get("images", 0), reasoning=t.get("reasoning", 0), cached=t.get("cached", 0))
                     for model, t in sorted(tokens.items()))
    return PeriodStats(int(users), int(chats), turns, by_model, int(fields.get(_ERRORS, 0)))
