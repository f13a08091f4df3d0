"""Reminders in Redis: per chat a sorted set of pending ids by due time, the payloads in one hash, and one index
of every pending reminder by when it is next to be tried, which replicas claim from atomically.

A claim moves the reminder's place in the index to when the claim lapses (the lease) and records the claim's
token; the claimer deletes the reminder once it is sent. A replica that dies between claim and send leaves the
reminder to be claimed again by another once the lease is over. A claimed reminder can no longer be cancelled,
so a cancel racing the delivery either wins (nothing is sent) or is told it is too late (it is sent).

Every key is under the ``{reminders}`` hash tag, so each script touches one Redis Cluster slot.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.reminders import MAX_AHEAD, Cancellation, Reminder
from bot.store.keys import Keys
from bot.store.script import Arg, LuaScript

# Every key lives this long past the farthest reminder it holds (a bot down for days still finds them).
GRACE_MS = 7 * 86400 * 1000

_EXTEND = """
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
"""
# KEYS: the chat's set, the index, the payloads. ARGV: id, due ms, payload, limit, ttl ms.
_ADD = _EXTEND + """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
for i = 1, 3 do extend(KEYS[i], tonumber(ARGV[5])) end
return 1
"""
# KEYS: the chat's set, the payloads. Ids whose payload is gone are dropped from the chat's set.
_PENDING = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then table.insert(out, payload) else redis.call('ZREM', KEYS[1], id) end
end
return out
"""
# KEYS: the chat's set, the index, the payloads, the claims. ARGV: id.
_CANCEL = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'unknown' end
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then return 'delivering' end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 'cancelled'
"""
# KEYS: the index, the payloads, the claims. ARGV: now ms, lease ms, most to claim, token, ttl ms.
# Returns payload, claim, payload, claim… where a claim is "<attempt>:<token>".
_CLAIM = _EXTEND + """
local out = {}
local now = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    local earlier = redis.call('HGET', KEYS[3], id)
    local attempt = 1
    if earlier then attempt = tonumber(string.match(earlier, '^(%d+):')) + 1 end
    local claim = attempt .. ':' .. ARGV[4]
    redis.call('HSET', KEYS[3], id, claim)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    table.insert(out, payload)
    table.insert(out, claim)
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
extend(KEYS[3], tonumber(ARGV[5]))
return out
"""
# KEYS: the chat's set, the index, the payloads, the claims. ARGV: id, claim. Only the claim's holder finishes.
_FINISH = """
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Claim:
    """A reminder this replica may deliver until the lease lapses; ``attempt`` counts claims of it, from 1."""

    reminder: Reminder
    token: str

    @property
    def attempt(self) -> int:
        return int(self.token.split(":", 1)[0])


class RedisReminders:
    """The reminder book (domain/reminders.ReminderBook) and the delivery queue every replica claims from."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], float] | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock or (lambda: datetime.now(UTC).timestamp())
        self.added = asyncio.Event()  # set when this process stores a reminder: the courier looks again at once
        self._add = LuaScript(redis, _ADD)
        self._pending = LuaScript(redis, _PENDING)
        self._cancel = LuaScript(redis, _CANCEL)
        self._claim = LuaScript(redis, _CLAIM)
        self._finish = LuaScript(redis, _FINISH)

    async def add(self, reminder: Reminder, limit: int) -> bool:
        """Store a reminder; False when the chat already has ``limit`` pending."""
        due = _ms(reminder.due.timestamp())
        ttl = max(due - _ms(self._clock()), 0) + GRACE_MS
        keys = [self._keys.reminders(reminder.chat), self._keys.reminders_due, self._keys.reminder_items]
        stored = bool(await self._add(keys, [reminder.id, due, _encode(reminder), limit, ttl]))
        if stored:
            self.added.set()
        return stored

    async def pending(self, chat: ChatKey) -> list[Reminder]:
        """The chat's pending reminders, soonest first (those being delivered too)."""
        payloads = await self._pending([self._keys.reminders(chat), self._keys.reminder_items], [])
        return [_decode(payload) for payload in payloads]

    async def cancel(self, chat: ChatKey, reminder_id: str) -> Cancellation:
        """Cancel one of the chat's reminders, unless a replica has already claimed it for delivery."""
        keys = [self._keys.reminders(chat), *self._shared()]
        return Cancellation(await self._cancel(keys, [reminder_id]))

    async def claim(self, lease_seconds: float, most: int) -> list[Claim]:
        """Claim up to ``most`` due reminders (and those whose earlier claim lapsed) for ``lease_seconds``."""
        token = uuid.uuid4().hex
        ttl = _ms(MAX_AHEAD.total_seconds()) + GRACE_MS
        args: list[Arg] = [_ms(self._clock()), _ms(lease_seconds), most, token, ttl]
        found = await self._claim(self._shared(), args)
        return [Claim(_decode(found[i]), found[i + 1]) for i in range(0, len(found), 2)]

    async def finish(self, claim: Claim) -> bool:
        """Delete a delivered (or given up) reminder; False when the claim had lapsed and another replica has it."""
        keys = [self._keys.reminders(claim.reminder.chat), *self._shared()]
        return bool(await self._finish(keys, [claim.reminder.id, claim.token]))

    async def next_due(self) -> float | None:
        """When the soonest reminder is due (or its claim lapses), in seconds since the epoch."""
        first = await self._redis.zrange(self._keys.reminders_due, 0, 0, withscores=True)
        return float(first[0][1]) / 1000 if first else None

    def _shared(self) -> list[str]:
        return [self._keys.reminders_due, self._keys.reminder_items, self._keys.reminder_claims]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _encode(reminder: Reminder) -> str:
    return json.dumps({"id": reminder.id, "chat": reminder.chat.chat_id, "thread": reminder.chat.thread_id,
                       "user": reminder.user_id, "message": reminder.message_id, "text": reminder.text,
                       "due": _ms(reminder.due.timestamp()), "language": reminder.language}, ensure_ascii=False)


def _decode(payload: str) -> Reminder:
    data: dict[str, Any] = json.loads(payload)
    return Reminder(str(data["id"]), ChatKey(int(data["chat"]), data.get("thread")), int(data["user"]),
                    data.get("message"), str(data["text"]), datetime.fromtimestamp(data["due"] / 1000, UTC),
                    data.get("language"))
