"""The Sentinel client's own parts: sentinels asked with the URL's password once they refuse to answer without."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel

from bot.store.address import SentinelAddress
from bot.store.sentinel import _Sentinel


async def test_sentinels_asked_at_once_switch_to_the_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Questions asked at the same time that all meet NOAUTH switch to the password once, not back and forth."""
    sentinel = _Sentinel(SentinelAddress((("127.0.0.1", 1), ("127.0.0.1", 2)), "mymaster", password="s3cret"))
    plain = sentinel.sentinels

    async def discover(self: Sentinel, service_name: str) -> tuple[str, int]:
        asked = self.sentinels  # the sentinels it asks are those of when it starts
        await asyncio.sleep(0.01)
        if asked is plain:
            raise MasterNotFoundError("No master found for 'mymaster' : AuthenticationError('NOAUTH')")
        return ("127.0.0.1", 6379)

    monkeypatch.setattr(Sentinel, "discover_master", discover)
    assert await asyncio.gather(*(sentinel.discover_master("mymaster") for _ in range(4))) == [("127.0.0.1", 6379)] * 4
    assert sentinel.sentinels is not plain
    await sentinel.aclose()
