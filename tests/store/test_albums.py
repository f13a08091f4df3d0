"""Albums gathered across replicas: the intake records each part, the first part's update answers them all."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.ingress.intake import Intake
from bot.metrics import Metrics
from bot.store.albums import Albums
from bot.store.keys import Keys
from tests.virtual_clock import VirtualClock

KEYS = Keys("t:albums")
CHAT = ChatKey(42)
EPOCH = 1_700_000_000.0


def part(update_id: int, group: str = "g1") -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "media_group_id": group,
                                                "chat": {"id": 42, "type": "private"}}}


def ids(raw: list[str] | None) -> list[int] | None:
    return None if raw is None else [json.loads(r)["update_id"] for r in raw]


async def test_the_first_part_waits_for_the_window_then_answers_every_part(redis: Redis) -> None:
    clock = VirtualClock()
    intake = Intake(redis, KEYS, Metrics(), clock=lambda: EPOCH + clock())
    albums = Albums(redis, KEYS, window=1.0, clock=lambda: EPOCH + clock(), sleep=clock.sleep)
    await intake.submit(part(1))
    leader = asyncio.create_task(albums.gather(CHAT, "g1", 1))
    await clock.advance(0.6)
    await intake.submit(part(2))  # on another replica, say
    await clock.advance(0.9)
    assert not leader.done()  # 1 s after the last part has not passed yet
    await clock.advance(0.3)
    assert ids(await asyncio.wait_for(leader, 1)) == [1, 2]
    assert await albums.gather(CHAT, "g1", 2) is None  # the second part's update stays silent
    assert ids(await albums.gather(CHAT, "g1", 1)) == [1, 2]  # a takeover of the first gets the same parts


async def test_a_part_that_comes_after_the_claim_is_a_turn_of_its_own(redis: Redis) -> None:
    clock = VirtualClock()
    intake = Intake(redis, KEYS, Metrics(), clock=lambda: EPOCH + clock())
    albums = Albums(redis, KEYS, window=1.0, clock=lambda: EPOCH + clock(), sleep=clock.sleep)
    await intake.submit(part(1))
    await clock.advance(2)
    assert ids(await albums.gather(CHAT, "g1", 1)) == [1]
    await intake.submit(part(3))
    await clock.advance(2)
    assert ids(await albums.gather(CHAT, "g1", 3)) == [3]


async def test_an_album_whose_parts_never_pause_is_answered_after_the_longest_wait(redis: Redis) -> None:
    clock = VirtualClock()
    intake = Intake(redis, KEYS, Metrics(), clock=lambda: EPOCH + clock())
    albums = Albums(redis, KEYS, window=1.0, max_wait=3.0, clock=lambda: EPOCH + clock(), sleep=clock.sleep)
    await intake.submit(part(1))
    leader = asyncio.create_task(albums.gather(CHAT, "g1", 1))
    for n in range(2, 8):
        await clock.advance(0.5)
        await intake.submit(part(n))
    await clock.advance(0.5)
    assert ids(await asyncio.wait_for(leader, 1)) == [1, 2, 3, 4, 5, 6, 7]


async def test_an_update_never_recorded_answers_itself_alone(redis: Redis) -> None:
    albums = Albums(redis, KEYS, window=0.01)
    assert await albums.gather(CHAT, "unknown", 9) == []
