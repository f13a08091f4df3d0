"""The budget reservation of a turn: the whole prompt and a likely reply, so concurrent turns see each other."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.outcome import Failure
from bot.domain.personas import CUSTOM, PersonaCatalog, encode_choice
from bot.domain.ports import Usage
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets, Reservation
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import FakeModel, RecordingSink, Script

KEYS = Keys("t:1")
CHAT = ChatKey(1)
COUNTER = TokenCounter("gpt-4o-mini")
MAX_REPLY = 256
DEFAULT_PROMPT = PersonaCatalog.load().default.prompt


class RecordingLedger(UsageLedger):
    """The real ledger, remembering what each turn reserved."""

    def __init__(self, redis: Redis, budgets: Budgets) -> None:
        super().__init__(redis, KEYS, budgets)
        self.reserved: list[int] = []

    async def reserve(self, user_id: int, chat: ChatKey, tokens: int, turn_id: str | None = None) -> Reservation:
        self.reserved.append(tokens)
        return await super().reserve(user_id, chat, tokens, turn_id)


def conversation(redis: Redis, model: FakeModel, budgets: Budgets | None = None) -> tuple[
        Conversation, RedisHistory, RecordingLedger]:
    ledger = RecordingLedger(redis, budgets or Budgets())
    history = RedisHistory(redis, KEYS, ledger, 3600, 3600)
    summarizer = Summarizer(history, ledger, model, COUNTER, model_name="sum", budget=4000, max_tokens=100)
    conv = Conversation(history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01),
                        counter=COUNTER, summarizer=summarizer, personas=PersonaCatalog.load(),
                        options=ReplyOptions("gpt-test", 0.7, MAX_REPLY, 4000))
    return conv, history, ledger


async def turn(conv: Conversation, text: str, chat: ChatKey = CHAT) -> RecordingSink:
    sink = RecordingSink()
    await conv.reply(TurnRequest(chat, 7, text), sink)
    return sink


async def test_a_turn_reserves_its_whole_prompt_and_a_reply_as_long_as_the_chats_recent_ones(redis: Redis) -> None:
    persona = "You are a terse assistant. " * 40
    model = FakeModel(Script(["short answer"]), Script(["a somewhat longer answer than that"]), Script(["ok"]))
    conv, history, ledger = conversation(redis, model)
    await history.set_persona(CHAT, encode_choice(CUSTOM, persona))
    await turn(conv, "first question")
    await turn(conv, "second question")
    await turn(conv, "third")
    stored = (await history.load(CHAT)).turns[:4]
    longest_reply = COUNTER.count("a somewhat longer answer than that")
    assert ledger.reserved[-1] == (COUNTER.count(persona) + sum(t.tokens for t in stored) + COUNTER.count("third")
                                   + longest_reply)
    assert ledger.reserved[0] == COUNTER.count(persona) + COUNTER.count("first question") + MAX_REPLY


async def test_turns_at_once_in_chats_with_short_replies_all_fit_a_budget_with_room(redis: Redis) -> None:
    model = FakeModel()
    conv, _, _ = conversation(redis, model, Budgets(per_user=2000))
    chats = [ChatKey(-100 - i) for i in range(10)]
    for chat in chats:  # each chat has answered once: its replies are short
        await turn(conv, "hello", chat)
    model.scripts = [Script(["Hi", " again"], delay=0.01) for _ in chats]
    sinks = await asyncio.gather(*(turn(conv, "and again", chat) for chat in chats))
    assert [s.failed for s in sinks] == [None] * 10  # the old reservation (history + MAX_REPLY_TOKENS) refused 2


async def test_a_long_system_prompt_counts_in_the_budget(redis: Redis) -> None:
    persona = "Answer in the style of a Victorian novelist, with long sentences. " * 30  # ~400 tokens
    model = FakeModel(Script(["fine"], usage=Usage(450, 2)))
    conv, history, _ = conversation(redis, model, Budgets(per_user=600))
    await history.set_persona(CHAT, encode_choice(CUSTOM, persona))
    sink = await turn(conv, "hi")
    assert sink.failed is Failure.USER_BUDGET and model.requests == []  # ~400 + a reply of up to 256 won't fit
