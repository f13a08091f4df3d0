"""Counting Redis round trips: a connection class that counts every write to the socket."""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection


class CountingConnection(Connection):
    """Each send_packed_command is one round trip (a pipeline sends all its commands at once)."""

    sent = 0

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def counting_redis(url: str) -> Redis:
    """A client on ``url`` whose round trips show in ``CountingConnection.sent``."""
    pool: ConnectionPool = ConnectionPool.from_url(url, decode_responses=True, connection_class=CountingConnection)
    client: Redis = Redis(connection_pool=pool)
    return client


def reset() -> int:
    """Return the count so far and start again from zero."""
    count, CountingConnection.sent = CountingConnection.sent, 0
    return count


