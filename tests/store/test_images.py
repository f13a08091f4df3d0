from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.store.images import DailyImages
from bot.store.keys import Keys


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_user_takes_up_to_the_limit_a_day_and_a_failed_image_is_given_back(redis: Redis) -> None:
    clock = Clock(datetime.now(UTC))
    quota = DailyImages(redis, Keys("t:1"), clock)
    assert [await quota.take(5, 2) for _ in range(3)] == [True, True, False]
    assert await quota.take(6, 2)  # another user's count is their own
    await quota.give_back(5)
    assert await quota.take(5, 2) and not await quota.take(5, 2)
    clock.now += timedelta(days=1)
    assert await quota.take(5, 2)
