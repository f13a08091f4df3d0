from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.outcome import Ending, Failure
from bot.domain.personas import PersonaCatalog
from bot.domain.ports import Usage
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets
from bot.errors import ContextTooLong, ModelAccessDenied, ModelRejected, ModelUnavailable
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import CountingObserver, FakeModel, RecordingSink, Script

CHAT = ChatKey(1)
KEYS = Keys("t:1")


def conversation(redis: Redis, model: FakeModel, budget: int = 4000, *, budgets: Budgets | None = None,
                 moderated: bool = False, fail_closed: bool = False) -> tuple[Conversation, RedisHistory]:
    conv, history, _ = parts(redis, model, budget, budgets=budgets, moderated=moderated, fail_closed=fail_closed)
    return conv, history


def parts(redis: Redis, model: FakeModel, budget: int = 4000, *, budgets: Budgets | None = None,
          moderated: bool = False, fail_closed: bool = False) -> tuple[Conversation, RedisHistory, Summarizer]:
    """A conversation over a store, with its summarizer (whose background folds a test may wait for)."""
    ledger = UsageLedger(redis, KEYS, budgets or Budgets())
    history = RedisHistory(redis, KEYS, ledger, 3600, 3600)
    counter = TokenCounter("gpt-4o-mini")
    summarizer = Summarizer(history, ledger, model, counter, model_name="sum", budget=budget, max_tokens=100)
    lock = ChatLock(redis, KEYS, poll_seconds=0.01)
    options = ReplyOptions("gpt-test", 0.7, 256, budget, moderation_fail_closed=fail_closed)
    conv = Conversation(history=history, ledger=ledger, model=model, lock=lock, counter=counter,
                        summarizer=summarizer, personas=PersonaCatalog.load(), options=options,
                        moderator=model if moderated else None)
    return conv, history, summarizer


async def turn(conv: Conversation, text: str, chat: ChatKey = CHAT) -> RecordingSink:
    sink = RecordingSink()
    await conv.reply(TurnRequest(chat, 7, text), sink)
    return sink


async def test_a_turn_streams_to_the_sink_and_is_stored(redis: Redis) -> None:
    model = FakeModel(Script(["Hel", "lo!"], usage=Usage(30, 2)))
    conv, history = conversation(redis, model)
    sink = await turn(conv, "hi")
    assert sink.shown == ["Hel", "Hello!"]
    assert sink.finished == ("Hello!", Ending.COMPLETE)
    transcript = await history.load(ChatKey(1))
    assert [(t.role, t.content) for t in transcript.turns] == [("user", "hi"), ("assistant", "Hello!")]
    assert await redis.hgetall(next(iter([k async for k in redis.scan_iter("t:1:usage:7:*")]))) == {
        "gpt-test:prompt": "30", "gpt-test:completion": "2"}


async def test_the_next_request_carries_the_history_after_the_system_prompt(redis: Redis) -> None:
    model = FakeModel(Script(["First answer"]), Script(["Second"]))
    conv, _ = conversation(redis, model)
    await turn(conv, "first question")
    await turn(conv, "second question")
    messages = [(m.role, m.content) for m in model.requests[-1].messages]
    assert messages[0][0] == "system"
    assert messages[1:] == [("user", "first question"), ("assistant", "First answer"), ("user", "second question")]


async def test_a_failed_model_call_tells_the_user_and_stores_nothing(redis: Redis) -> None:
    model = FakeModel(Script(error=ModelUnavailable("down")), Script(error=ModelRejected("400")),
                      Script(error=ModelAccessDenied("401")))
    conv, history = conversation(redis, model)
    assert (await turn(conv, "hi")).failed is Failure.UNAVAILABLE
    assert (await turn(conv, "hi again")).failed is Failure.REJECTED
    assert (await turn(conv, "and again")).failed is Failure.MISCONFIGURED  # not "try rephrasing"
    assert (await history.load(ChatKey(1))).turns == ()
    assert await redis.get(KEYS.lock(ChatKey(1))) is None


async def test_a_broken_stream_keeps_the_text_and_history_stays_well_formed(redis: Redis) -> None:
    model = FakeModel(Script(["partial ", "answer", " never"], break_after=2), Script(["ok"]))
    conv, history = conversation(redis, model)
    sink = await turn(conv, "hi")
    assert sink.finished == ("partial answer", Ending.INTERRUPTED)
    await turn(conv, "again")
    roles = [t.role for t in (await history.load(ChatKey(1))).turns]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_a_length_cut_is_reported(redis: Redis) -> None:
    conv, _ = conversation(redis, FakeModel(Script(["long"], finish_reason="length")))
    assert (await turn(conv, "hi")).finished == ("long", Ending.LENGTH)


async def test_context_too_long_retries_once_with_fewer_turns(redis: Redis) -> None:
    model = FakeModel(*[Script([f"a{i}"]) for i in range(4)], Script(error=ContextTooLong("400")), Script(["fine"]))
    conv, _ = conversation(redis, model)
    for i in range(4):
        await turn(conv, f"q{i}")
    sink = await turn(conv, "q4")
    assert sink.finished == ("fine", Ending.COMPLETE)
    asked, retried = ([m.content for m in r.messages[1:]] for r in model.requests[-2:])
    assert asked == ["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4"]
    assert retried == ["q2", "a2", "q3", "a3", "q4"]


@dataclass
class StopPressingSink(RecordingSink):
    """A user who presses Stop on seeing the answer's ``after``-th text, while that edit is still on its way."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    after: int = 2

    async def show(self, text: str) -> None:
        await super().show(text)
        if len(self.shown) == self.after:
            self.stop.set()
            await asyncio.Event().wait()  # a slow edit: the stream cannot go on before Stop is seen


async def test_stop_cancels_the_stream_and_keeps_the_text(redis: Redis) -> None:
    model = FakeModel(Script(["one ", "two ", "three ", "four"]))
    conv, history = conversation(redis, model)
    sink = StopPressingSink()
    async with asyncio.timeout(5):
        await conv.reply(TurnRequest(ChatKey(1), 7, "count", stop=sink.stop), sink)
    assert sink.shown == ["one ", "one two "]
    assert sink.finished == ("one two ", Ending.STOPPED)
    assert model.streams[0].closed
    assert [t.content for t in (await history.load(ChatKey(1))).turns] == ["count", "one two "]


async def test_two_messages_to_one_chat_are_answered_in_order(redis: Redis) -> None:
    model = FakeModel(Script(["A"], delay=0.05), Script(["B"]))
    conv, history = conversation(redis, model)
    await asyncio.gather(turn(conv, "first"), turn(conv, "second"))
    contents = [t.content for t in (await history.load(ChatKey(1))).turns]
    assert contents == ["first", "A", "second", "B"]
    assert [m.content for m in model.requests[1].messages[1:]] == ["first", "A", "second"]


async def test_a_long_conversation_is_summarised_off_the_reply_path(redis: Redis) -> None:
    model = FakeModel(*[Script(["word " * 60]) for _ in range(6)], summary="they counted words")
    conv, history, summarizer = parts(redis, model, budget=300)
    for i in range(6):
        await turn(conv, f"question {i}")
        await asyncio.sleep(0)
    await summarizer.drain()
    transcript = await history.load(ChatKey(1))
    assert transcript.summary is not None and transcript.summary.text == "they counted words"
    assert [t.content for t in transcript.turns] == ["question 3", "word " * 60, "question 4", "word " * 60,
                                                     "question 5", "word " * 60]
    assert transcript.history_tokens <= 300
    summary_request = next(r for r in model.requests if r.model == "sum")
    assert "Keep facts, names" in summary_request.messages[0].content
    assert all("helpful assistant" not in m.content for m in summary_request.messages)


async def test_a_flagged_message_is_refused_not_stored_and_never_reaches_the_model(redis: Redis) -> None:
    model = FakeModel()
    model.flag_words = {"forbidden"}
    conv, history = conversation(redis, model, moderated=True)
    assert (await turn(conv, "something forbidden")).failed is Failure.FLAGGED
    assert model.requests == [] and (await history.load(ChatKey(1))).turns == ()
    assert (await turn(conv, "something fine")).finished == ("Hello there!", Ending.COMPLETE)
    assert model.moderated == ["something forbidden", "something fine"]


async def test_a_failed_moderation_call_goes_on_unless_fail_closed(redis: Redis) -> None:
    model = FakeModel()
    model.moderation_error = ModelUnavailable("moderation down")
    open_conv, _ = conversation(redis, model, moderated=True)
    assert (await turn(open_conv, "hi")).finished == ("Hello there!", Ending.COMPLETE)
    closed_conv, _ = conversation(redis, model, moderated=True, fail_closed=True)
    assert (await turn(closed_conv, "hi", chat=ChatKey(2))).failed is Failure.MODERATION_UNAVAILABLE
    assert len(model.requests) == 1


async def test_a_spent_budget_makes_no_model_call(redis: Redis) -> None:
    model = FakeModel(Script(["x"], usage=Usage(900, 200)))
    conv, history = conversation(redis, model, budgets=Budgets(per_user=1000))
    assert (await turn(conv, "first")).finished == ("x", Ending.COMPLETE)
    assert (await turn(conv, "second")).failed is Failure.USER_BUDGET
    assert len(model.requests) == 1 and len((await history.load(ChatKey(1))).turns) == 2


async def test_operators_are_not_held_by_budgets(redis: Redis) -> None:
    model = FakeModel(*[Script(["x"], usage=Usage(900, 200)) for _ in range(3)])
    conv, _ = conversation(redis, model, budgets=Budgets(per_user=1000, exempt_users=frozenset({7})))
    for text in ("a", "b", "c"):
        assert (await turn(conv, text)).finished == ("x", Ending.COMPLETE)


async def test_answering_again_replaces_the_last_question_and_answer(redis: Redis) -> None:
    model = FakeModel(Script(["One."]), Script(["Two."]), Script(["Better two."]), Script(["Edited."]))
    conv, history = conversation(redis, model)
    await turn(conv, "first")
    await turn(conv, "second")
    sink = RecordingSink()
    await conv.reply(TurnRequest(CHAT, 7, "", redo=True), sink)
    assert sink.finished == ("Better two.", Ending.COMPLETE)
    assert [m.content for m in model.requests[-1].messages[1:]] == ["first", "One.", "second"]
    await conv.reply(TurnRequest(CHAT, 7, "second, edited", redo=True), RecordingSink())
    turns = (await history.load(CHAT)).turns
    assert [(t.role, t.content) for t in turns] == [
        ("user", "first"), ("assistant", "One."), ("user", "second, edited"), ("assistant", "Edited.")]


async def test_answering_again_with_nothing_answered_says_so(redis: Redis) -> None:
    conv, history = conversation(redis, FakeModel())
    sink = RecordingSink()
    await conv.reply(TurnRequest(CHAT, 7, "", redo=True), sink)
    assert sink.failed is Failure.NOTHING_TO_REDO and (await history.load(CHAT)).turns == ()


async def test_a_summary_s_tokens_reach_the_metrics(redis: Redis) -> None:
    model = FakeModel(summary="they counted words")
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = RedisHistory(redis, KEYS, ledger, 3600, 3600)
    observer = CountingObserver()
    summarizer = Summarizer(history, ledger, model, TokenCounter("gpt-4o-mini"), model_name="sum", budget=300,
                            max_tokens=100, observer=observer)
    conv = Conversation(history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01),
                        counter=TokenCounter("gpt-4o-mini"), summarizer=summarizer, personas=PersonaCatalog.load(),
                        options=ReplyOptions("gpt-test", 0.7, 256, 300))
    model.scripts.extend(Script(["word " * 60]) for _ in range(6))
    for i in range(6):
        await turn(conv, f"question {i}")
        await asyncio.sleep(0)
    await summarizer.drain()
    assert observer.records and all(r.model == "sum" and r.prompt_tokens for r in observer.records)
