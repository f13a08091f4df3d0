"""Turns through turn.answer: one that fails leaves nothing behind (no Bot API call follows once it has ended);
one prepared inside its reply (a recording, a document) is answered, declined or not prepared twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import fakeredis
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from telegram import Bot
from telegram.error import Forbidden
from telegram.ext import Application, ContextTypes

from bot.domain.access import Allowlist
from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, ReplyOptions
from bot.domain.models import ModelCatalog
from bot.domain.outcome import Delivery, Ending, Failure
from bot.domain.personas import PersonaCatalog, PromptLimit
from bot.domain.ports import ChatModel, Completion, ModelRequest, Usage
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets, PriceTable
from bot.metrics import Metrics
from bot.store.access import AccessLists
from bot.store.gate import Gatekeeper
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.latest import LatestAnswers
from bot.store.lock import ChatLock
from bot.store.reminders import RedisReminders
from bot.store.replies import Replies
from bot.store.stats import StatsBook
from bot.store.usage import UsageLedger
from bot.telegram import turn
from bot.telegram.application import register
from bot.telegram.context import BotApplication, BotContext, Retention, Services
from bot.telegram.markdown.quote import quoted
from bot.telegram.pacing import Pacer
from bot.telegram.sink import Cadence, Target, TelegramReplySink
from bot.telegram.texts import FAILURES
from tests.fake_bot import Call, FakeBot
from tests.fake_model import FakeModel
from tests.virtual_clock import VirtualClock

KEYS = Keys("t:turn")
ASKER = 7


class BreakingStream:
    """Two words a few hundred milliseconds apart, then an error nothing expects (a bug, say)."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._sleep = sleep
        self.completion: Completion | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        for word in ("Hello", " there"):
            yield word
            await self._sleep(0.3)
        raise RuntimeError("the stream failed in a way nobody planned for")

    async def aclose(self) -> None:
        """Nothing to close."""


class BreakingModel:
    """A model whose every answer breaks off with BreakingStream's error."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._sleep = sleep

    async def stream(self, request: ModelRequest) -> BreakingStream:
        return BreakingStream(self._sleep)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        raise AssertionError("these turns never reach a summary")


def services(redis: Redis, model: ChatModel, clock: VirtualClock, *, history_redis: Redis | None = None) -> Services:
    """The turn's real parts over an in-memory Redis (the history on its own one, which a test may break)."""
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = RedisHistory(history_redis or redis, KEYS, ledger, 3600, 3600)
    counter = TokenCounter("gpt-4o-mini")
    conversation = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS), counter=counter,
        summarizer=Summarizer(history, ledger, model, counter, model_name="sum", budget=4000, max_tokens=100),
        personas=PersonaCatalog.load(), options=ReplyOptions("gpt-test", 0.7, 256, 4000),
    )
    return Services(
        conversation=conversation, history=history, personas=PersonaCatalog.load(), pacer=Pacer(clock),
        persona_limit=PromptLimit(500, counter.count),
        cadence=Cadence(1.0, 3.0, "edit", 600.0), replies=Replies(redis, KEYS), allowlist=Allowlist(),
        gatekeeper=Gatekeeper(redis, KEYS, _no_administrators), group_settings_administrators_only=False, ledger=ledger,
        prices=PriceTable(), retention=Retention(3600, 3600, 3600), messages_per_minute=0, operators=frozenset(),
        metrics=Metrics(), access=AccessLists(redis, KEYS), stats=StatsBook(redis, KEYS),
        reminders=RedisReminders(redis, KEYS), models=ModelCatalog((("gpt-test", "gpt-test"),), "gpt-test"),
        latest=LatestAnswers(redis, KEYS, 3600), edit_reanswer_seconds=3600, clock=clock, sleep=clock.sleep,
    )


async def _no_administrators(chat_id: int) -> list[int]:
    return []


def context_for(bot: FakeBot, services: Services) -> BotContext:
    """The callback context PTB would pass: the Application with our handlers and services, over the fake bot."""
    builder = Application.builder().bot(cast(Bot, bot)).updater(None).context_types(ContextTypes(context=BotContext))
    application = cast(BotApplication, builder.build())
    register(application, services)
    return BotContext(application)


async def failed_turn(clock: VirtualClock, context: BotContext) -> BaseException | None:
    """Answer "hi" in a private chat, in virtual time, until the turn has ended; what it raised."""
    task = asyncio.create_task(turn.answer(context, Target(ChatKey(42)), ASKER, "hi", speaker=None,
                                           update_id=1, asked=1))
    while not task.done():
        await clock.advance(0.1)
    return task.exception()


async def calls_in_the_next_minute(clock: VirtualClock, bot: FakeBot) -> list[Call]:
    ended = len(bot.calls)
    await clock.advance(60)
    return bot.calls[ended:]


async def test_a_user_who_blocked_the_bot_gets_no_more_calls_once_the_turn_failed(redis: Redis) -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    bot.blocked = True
    context = context_for(bot, services(redis, FakeModel(), clock))
    error = await failed_turn(clock, context)
    assert isinstance(error, Forbidden)
    assert [(c.method, c.at) for c in bot.calls] == [("send_chat_action", 0.0), ("send_message", 0.0)]
    assert await calls_in_the_next_minute(clock, bot) == []


@pytest.fixture
async def unreachable() -> AsyncIterator[Redis]:
    """A Redis whose every command fails with a connection error."""
    server = fakeredis.FakeServer()
    server.connected = False
    client: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    yield client
    await client.aclose()


async def test_a_store_error_while_loading_the_history_stops_the_typing_indicator(redis: Redis,
                                                                                 unreachable: Redis) -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    context = context_for(bot, services(redis, FakeModel(), clock, history_redis=unreachable))
    error = await failed_turn(clock, context)
    assert isinstance(error, RedisConnectionError)
    assert [(c.method, c.at) for c in bot.calls] == [("send_chat_action", 0.0)]
    assert await calls_in_the_next_minute(clock, bot) == []


async def test_an_error_while_streaming_leaves_the_words_shown_so_far_and_no_pending_edit(redis: Redis) -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    context = context_for(bot, services(redis, BreakingModel(clock.sleep), clock))
    error = await failed_turn(clock, context)
    assert isinstance(error, RuntimeError)
    assert [(c.method, c.at, c.text) for c in bot.calls] == [("send_chat_action", 0.0, None),
                                                              ("send_message", 0.0, "Hello")]
    assert await calls_in_the_next_minute(clock, bot) == []
    (message,) = bot.messages
    assert message.text == "Hello"



async def run(clock: VirtualClock, context: BotContext, text: str | turn.Prepare, update_id: int = 1) -> None:
    task = asyncio.create_task(turn.answer(context, Target(ChatKey(42)), ASKER, text, speaker=None,
                                           update_id=update_id))
    while not task.done():
        await clock.advance(0.1)
    await task


async def test_a_prepared_turn_sets_its_preface_and_a_declined_one_tells_why_without_the_model(redis: Redis) -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    model = FakeModel()
    context = context_for(bot, services(redis, model, clock))

    async def heard(sink: TelegramReplySink) -> str:
        sink.preface(quoted("hi there"))
        return "hi there"

    async def scanned(sink: TelegramReplySink) -> turn.Declined:
        return turn.Declined("no text layer")

    await run(clock, context, heard, 1)
    await run(clock, context, scanned, 2)
    await run(clock, context, lambda sink: asyncio.sleep(0, Failure.NOT_HEARD), 3)
    assert [m.text for m in bot.messages] == ["hi there\n\nHello there!", "no text layer",
                                              FAILURES[Failure.NOT_HEARD]]
    assert len(model.requests) == 1


async def test_a_taken_over_turn_whose_answer_is_stored_is_not_prepared_again(redis: Redis) -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    parts = services(redis, FakeModel(), clock)
    context = context_for(bot, parts)
    await parts.history.commit(ChatKey(42), [], [], turn_id="5", delivery=Delivery("stored answer", Ending.COMPLETE))
    prepared: list[int] = []

    async def never(sink: TelegramReplySink) -> str:
        prepared.append(1)
        return "again"

    parts.replies.taken_over(5)
    await run(clock, context, never, 5)
    assert prepared == [] and [m.text for m in bot.messages] == ["stored answer"]
