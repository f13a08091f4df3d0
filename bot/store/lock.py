"""One turn at a time per chat, across replicas: a Redis lock (SET NX PX, renewed, compare-and-delete).

Inside one process a FIFO asyncio.Lock per chat queues turns in arrival order before they contend in Redis,
so a replica never polls Redis against itself. The lock's value names the turn holding it: a replica taking
over a turn from a dead one takes over its lock at once instead of waiting for it to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.script import LuaScript

logger = logging.getLogger(__name__)

_MAX_POLL_SECONDS = 0.5

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: the lock. ARGV: the new token, ttl ms, the turn's prefix. Takes a free lock, or one its own turn held.
_TAKE_OVER = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, string.len(ARGV[3])) ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass
class Lease:
    """Proof of holding a chat's lock; the history commit may release it in the same round trip."""

    key: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    released: bool = False


@dataclass
class _Local:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ChatLock:
    """Serialises turns per chat; a holder that died stops blocking once its lock expires (ttl)."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: float = 10.0, poll_seconds: float = 0.05, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = int(ttl_seconds * 1000)
        self._poll = poll_seconds
        self._sleep = sleep
        self._local: dict[ChatKey, _Local] = {}
        self._release = LuaScript(redis, _RELEASE)
        self._renew = LuaScript(redis, _RENEW)
        self._take_over = LuaScript(redis, _TAKE_OVER)

    @contextlib.asynccontextmanager
    async def hold(self, chat: ChatKey, turn: str | None = None, takeover: bool = False) -> AsyncIterator[Lease]:
        """Wait for the chat's turn, keep the lock alive while the body runs, release it at the end. With
        ``takeover``, a lock the same ``turn`` held on a replica that died is taken at once."""
        local = self._local.setdefault(chat, _Local())
        local.users += 1
        try:
            async with local.lock:
                lease = await self._acquire(chat, turn, takeover)
                renewal = asyncio.create_task(self._keep_alive(lease))
                try:
                    yield lease
                finally:
                    renewal.cancel()  # not awaited: a renewal in flight must not hold up the turn's end
                    await self._release_quietly(lease)
        finally:
            local.users -= 1
            if local.users == 0:
                del self._local[chat]

    async def _acquire(self, chat: ChatKey, turn: str | None, takeover: bool) -> Lease:
        prefix = f"{turn}:" if turn is not None else ""
        lease = Lease(self._keys.lock(chat), token=prefix + uuid.uuid4().hex)
        delay = self._poll
        while not await self._take(lease, prefix if takeover else None):
            await self._sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, _MAX_POLL_SECONDS)
        return lease

    async def _take(self, lease: Lease, own_prefix: str | None) -> bool:
        if own_prefix:
            return bool(await self._take_over([lease.key], [lease.token, self._ttl_ms, own_prefix]))
        return bool(await self._redis.set(lease.key, lease.token, nx=True, px=self._ttl_ms))

    async def _keep_alive(self, lease: Lease) -> None:
        while True:
            await self._sleep(self._ttl_ms / 3000)
            try:
                renewed = lease.released or await self._renew([lease.key], [lease.token, self._ttl_ms])
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # redis-py may turn our stop into a ConnectionError
                    return
                logger.warning("could not renew the lock %s (%s)", lease.key, type(exc).__name__)
                continue  # the store is down: try again at the next beat
            if lease.released:  # the commit released it (maybe while this renewal was on its way)
                return
            if not renewed:
                logger.warning("lost the lock %s while the turn was still running", lease.key)
                return

    async def _release_quietly(self, lease: Lease) -> None:
        if lease.released:
            return
        try:
            await asyncio.shield(self._release([lease.key], [lease.token]))
        except Exception:  # the lock expires by itself; a failed release must not fail the turn
            logger.warning("could not release the lock %s", lease.key, exc_info=True)
