"""One turn at a time per chat, across replicas: a Redis lock (SET NX PX, renewed, compare-and-delete).

Inside one process a FIFO asyncio.Lock per chat queues turns in arrival order before they contend in Redis,
so a replica never polls Redis against itself.
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

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.script import LuaScript

logger = logging.getLogger(__name__)

_MAX_POLL_SECONDS = 0.5

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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

    @contextlib.asynccontextmanager
    async def hold(self, chat: ChatKey) -> AsyncIterator[Lease]:
        """Wait for the chat's turn, keep the lock alive while the body runs, release it at the end."""
        local = self._local.setdefault(chat, _Local())
        local.users += 1
        try:
            async with local.lock:
                lease = await self._acquire(chat)
                renewal = asyncio.create_task(self._keep_alive(lease))
                try:
                    yield lease
                finally:
                    renewal.cancel()
                    await self._release_quietly(lease)
        finally:
            local.users -= 1
            if local.users == 0:
                del self._local[chat]

    async def _acquire(self, chat: ChatKey) -> Lease:
        lease = Lease(self._keys.lock(chat))
        delay = self._poll
        while not await self._redis.set(lease.key, lease.token, nx=True, px=self._ttl_ms):
            await self._sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, _MAX_POLL_SECONDS)
        return lease

    async def _keep_alive(self, lease: Lease) -> None:
        while True:
            await self._sleep(self._ttl_ms / 3000)
            renewed = lease.released or await self._renew([lease.key], [lease.token, self._ttl_ms])
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
