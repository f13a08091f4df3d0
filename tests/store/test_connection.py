"""The client REDIS_URL builds: one Redis, a Sentinel-managed master followed through failovers, the embedded store."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from bot.store.connection import REDIS_CONNECTIONS, connect
from bot.store.script import LuaScript
from tests.redis_server import SentinelSet, running_sentinels

COUNT = "return redis.call('INCR', KEYS[1])"


async def test_unset_is_the_embedded_store_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    client = connect(None)
    assert await client.set("k", "v") and await client.get("k") == "v"
    assert "History is LOST on restart" in caplog.text
    await client.aclose()


async def test_a_burst_beyond_the_pool_waits_for_connections_instead_of_failing(redis_url: str) -> None:
    with running_sentinels() as sentinels:
        for url in (redis_url, sentinels.url):
            client = connect(url)
            waits = [client.blpop([f"nothing-{n}"], timeout=0.2) for n in range(REDIS_CONNECTIONS + 20)]
            assert await asyncio.gather(*waits) == [None] * (REDIS_CONNECTIONS + 20)
            await client.aclose()


@pytest.mark.parametrize("sentinels_ask", [False, True], ids=["servers", "servers and sentinels"])
async def test_the_urls_password_and_database_reach_the_master_and_the_sentinels_that_ask(sentinels_ask: bool) -> None:
    with running_sentinels("s3cret", sentinels_ask=sentinels_ask) as sentinels:
        client = connect(f"{sentinels.url}/2")  # its first connections, opened at once, each ask the sentinels
        assert await asyncio.gather(*(client.set(f"k{n}", "v") for n in range(8))) == [True] * 8
        await client.aclose()
        with SyncRedis(port=sentinels.master_port(), password="s3cret", db=2) as master:
            assert master.mget([f"k{n}" for n in range(8)]) == [b"v"] * 8


async def test_commands_in_flight_ride_through_a_killed_master(caplog: pytest.LogCaptureFixture) -> None:
    with running_sentinels() as sentinels:
        client = connect(sentinels.url)
        count = LuaScript(client, COUNT)
        assert await count(["n"], []) == 1
        await client.xgroup_create("updates", "bot", id="0", mkstream=True)
        await client.wait(1, 5000)  # replicated: what a kill may lose is another test's subject
        reading = asyncio.create_task(_read(client))
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("stops")
        listening = asyncio.create_task(_first_message(pubsub))
        await asyncio.sleep(0.2)  # the read and the subscription wait on the master
        sentinels.kill_primary()
        assert await count(["n"], []) == 2  # waits for the failover, loads the script into the new master
        assert sentinels.master_port() == sentinels.replica_port
        await client.xadd("updates", {"u": "after"})
        assert (await reading)[0][1][0][1] == {"u": "after"}  # the blocked read, sent again to the new master
        for _ in range(100):  # until the listener has resubscribed on the new master
            if await client.publish("stops", "7"):
                break
            await asyncio.sleep(0.05)
        assert await listening == "7"
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
    assert f"moved to 127.0.0.1:{sentinels.replica_port}" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_planned_switchover_moves_the_writes_to_the_new_master_without_a_failure() -> None:
    with running_sentinels() as sentinels:
        written, times = await _count_until_the_new_master_counts(sentinels)
    assert len(written) > 1  # every write was answered, and the last ones went to the new master
    # Those the old master took after the replica's promotion are lost: the new master counts them again.
    lost = len(written) - written[-1]
    first_on_new = next((i for i in range(1, len(written)) if written[i] <= written[i - 1]), len(written))
    window = times[first_on_new - 1] - times[first_on_new - lost] if lost else 0.0
    print(f"switchover: {lost} of {len(written)} writes lost, those of the last {window:.1f} s on the old master")


async def _count_until_the_new_master_counts(sentinels: SentinelSet) -> tuple[list[int], list[float]]:
    """Count while Sentinel switches masters, until a count is the new master's: the counts and their times."""
    client = connect(sentinels.url)
    count = LuaScript(client, COUNT)
    old = sentinels.master_port()
    written, times = [await count(["n"], [])], [time.monotonic()]
    sentinels.switch_over()
    while not (sentinels.master_port() != old and _counted(sentinels.master_port()) == written[-1]):
        written.append(await count(["n"], []))
        times.append(time.monotonic())
        await asyncio.sleep(0.02)
    await client.aclose()
    return written, times


def _counted(port: int) -> int:
    with SyncRedis(port=port, decode_responses=True) as server:
        return int(server.get("n") or 0)


async def _read(client: Redis) -> Any:
    return await client.xreadgroup("bot", "me", {"updates": ">"}, block=30_000)


async def _first_message(pubsub: PubSub) -> str:
    async for message in pubsub.listen():
        return str(message["data"])
    raise AssertionError("the subscription ended")
