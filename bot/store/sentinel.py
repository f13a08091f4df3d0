"""Following the master of a Sentinel-managed Redis through failovers, with redis-py's asyncio Sentinel client.

Every (re)connect asks the sentinels where the master is, and keeps asking (with backoff, for up to
FAILOVER_SECONDS) while a failover has none to name. A command whose connection broke, or that reached a master
being demoted (READONLY, UNBLOCKED, NOREPLICAS), is sent again on a connection to the master Sentinel names then.
So during a failover callers see slow commands, not errors. While commands flow, the pool also asks Sentinel (at
most once every MASTER_CHECK_SECONDS, beside the commands), so a switch that leaves the old master up and
writable for a while (a planned SENTINEL FAILOVER, a partition) moves the connections within about that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError, RedisError, ResponseError, TimeoutError

from bot.store.address import SentinelAddress

logger = logging.getLogger(__name__)

# Longer than Sentinel takes to notice a dead master (down-after-milliseconds: 5 s in deploy/) and promote a replica.
FAILOVER_SECONDS = 30.0
MASTER_CHECK_SECONDS = 1.0
_FIRST_PAUSE_SECONDS = 0.05
_LONGEST_PAUSE_SECONDS = 1.0
# Tries again of a command, or of a connection's handshake, that broke or reached a demoted master; waiting for
# a master to be named happens in _connect, so a few suffice (and keep a total outage's errors prompt).
_COMMAND_RETRIES = 3
# Replies of a master that is being demoted (its blocked readers are released) or has lost its replicas.
_NOT_MASTER = ("UNBLOCKED", "NOREPLICAS")
# A sentinel that does not answer at once is skipped for the next one; redis-py's default retries would wait on it.
_SENTINEL_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 1, "retry": Retry(NoBackoff(), 0)}


def sentinel_master(address: SentinelAddress, **options: Any) -> Redis:
    """A client of the master ``address`` names, connected lazily, with a blocking pool made with ``options``."""
    sentinel = _Sentinel(address)
    logger.info("Redis: the master of Sentinel service %r, asked of %d sentinel(s)", address.service,
                len(address.sentinels))
    retry = Retry(EqualJitterBackoff(cap=_LONGEST_PAUSE_SECONDS, base=_FIRST_PAUSE_SECONDS), _COMMAND_RETRIES)
    client: Redis = sentinel.master_for(
        address.service, connection_pool_class=_FailoverPool, connection_class=_FailoverConnection,
        db=address.db, username=address.username, password=address.password, retry=retry, **options)
    return client


class _Sentinel(Sentinel):
    """The sentinels, asked without AUTH; when they refuse that (NOAUTH: requirepass on the sentinels), asked with
    the URL's credentials, which are the servers' — and back again should those be refused."""

    def __init__(self, address: SentinelAddress) -> None:
        super().__init__(address.sentinels, sentinel_kwargs=_SENTINEL_OPTIONS)  # type: ignore[no-untyped-call]
        self._other: list[Redis] = []
        if address.password is not None:
            options = {**_SENTINEL_OPTIONS, "username": address.username, "password": address.password}
            self._other = [Redis(host=host, port=port, **options) for host, port in address.sentinels]

    async def discover_master(self, service_name: str) -> Any:
        asked = self.sentinels
        try:
            return await super().discover_master(service_name)
        except MasterNotFoundError as exc:
            if not self._other or "AuthenticationError" not in str(exc):  # its text names each sentinel's error
                raise
        if self.sentinels is asked:  # else a question asked at the same time has switched already: not back
            self.sentinels, self._other = self._other, self.sentinels  # kept for the next questions if it works
        return await super().discover_master(service_name)

    async def aclose(self) -> None:
        await asyncio.gather(*(sentinel.aclose() for sentinel in self._other), return_exceptions=True)
        await super().aclose()


class _FailoverConnection(SentinelManagedConnection):
    """A connection to the master Sentinel names at each connect; a demoted master's refusals break it.

    redis-py reconnects a broken connection to the address it had (redis/redis-py#3874), which after a failover
    is the dead or demoted master; the address is therefore looked up in ``_connect``, where every path connects.
    Once FAILOVER_SECONDS have passed without a master, connects fail at once until one succeeds again.
    """

    _give_up_at: float | None = None

    async def connect(self) -> None:
        # A plain connection's connect (a handshake that fails is tried again), not the Sentinel one: that asks for
        # the master before ``_connect``, so a moment of the failover without one would end it after a few tries.
        await super(SentinelManagedConnection, self).connect()  # type: ignore[no-untyped-call]

    async def _connect(self) -> None:
        pause = _FIRST_PAUSE_SECONDS
        while True:
            try:
                await self._connect_to_master()
                self._give_up_at = None
                return
            except (OSError, ConnectionError, TimeoutError):
                now = time.monotonic()
                self._give_up_at = self._give_up_at or now + FAILOVER_SECONDS
                if now + pause > self._give_up_at:
                    raise
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # spread the connections' questions out
            pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)

    async def _connect_to_master(self) -> None:
        self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()  # type: ignore[no-untyped-call]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if not str(exc).startswith(_NOT_MASTER):
                raise
            await self.disconnect()  # like redis-py does for READONLY: the next try asks Sentinel again
            raise ConnectionError(f"{self.host}:{self.port} is no longer a writable master") from exc


class _FailoverPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool, blocking at the limit like the single-Redis one; it notices and logs a moved master.

    The check while commands flow runs beside them (its task is the pool's, cancelled when it closes): sentinels
    that do not answer must not slow a command down while the master does.
    """

    _followed: tuple[str, int] | None = None
    _next_check = 0.0
    _checking: asyncio.Task[None] | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        self._check_master_soon()
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]

    async def ensure_connection(self, connection: Any) -> None:
        if self._followed is not None and (connection.host, connection.port) != self._followed:
            await connection.disconnect()  # still talking to the old master
        await super().ensure_connection(connection)

    async def get_master_address(self) -> tuple[str, int]:
        address: tuple[str, int] = await super().get_master_address()  # type: ignore[no-untyped-call]
        if address != self._followed:
            if self._followed is not None:
                logger.warning("Redis master of %r moved to %s:%s (Sentinel failover)", self.service_name, *address)
            self._followed = address
        return address

    async def aclose(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            await asyncio.gather(self._checking, return_exceptions=True)
        await super().aclose()
        await self.sentinel_manager.aclose()

    def _check_master_soon(self) -> None:
        now = time.monotonic()
        if now < self._next_check or self._followed is None or not (self._checking is None or self._checking.done()):
            return
        self._next_check = now + MASTER_CHECK_SECONDS
        self._checking = asyncio.create_task(self._check_master())

    async def _check_master(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # none named now: the connections find out themselves
            await self.get_master_address()
