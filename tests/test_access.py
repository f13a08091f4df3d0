from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import pytest
from redis.asyncio import Redis

from bot.domain.access import Allowlist
from bot.store.gate import Gatekeeper
from bot.store.keys import Keys

ALICE, BOB, GROUP, OTHER_GROUP = 1, 2, -100, -200


class Admins:
    """Telegram's getChatAdministrators, counting how often it is asked."""

    def __init__(self, admins: dict[int, list[int]]) -> None:
        self.admins = admins
        self.asked: list[int] = []

    async def __call__(self, chat_id: int) -> Iterable[int]:
        self.asked.append(chat_id)
        return self.admins.get(chat_id, [])


def gatekeeper(redis: Redis, admins: Admins | None = None) -> Gatekeeper:
    return Gatekeeper(redis, Keys("t"), admins or Admins({}))


async def same_minute() -> None:
    """The per-minute counter follows the wall clock; start a burst well inside one minute."""
    if time.time() % 60 > 58:
        await asyncio.sleep(2.5)


@pytest.mark.parametrize(("allowlist", "user_id", "chat_id", "permitted"), [
    (Allowlist(), ALICE, ALICE, True),
    (Allowlist(), None, GROUP, True),
    (Allowlist(users=frozenset({ALICE})), ALICE, ALICE, True),
    (Allowlist(users=frozenset({ALICE})), ALICE, GROUP, True),
    (Allowlist(users=frozenset({ALICE})), BOB, BOB, False),
    (Allowlist(users=frozenset({ALICE})), BOB, GROUP, False),
    (Allowlist(users=frozenset({ALICE})), None, GROUP, False),
    (Allowlist(chats=frozenset({GROUP})), BOB, GROUP, True),
    (Allowlist(chats=frozenset({GROUP})), None, GROUP, True),
    (Allowlist(chats=frozenset({GROUP})), BOB, OTHER_GROUP, False),
    (Allowlist(chats=frozenset({GROUP})), BOB, BOB, False),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), BOB, GROUP, True),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), ALICE, OTHER_GROUP, True),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), BOB, OTHER_GROUP, False),
])
def test_who_may_use_the_bot(allowlist: Allowlist, user_id: int | None, chat_id: int, permitted: bool) -> None:
    assert allowlist.permits(user_id, chat_id) is permitted


async def test_a_refused_user_is_told_once(redis: Redis) -> None:
    gate, elsewhere = gatekeeper(redis), gatekeeper(redis)
    assert await gate.first_refusal(BOB) is True
    assert await gate.first_refusal(BOB) is False
    assert await elsewhere.first_refusal(BOB) is False  # another replica remembers it too
    assert await gate.first_refusal(ALICE) is True
    assert 29 * 86400 < await redis.ttl(f"t:refused:{BOB}") <= 30 * 86400


async def test_a_user_over_the_minute_limit_is_slowed_down_and_told_once(redis: Redis) -> None:
    gate = gatekeeper(redis)
    await same_minute()
    answers = [await gate.too_fast(ALICE, per_minute=3) for _ in range(5)]
    assert answers == [(False, False)] * 3 + [(True, True), (True, False)]
    assert await gate.too_fast(BOB, per_minute=3) == (False, False)


async def test_the_minute_limit_is_shared_by_replicas(redis: Redis) -> None:
    replicas = [gatekeeper(redis), gatekeeper(redis)]
    await same_minute()
    answers = [await replicas[i % 2].too_fast(ALICE, per_minute=2) for i in range(4)]
    assert answers == [(False, False)] * 2 + [(True, True), (True, False)]


async def test_group_admins_are_asked_of_telegram_once_and_cached(redis: Redis) -> None:
    admins = Admins({GROUP: [ALICE]})
    gate = gatekeeper(redis, admins)
    assert await gate.is_admin(GROUP, ALICE) is True
    assert await gate.is_admin(GROUP, BOB) is False
    assert await gatekeeper(redis, admins).is_admin(GROUP, ALICE) is True
    assert admins.asked == [GROUP]
    assert 0 < await redis.ttl(f"t:admins:{GROUP}") <= 300


async def test_a_group_without_admins_is_cached_too(redis: Redis) -> None:
    admins = Admins({})
    gate = gatekeeper(redis, admins)
    assert await gate.is_admin(GROUP, ALICE) is False
    assert await gate.is_admin(GROUP, ALICE) is False
    assert admins.asked == [GROUP]


async def test_admins_are_asked_again_once_the_cache_expires(redis: Redis) -> None:
    admins = Admins({GROUP: [ALICE]})
    gate = gatekeeper(redis, admins)
    assert await gate.is_admin(GROUP, BOB) is False
    admins.admins[GROUP] = [ALICE, BOB]
    await redis.delete(f"t:admins:{GROUP}")  # what the five-minute expiry does
    assert await gate.is_admin(GROUP, BOB) is True
    assert await gate.is_admin(OTHER_GROUP, BOB) is False
    assert admins.asked == [GROUP, GROUP, OTHER_GROUP]
