from __future__ import annotations

from collections.abc import Callable, Iterable

from redis.asyncio import Redis

from bot.store.gate import Gatekeeper
from bot.store.keys import Keys

ALICE, BOB, GROUP, OTHER_GROUP = 1, 2, -100, -200


class Administrators:
    """Telegram's getChatAdministrators, counting how often it is asked."""

    def __init__(self, by_group: dict[int, list[int]]) -> None:
        self.by_group = by_group
        self.asked: list[int] = []

    async def __call__(self, chat_id: int) -> Iterable[int]:
        self.asked.append(chat_id)
        return self.by_group.get(chat_id, [])


KEYS = Keys("t")
NOON = 1_764_590_400.0  # a minute's first second


def gatekeeper(redis: Redis, administrators: Administrators | None = None,
               clock: Callable[[], float] = lambda: NOON) -> Gatekeeper:
    return Gatekeeper(redis, KEYS, administrators or Administrators({}), clock=clock)


async def test_a_refused_user_is_told_once(redis: Redis) -> None:
    gate, elsewhere = gatekeeper(redis), gatekeeper(redis)
    assert await gate.first_refusal(BOB) is True
    assert await gate.first_refusal(BOB) is False
    assert await elsewhere.first_refusal(BOB) is False  # another replica remembers it too
    assert await gate.first_refusal(ALICE) is True
    assert 29 * 86400 < await redis.ttl(KEYS.refused(BOB)) <= 30 * 86400


async def test_a_user_over_the_minute_limit_is_slowed_down_and_told_once(redis: Redis) -> None:
    gate = gatekeeper(redis)
    answers = [await gate.too_fast(ALICE, per_minute=3) for _ in range(5)]
    assert answers == [(False, False)] * 3 + [(True, True), (True, False)]
    assert await gate.too_fast(BOB, per_minute=3) == (False, False)


async def test_the_minute_limit_is_shared_by_replicas(redis: Redis) -> None:
    replicas = [gatekeeper(redis), gatekeeper(redis)]
    answers = [await replicas[i % 2].too_fast(ALICE, per_minute=2) for i in range(4)]
    assert answers == [(False, False)] * 2 + [(True, True), (True, False)]


async def test_the_limit_is_a_sliding_window_not_the_clock_minute(redis: Redis) -> None:
    now = [NOON - 1.1]
    gate = gatekeeper(redis, clock=lambda: now[0])
    answers = []
    for _ in range(13):  # 13 messages in 2.2 s, across the minute boundary at NOON
        answers.append(await gate.too_fast(ALICE, per_minute=12))
        now[0] += 2.2 / 12
    assert answers == [(False, False)] * 12 + [(True, True)]


async def test_a_message_counts_for_sixty_seconds_and_refused_ones_do_not_count(redis: Redis) -> None:
    now = [NOON + 30]
    gate = gatekeeper(redis, clock=lambda: now[0])
    assert [await gate.too_fast(ALICE, per_minute=2) for _ in range(2)] == [(False, False)] * 2  # in one instant
    now[0] += 59.9  # the next clock minute: both still count
    assert await gate.too_fast(ALICE, per_minute=2) == (True, True)
    now[0] += 0.2  # both are a minute old, and the refused message never counted
    assert [await gate.too_fast(ALICE, per_minute=2) for _ in range(3)] == [(False, False)] * 2 + [(True, False)]
    assert 0 < await redis.ttl(KEYS.rate(ALICE)) <= 60


async def test_group_administrators_are_asked_of_telegram_once_and_cached(redis: Redis) -> None:
    administrators = Administrators({GROUP: [ALICE]})
    gate = gatekeeper(redis, administrators)
    assert await gate.is_group_administrator(GROUP, ALICE) is True
    assert await gate.is_group_administrator(GROUP, BOB) is False
    assert await gatekeeper(redis, administrators).is_group_administrator(GROUP, ALICE) is True
    assert administrators.asked == [GROUP]
    assert 0 < await redis.ttl(KEYS.group_administrators(GROUP)) <= 300


async def test_a_group_without_administrators_is_cached_too(redis: Redis) -> None:
    administrators = Administrators({})
    gate = gatekeeper(redis, administrators)
    assert await gate.is_group_administrator(GROUP, ALICE) is False
    assert await gate.is_group_administrator(GROUP, ALICE) is False
    assert administrators.asked == [GROUP]


async def test_administrators_are_asked_again_once_the_cache_expires(redis: Redis) -> None:
    administrators = Administrators({GROUP: [ALICE]})
    gate = gatekeeper(redis, administrators)
    assert await gate.is_group_administrator(GROUP, BOB) is False
    administrators.by_group[GROUP] = [ALICE, BOB]
    await redis.delete(KEYS.group_administrators(GROUP))  # what the five-minute expiry does
    assert await gate.is_group_administrator(GROUP, BOB) is True
    assert await gate.is_group_administrator(OTHER_GROUP, BOB) is False
    assert administrators.asked == [GROUP, GROUP, OTHER_GROUP]
