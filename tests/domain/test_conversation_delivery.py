"""Generated before delivered: what a replica taking a turn over, or a store outage, leaves the user with."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.domain.chat import ChatKey
from bot.domain.commit import StoreRetry
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.outcome import Delivery, Ending
from bot.domain.personas import PersonaCatalog
from bot.domain.ports import Usage
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets, ModelTokens
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import FakeModel, RecordingSink, Script
from tests.virtual_clock import VirtualClock

CHAT, KEYS = ChatKey(5), Keys("t:1")


class FlakyHistory(RedisHistory):
    """The real store, whose commits fail while ``down`` (as during a Redis outage)."""

    down = 0  # commits that still fail

    async def _commit(self, *args: Any) -> None:
        if self.down:
            self.down -= 1
            raise RedisConnectionError("Connection refused")
        await super()._commit(*args)


class LostReply(RedisHistory):
    """The real store, whose first commit is applied but its reply lost (the connection broke on the way back)."""

    lost = 1

    async def _commit(self, *args: Any) -> None:
        await super()._commit(*args)
        if self.lost:
            self.lost -= 1
            raise RedisConnectionError("Connection reset by peer")


class FinishRecordsOrder(RecordingSink):
    """A sink that notes whether the turn was already stored when the final text was delivered."""

    def __init__(self, redis: Redis) -> None:
        super().__init__()
        self.redis = redis
        self.stored_before_delivery: bool | None = None

    async def finish(self, text: str, ending: Ending) -> None:
        self.stored_before_delivery = bool(await self.redis.exists(KEYS.done("11")))
        await super().finish(text, ending)


class GivesUp(RecordingSink):
    """A sink whose final delivery is given up (Telegram out of reach): the user sees only ``seen``."""

    def __init__(self, seen: str) -> None:
        super().__init__()
        self.seen = seen

    async def finish(self, text: str, ending: Ending) -> str | None:
        await super().finish(text, ending)
        return self.seen


def build(redis: Redis, model: FakeModel, clock: VirtualClock | None = None,
          give_up: float = 60.0) -> tuple[Conversation, FlakyHistory]:
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = FlakyHistory(redis, KEYS, ledger, 3600, 3600)
    counter = TokenCounter("gpt-4o-mini")
    clock = clock or VirtualClock()
    conv = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01),
        counter=counter, summarizer=Summarizer(history, ledger, model, counter, model_name="s", budget=4000,
                                               max_tokens=100),
        personas=PersonaCatalog.load(), options=ReplyOptions("gpt-test", 0.7, 256, 4000),
        store_retry=StoreRetry(give_up, sleep=clock.sleep, clock=clock),
    )
    return conv, history


def roles(turns: Sequence[Any]) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in turns]


async def test_the_turn_is_stored_before_its_final_text_is_delivered(redis: Redis) -> None:
    conv, history = build(redis, FakeModel(Script(["All ", "done."])))
    sink = FinishRecordsOrder(redis)
    await conv.reply(TurnRequest(CHAT, 7, "go", turn_id="11"), sink)
    assert sink.stored_before_delivery is True
    assert await history.generated("11") == Delivery("All done.", Ending.COMPLETE)


async def test_a_taken_over_turn_whose_answer_was_generated_is_delivered_without_the_model(redis: Redis) -> None:
    model = FakeModel(Script(["First ", "answer."]))
    conv, history = build(redis, model)
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="11"), RecordingSink())  # then its replica died
    again = RecordingSink()
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="11", resumed=True), again)
    assert again.finished == ("First answer.", Ending.COMPLETE)
    assert len(model.requests) == 1  # never asked twice
    assert roles((await history.load(CHAT)).turns) == [("user", "question"), ("assistant", "First answer.")]


async def test_a_taken_over_turn_without_a_stored_answer_is_answered_once(redis: Redis) -> None:
    model = FakeModel(Script(["Fresh."]))
    conv, _ = build(redis, model)
    sink = RecordingSink()
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="12", resumed=True), sink)
    assert sink.finished == ("Fresh.", Ending.COMPLETE) and len(model.requests) == 1


async def test_a_store_outage_after_generation_delivers_the_answer_and_stores_it_once_back(redis: Redis) -> None:
    clock = VirtualClock()
    conv, history = build(redis, FakeModel(Script(["Kept ", "answer."])), clock)
    history.down = 3
    sink = RecordingSink()
    turn = TurnRequest(CHAT, 7, "question", turn_id="13")
    running = asyncio.create_task(conv.reply(turn, sink))
    while not running.done():
        await clock.advance(0.5)
    assert running.result().text == "Kept answer." and sink.failed is None
    assert sink.finished == ("Kept answer.", Ending.COMPLETE)
    assert roles((await history.load(CHAT)).turns) == [("user", "question"), ("assistant", "Kept answer.")]
    assert await history.generated("13") == Delivery("Kept answer.", Ending.COMPLETE)


async def test_the_commit_is_given_up_after_the_bound(redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    conv, history = build(redis, FakeModel(Script(["Lost."])), clock, give_up=10.0)
    history.down = 1000
    sink = RecordingSink()
    running = asyncio.create_task(conv.reply(TurnRequest(CHAT, 7, "q", turn_id="14"), sink))
    while not running.done():
        await clock.advance(1.0)
    assert sink.finished == ("Lost.", Ending.COMPLETE)
    assert clock.now <= 11.0
    assert "gave up storing a turn after 10s: the store stayed unavailable" in caplog.text
    assert (await history.load(CHAT)).turns == ()


async def test_a_delivery_given_up_leaves_history_saying_what_the_user_saw(redis: Redis) -> None:
    model = FakeModel(Script(["Half of it, ", "and the rest."]))
    conv, history = build(redis, model)
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="15"), GivesUp("Half of it, "))
    assert roles((await history.load(CHAT)).turns) == [("user", "question"), ("assistant", "Half of it, ")]
    assert await history.generated("15") == Delivery("Half of it, and the rest.", Ending.COMPLETE, seen="Half of it, ")
    again = RecordingSink()  # its replica died before the update was acknowledged: the one taking it over
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="15", resumed=True), again)
    assert again.finished is None and len(model.requests) == 1  # given up means given up: no second try


async def test_an_answer_the_user_never_saw_is_not_in_history(redis: Redis) -> None:
    conv, history = build(redis, FakeModel(Script(["Never shown."])))
    await conv.reply(TurnRequest(CHAT, 7, "question", turn_id="16"), GivesUp(""))
    assert (await history.load(CHAT)).turns == ()


async def test_a_commit_applied_whose_reply_was_lost_is_not_applied_again(redis: Redis) -> None:
    clock = VirtualClock()
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = LostReply(redis, KEYS, ledger, 3600, 3600)
    counter = TokenCounter("gpt-4o-mini")
    model = FakeModel(Script(["Counted ", "once."], usage=Usage(prompt_tokens=30, completion_tokens=3)))
    conv = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01), counter=counter,
        summarizer=Summarizer(history, ledger, model, counter, model_name="s", budget=4000, max_tokens=100),
        personas=PersonaCatalog.load(), options=ReplyOptions("gpt-test", 0.7, 256, 4000),
        store_retry=StoreRetry(60.0, sleep=clock.sleep, clock=clock))
    running = asyncio.create_task(conv.reply(TurnRequest(CHAT, 7, "question", turn_id="17"), RecordingSink()))
    while not running.done():
        await clock.advance(0.5)
    assert roles((await history.load(CHAT)).turns) == [("user", "question"), ("assistant", "Counted once.")]
    assert (await ledger.spending(user_id=7)).today == (ModelTokens("gpt-test", 30, 3),)  # counted once
