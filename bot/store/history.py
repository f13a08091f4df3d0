"""The Redis store of conversations: turns with their token counts, the running summary, the persona.

Keys of one chat share a hash tag (store/keys.py), so every script and MULTI below touches one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.domain.outcome import Delivery
from bot.domain.ports import LockLease
from bot.domain.transcript import Summary, Transcript, Turn
from bot.domain.usage import Reservation, UsageRecord
from bot.errors import StoreUnavailable
from bot.store.keys import Keys
from bot.store.script import Arg, LuaScript
from bot.store.usage import UsageLedger

DONE_TTL_SECONDS = 24 * 3600

# Appends the new turns, renews the chat's TTLs (the persona's too: it is in use); releases the turn's lock
# in the same round trip.
_APPEND = """
local ttl = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[#ARGV] then  -- a retried commit appends nothing twice
  for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
return redis.call('LLEN', KEYS[1])
"""

# A delivery given up: the stored exchange (the user's turn, then the answer) becomes what the user saw: the answer
# as far as it was shown, or, shown nothing, no exchange at all. Only if it is still the last one.
_AMEND = """
if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], -2) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('LTRIM', KEYS[1], 0, -3) else redis.call('LSET', KEYS[1], -1, ARGV[3]) end
return 1
"""

# Folds the oldest turns into the summary only if they are still the oldest ones (a /reset or another
# summariser may have changed the list meanwhile); turns appended meanwhile are untouched.
_FOLD = """
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[3] then
  return 0
end
redis.call('LTRIM', KEYS[1], n, -1)
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisHistory:
    """History on Redis: turns, summary and persona per chat, renewed on every write."""

    def __init__(self, redis: Redis, keys: Keys, ledger: UsageLedger, ttl_seconds: int,
                 settings_ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ledger = ledger
        self._ttl_ms = ttl_seconds * 1000
        self._settings_ttl_ms = settings_ttl_seconds * 1000
        self._append = LuaScript(redis, _APPEND)
        self._fold = LuaScript(redis, _FOLD)
        self._amend = LuaScript(redis, _AMEND)

    async def load(self, chat: ChatKey) -> Transcript:
        """Turns, summary and persona of a chat in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrange(self._keys.turns(chat), 0, -1)
        pipe.get(self._keys.summary(chat))
        pipe.get(self._keys.persona(chat))
        raw_turns, raw_summary, raw_persona = await pipe.execute()
        return Transcript(
            turns=tuple(Turn.from_json(t) for t in raw_turns),
            summary=Summary.from_json(raw_summary),
            persona=raw_persona,
        )

    async def commit(self, chat: ChatKey, turns: Sequence[Turn], usage: Sequence[UsageRecord],
                     release: LockLease | None = None, reservation: Reservation | None = None,
                     turn_id: str | None = None, delivery: Delivery | None = None) -> None:
        """Append a finished turn and its usage, mark the update answered (with what to show), renew the TTL,
        release the lock: one round trip. Raises StoreUnavailable; a retry appends nothing twice."""
        try:
            await self._commit(chat, turns, usage, release, reservation, turn_id, delivery)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    async def generated(self, turn_id: str) -> Delivery | None:
        """The answer of an update already generated and stored, if it was (a replica taking it over asks)."""
        try:
            raw = await self._redis.get(self._keys.done(turn_id))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        return Delivery.from_json(None if raw is None else str(raw))

    async def amend(self, chat: ChatKey, turns: Sequence[Turn], seen: Turn | None, turn_id: str | None,
                    delivery: Delivery) -> None:
        """After a delivery was given up: history holds what the user saw (``seen``, None: nothing) instead of the
        exchange ``turns``, and the done marker says what was shown. Raises StoreUnavailable."""
        user, reply = (t.to_json() for t in turns)
        keys, args = [self._keys.turns(chat)], [user, reply, seen.to_json() if seen is not None else ""]
        pipe = self._redis.pipeline(transaction=True)
        self._amend.queue_source(pipe, keys, args)
        if turn_id is not None:
            pipe.set(self._keys.done(turn_id), delivery.to_json(), ex=DONE_TTL_SECONDS)
        try:
            results = await pipe.execute(raise_on_error=False)
            await self._amend.settle(results[0], keys, args)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    async def _commit(self, chat: ChatKey, turns: Sequence[Turn], usage: Sequence[UsageRecord],
                      release: LockLease | None, reservation: Reservation | None, turn_id: str | None,
                      delivery: Delivery | None) -> None:
        # One transaction: a replica killed mid-commit leaves all of it or none, never a done marker (which makes a
        # replica taking over deliver without storing) without the turns.
        pipe = self._redis.pipeline(transaction=True)
        keys = [self._keys.turns(chat), self._keys.summary(chat), self._keys.persona(chat)]
        if release is not None:
            keys.append(release.key)
        token = release.token if release is not None else ""
        args: list[Arg] = [self._ttl_ms, token, self._settings_ttl_ms, *(t.to_json() for t in turns)]
        self._append.queue_source(pipe, keys, args)
        self._ledger.queue(pipe, chat, usage, reservation)
        if turn_id is not None:
            pipe.set(self._keys.done(turn_id), delivery.to_json() if delivery else 1, ex=DONE_TTL_SECONDS)
        results = await pipe.execute(raise_on_error=False)
        await self._append.settle(results[0], keys, args)

    async def reset(self, chat: ChatKey) -> None:
        """Forget the chat's turns and summary; the persona stays."""
        await self._redis.delete(self._keys.turns(chat), self._keys.summary(chat))

    async def set_persona(self, chat: ChatKey, choice: str | None) -> None:
        """Store the chat's persona choice (None: back to the default); kept across /reset."""
        key = self._keys.persona(chat)
        if choice is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, choice, px=self._settings_ttl_ms)

    async def persona(self, chat: ChatKey) -> str | None:
        """The chat's stored persona choice, if any."""
        value = await self._redis.get(self._keys.persona(chat))
        return None if value is None else str(value)

    async def fold(self, chat: ChatKey, folded: Sequence[Turn], summary: Summary) -> bool:
        """Replace the oldest turns by a summary, unless they are no longer the oldest; True when done."""
        if not folded:
            return False
        keys = [self._keys.turns(chat), self._keys.summary(chat)]
        args: list[Arg] = [len(folded), folded[0].to_json(), folded[-1].to_json(), summary.to_json(), self._ttl_ms]
        return bool(await self._fold(keys, args))
