"""The producer side of the update stream: an update from the webhook or the poller, queued once.

The seen-set check, the append and joining the chat's line are one Lua script: an update is either queued,
marked seen and in its line, or none of these. The line's order is therefore exactly the stream's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.errors import StoreUnavailable
from bot.metrics import Metrics
from bot.store.albums import ALBUM_TTL_SECONDS, album_of
from bot.store.keys import Keys
from bot.store.lines import LINE_TTL_SECONDS
from bot.store.script import Arg, LuaScript

logger = logging.getLogger(__name__)

SEEN_TTL_SECONDS = 24 * 3600
STREAM_MAXLEN = 100_000

# KEYS: seen marker, stream[, the chat's line[, the album]]. ARGV: ttl seconds, maxlen, payload[, line ttl[,
# update id, now (ms), album ttl]]. Returns the entry id, or false if seen. The entry joins its chat's line in
# the same step, so the line's order is exactly the stream's; an album's part is recorded in it too
# (store/albums.py).
_SUBMIT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'u', ARGV[3])
if KEYS[3] then
  local millis, sequence = string.match(id, '(%d+)-(%d+)')
  redis.call('ZADD', KEYS[3], tonumber(millis) * 1000 + math.min(tonumber(sequence), 999), id)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if KEYS[4] then
  redis.call('HSET', KEYS[4], 'u:' .. ARGV[5], ARGV[3])
  if tonumber(ARGV[6]) > tonumber(redis.call('HGET', KEYS[4], 'last') or '0') then
    redis.call('HSET', KEYS[4], 'last', ARGV[6])
  end
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
return id
"""


class Intake:
    """Queues updates into the shared stream, dropping those seen in the last 24 h."""

    def __init__(self, redis: Redis, keys: Keys, metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
        self._keys = keys
        self._clock = clock
        self._metrics = metrics
        self._submit = LuaScript(redis, _SUBMIT)

    async def submit(self, data: dict[str, Any]) -> bool:
        """Queue an update unless seen in the last 24 h; True when queued."""
        update_id = int(data["update_id"])
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        line = line_of(self._keys, data)
        keys = [self._keys.seen(update_id), self._keys.stream, *([line] if line else [])]
        args: list[Arg] = [SEEN_TTL_SECONDS, STREAM_MAXLEN, payload, LINE_TTL_SECONDS]
        album = album_of(data)
        if album is not None and line is not None:
            keys.append(self._keys.album(*album))
            args += [update_id, int(self._clock() * 1000), ALBUM_TTL_SECONDS]
        try:
            entry = await self._submit(keys, args)
        except (RedisError, OSError) as exc:
            self._metrics.redis_errors.labels("ingress").inc()
            raise StoreUnavailable(type(exc).__name__) from exc
        self._metrics.updates_received.inc()
        if not entry:
            self._metrics.updates_duplicate.inc()
            logger.info("duplicate update ignored", extra={"update_id": update_id})
        return bool(entry)


def line_of(keys: Keys, data: dict[str, Any]) -> str | None:
    """The line in which an update waits for its chat's earlier ones (None: it never waits, e.g. a button)."""
    chat = ChatKey.of_update(data)
    return None if chat is None else keys.line(chat)
