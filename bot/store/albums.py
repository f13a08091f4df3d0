"""Albums: several photos sent together arrive as separate updates (one ``media_group_id``), possibly on
different replicas, and become one turn.

The intake records each part in the album's hash as it queues the update (in the same script, so a part is
recorded exactly when it is queued). The chat's line hands the parts to the handlers one after another; the
first part's handler waits until no part has arrived for the window, then claims every unclaimed part and
answers them as one turn. The later parts' handlers find themselves claimed and stay silent. A part that came
after the claim starts an album turn of its own. A claim survives a takeover: the same update claims the same
parts again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.errors import StoreUnavailable
from bot.store.keys import Keys
from bot.store.script import LuaScript

ALBUM_TTL_SECONDS = 600
WINDOW_SECONDS = 1.0  # parts are gathered until none has come for this long
MAX_WAIT_SECONDS = 10.0  # a stream of parts that never pauses is answered after this long

# KEYS: the album. ARGV: this update's id, now (ms), window (ms), force (1: claim whatever has come).
# Returns {0} when another update answers this part, {1, ms to wait} while parts may still come, else
# {2, payload…}: the parts this update answers, oldest first.
_CLAIM = """
local mine = ARGV[1]
local owner = redis.call('HGET', KEYS[1], 't:' .. mine)
if owner and owner ~= mine then return {0} end
if not owner then
  local quiet = tonumber(ARGV[2]) - tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
  if quiet < tonumber(ARGV[3]) and ARGV[4] ~= '1' then return {1, tonumber(ARGV[3]) - quiet} end
  local fields = redis.call('HKEYS', KEYS[1])
  for _, field in ipairs(fields) do
    if string.sub(field, 1, 2) == 'u:' then
      local id = string.sub(field, 3)
      if not redis.call('HGET', KEYS[1], 't:' .. id) then redis.call('HSET', KEYS[1], 't:' .. id, mine) end
    end
  end
end
local ids = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 't:' and redis.call('HGET', KEYS[1], field) == mine then
    table.insert(ids, tonumber(string.sub(field, 3)))
  end
end
table.sort(ids)
local parts = {2}
for _, id in ipairs(ids) do table.insert(parts, redis.call('HGET', KEYS[1], 'u:' .. id)) end
return parts
"""


def album_of(data: dict[str, Any]) -> tuple[ChatKey, str] | None:
    """The chat and media group of an update that is part of an album."""
    message = data.get("message")
    group = message.get("media_group_id") if isinstance(message, dict) else None
    chat = ChatKey.of_update(data)
    return (chat, str(group)) if group and chat is not None else None


class Albums:
    """Gathers an album's parts across replicas (see the module's docstring)."""

    def __init__(self, redis: Redis, keys: Keys, *, window: float = WINDOW_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._keys = keys
        self._claim = LuaScript(redis, _CLAIM)
        self._window = window
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    async def gather(self, chat: ChatKey, media_group_id: str, update_id: int) -> list[str] | None:
        """The raw updates (JSON) this update answers as one turn, oldest first; None when another update
        of the album answers this one (or it was never recorded: then only itself, as the empty list)."""
        key = self._keys.album(chat, media_group_id)
        give_up = self._clock() + self._max_wait
        while True:
            force = self._clock() >= give_up
            try:
                result = await self._claim([key], [update_id, int(self._clock() * 1000), int(self._window * 1000),
                                                   int(force)])
            except (RedisError, OSError) as exc:
                raise StoreUnavailable(type(exc).__name__) from exc
            if result[0] == 0:
                return None
            if result[0] == 2:
                return [str(part) for part in result[1:]]
            await self._sleep(min(int(result[1]) / 1000, max(0.0, give_up - self._clock())) + 0.01)
