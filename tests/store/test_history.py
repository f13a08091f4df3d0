from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.outcome import Delivery, Ending
from bot.domain.transcript import Summary, Transcript, Turn
from bot.domain.usage import Budgets
from bot.store.history import _APPEND as APPEND
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import Lease
from bot.store.script import Arg, LuaScript
from bot.store.usage import UsageLedger

TTL = 600


def store(redis: Redis, settings_ttl: int = 1000) -> RedisHistory:
    return RedisHistory(redis, Keys("t:1"), UsageLedger(redis, Keys("t:1"), Budgets()), TTL, settings_ttl)


def exchange(n: int) -> list[Turn]:
    return [Turn("user", f"question {n}", 5), Turn("assistant", f"answer {n}", 7)]


async def test_commit_then_load_returns_the_turns_in_order(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1), [])
    await history.commit(ChatKey(42), exchange(2), [])
    transcript = await history.load(ChatKey(42))
    assert [t.content for t in transcript.turns] == ["question 1", "answer 1", "question 2", "answer 2"]
    assert transcript.history_tokens == 24
    assert (await history.load(ChatKey(43))).turns == ()


async def test_every_write_renews_the_ttl_of_turns_and_summary(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1) + exchange(2), [])
    assert await history.fold(ChatKey(42), (await history.load(ChatKey(42))).turns[:2], Summary("they talked", 3))
    keys = Keys("t:1")
    await redis.expire(keys.turns(ChatKey(42)), 5)
    await redis.expire(keys.summary(ChatKey(42)), 5)
    await history.commit(ChatKey(42), exchange(3), [])
    assert await redis.ttl(keys.turns(ChatKey(42))) > TTL - 5
    assert await redis.ttl(keys.summary(ChatKey(42))) > TTL - 5


async def test_commit_releases_the_lock_only_for_its_holder(redis: Redis) -> None:
    history = store(redis)
    lock_key = Keys("t:1").lock(ChatKey(42))
    await redis.set(lock_key, "someone-else")
    await history.commit(ChatKey(42), exchange(1), [], release=Lease(lock_key, "mine"))
    assert await redis.get(lock_key) == "someone-else"
    await history.commit(ChatKey(42), exchange(2), [], release=Lease(lock_key, "someone-else"))
    assert await redis.get(lock_key) is None


async def test_fold_keeps_turns_appended_meanwhile(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1) + exchange(2), [])
    snapshot = await history.load(ChatKey(42))
    await history.commit(ChatKey(42), exchange(3), [])  # arrives while the summary is being written
    assert await history.fold(ChatKey(42), snapshot.turns[:2], Summary("q1 answered", 4))
    after = await history.load(ChatKey(42))
    assert [t.content for t in after.turns] == ["question 2", "answer 2", "question 3", "answer 3"]
    assert after.summary == Summary("q1 answered", 4)


async def test_fold_is_dropped_when_the_history_changed_under_it(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1), [])
    snapshot = await history.load(ChatKey(42))
    await history.reset(ChatKey(42))
    await history.commit(ChatKey(42), exchange(9), [])
    assert not await history.fold(ChatKey(42), snapshot.turns, Summary("stale", 2))
    after = await history.load(ChatKey(42))
    assert [t.content for t in after.turns] == ["question 9", "answer 9"] and after.summary is None


async def test_reset_removes_turns_and_summary(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1) + exchange(2), [])
    first = (await history.load(ChatKey(42))).turns[:2]
    assert await history.fold(ChatKey(42), first, Summary("x", 1))
    await history.reset(ChatKey(42))
    assert await history.load(ChatKey(42)) == Transcript()


@pytest.mark.parametrize("text", ["plain", "émoji 😀 and \"quotes\" \\ back", "多语言"])
async def test_turn_text_round_trips_exactly(redis: Redis, text: str) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), [Turn("user", text, 3, name="Ann")], [])
    (turn,) = (await history.load(ChatKey(42))).turns
    assert (turn.content, turn.name, turn.tokens) == (text, "Ann", 3)


async def test_the_persona_survives_reset_and_is_renewed_by_use(redis: Redis) -> None:
    history = store(redis, settings_ttl=1000)
    await history.set_persona(ChatKey(42), '{"kind": "name", "value": "tutor"}')
    await history.commit(ChatKey(42), exchange(1), [])
    await history.reset(ChatKey(42))
    assert (await history.load(ChatKey(42))).persona == '{"kind": "name", "value": "tutor"}'
    key = Keys("t:1").persona(ChatKey(42))
    await redis.expire(key, 5)
    await history.commit(ChatKey(42), exchange(2), [])
    assert await redis.ttl(key) > 900
    await history.set_persona(ChatKey(42), None)
    assert await history.persona(ChatKey(42)) is None


async def test_a_retried_commit_appends_nothing_twice(redis: Redis) -> None:
    history = store(redis)
    turns = exchange(1)
    await history.commit(ChatKey(42), turns, [])
    await history.commit(ChatKey(42), turns, [])  # the first one's answer was lost with the connection
    assert (await history.load(ChatKey(42))).turns == tuple(turns)


class Killed(BaseException):
    """The process dying at that point (nothing after it runs)."""


class DiesAfterTheRoundTrip(LuaScript):
    """The append script of a replica SIGKILLed the moment its commit's reply arrived."""

    async def settle(self, result: Any, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        raise Killed


async def test_a_commit_cut_off_after_its_round_trip_leaves_its_turns_with_its_done_marker(redis: Redis) -> None:
    history = store(redis)  # a fresh Redis (restarted, or a new master): the append script is not loaded yet
    history._append = DiesAfterTheRoundTrip(redis, APPEND)
    with pytest.raises(Killed):
        await history.commit(ChatKey(42), exchange(1), [], turn_id="9", delivery=Delivery("answer 1", Ending.COMPLETE))
    # A replica taking the update over finds the done marker and only delivers: the turns must be there already.
    assert await history.generated("9") == Delivery("answer 1", Ending.COMPLETE)
    assert [t.content for t in (await history.load(ChatKey(42))).turns] == ["question 1", "answer 1"]


async def test_a_given_up_delivery_leaves_history_with_what_the_user_saw(redis: Redis) -> None:
    history = store(redis)
    await history.commit(ChatKey(42), exchange(1), [])
    second = exchange(2)
    await history.commit(ChatKey(42), second, [], turn_id="8", delivery=Delivery("answer 2", Ending.COMPLETE))
    seen = Delivery("answer 2", Ending.COMPLETE, seen="ans")
    await history.amend(ChatKey(42), second, Turn("assistant", "ans", 1), "8", seen)
    assert [t.content for t in (await history.load(ChatKey(42))).turns] == ["question 1", "answer 1", "question 2",
                                                                           "ans"]
    assert await history.generated("8") == seen  # the delivery record says what was shown


async def test_an_answer_the_user_never_saw_leaves_no_exchange(redis: Redis) -> None:
    history = store(redis)
    first, second = exchange(1), exchange(2)
    await history.commit(ChatKey(42), first + second, [], turn_id="8")
    await history.amend(ChatKey(42), second, None, "8", Delivery("answer 2", Ending.COMPLETE, seen=""))
    assert [t.content for t in (await history.load(ChatKey(42))).turns] == ["question 1", "answer 1"]
    await history.amend(ChatKey(42), second, None, "8", Delivery("answer 2", Ending.COMPLETE, seen=""))
    assert len((await history.load(ChatKey(42))).turns) == 2  # only the exchange itself, only while it is the last
