from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from bot.store.latest import LatestAnswer, LatestAnswers

KEYS, CHAT = Keys("t:1"), ChatKey(-100, 7)


async def test_the_newest_answer_replaces_the_one_before(redis: Redis) -> None:
    latest = LatestAnswers(redis, KEYS, 3600)
    assert await latest.get(CHAT) is None
    first = LatestAnswer(asker=5, asked=10, messages=(11, 12))
    assert await latest.replace(CHAT, first) is None
    assert await latest.replace(CHAT, LatestAnswer(5, 13, (14,))) == first
    assert await latest.get(CHAT) == LatestAnswer(5, 13, (14,))
    assert await latest.get(ChatKey(-100)) is None  # another topic of the group
    assert 0 < await redis.ttl(KEYS.latest(CHAT)) <= 3600


async def test_the_edit_note_is_told_once_per_chat(redis: Redis) -> None:
    latest = LatestAnswers(redis, KEYS, 3600)
    assert [await latest.first_edit_note(CHAT) for _ in range(3)] == [True, False, False]
    assert await latest.first_edit_note(ChatKey(5))


def test_a_record_that_is_not_one_reads_as_none() -> None:
    assert LatestAnswer.from_json("{}") is None and LatestAnswer.from_json("not json") is None
