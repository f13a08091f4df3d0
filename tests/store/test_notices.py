from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.notices import Notices

DAY = 86400.0


async def test_a_note_is_due_once_a_day_per_chat(redis: Redis) -> None:
    now = [1_700_000_000.0]
    notices = Notices(redis, Keys("t:n"), clock=lambda: now[0])
    assert await notices.first_today(ChatKey(1), "images")
    assert not await notices.first_today(ChatKey(1), "images")
    assert await notices.first_today(ChatKey(2), "images")
    now[0] += DAY
    assert await notices.first_today(ChatKey(1), "images")
