from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.outcome import Ending, Failure
from bot.domain.personas import PersonaCatalog
from bot.domain.ports import Usage
from bot.domain.summary import Summarizer
from bot.domain.tokens import MESSAGE_OVERHEAD, TokenCounter
from bot.domain.toolloop import stored_rounds
from bot.domain.tools import JSONObject, Progress, Toolbox, ToolCall, ToolContext, ToolError, ToolLimits, ToolSpec
from bot.domain.transcript import ToolRound
from bot.domain.usage import Budgets, UsageRecord
from bot.errors import ModelUnavailable
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import FakeModel, RecordingSink, Script

CHAT = ChatKey(1)
KEYS = Keys("t:1")
COUNTER = TokenCounter("gpt-4o-mini")


class Lookup:
    """A tool whose answers are scripted by argument; "hang" waits forever, "fail" fails, "pair" waits for a
    second call to start (so it only finishes when calls run concurrently)."""

    spec = ToolSpec("lookup", "Looks a word up.", {"type": "object", "properties": {"word": {"type": "string"}}})

    def __init__(self) -> None:
        self.contexts: list[ToolContext] = []
        self.running = 0
        self.both = asyncio.Event()

    def progress(self, arguments: JSONObject) -> Progress:
        return Progress("search", str(arguments.get("word")))

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        self.contexts.append(context)
        word = arguments.get("word")
        if word == "hang":
            await asyncio.Event().wait()
        if word == "fail":
            raise ToolError("the dictionary is closed")
        if word == "pair":
            self.running += 1
            if self.running == 2:
                self.both.set()
            await self.both.wait()
        if word == "long":
            return "word " * 2000
        return f"{word} means something"


@dataclass
class Observed:
    calls: list[tuple[str, str]] = field(default_factory=list)

    def tokens_used(self, record: UsageRecord) -> None:
        pass

    def summary_finished(self, result: str) -> None:
        pass

    def tool_called(self, tool: str, outcome: str, seconds: float) -> None:
        self.calls.append((tool, outcome))


def call(word: str, call_id: str = "c1") -> ToolCall:
    return ToolCall(call_id, "lookup", json.dumps({"word": word}))


def asking(*calls: ToolCall, usage: Usage | None = None, chunks: list[str] | None = None) -> Script:
    return Script(chunks or [], finish_reason="tool_calls", usage=usage or Usage(10, 5), tool_calls=calls)


def setup(redis: Redis, model: FakeModel, tool: Lookup | None = None, *, rounds: int = 5, timeout: float = 5.0,
          result_tokens: int = 3000, budget: int = 4000) -> tuple[Conversation, RedisHistory, Observed]:
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = RedisHistory(redis, KEYS, ledger, 3600, 3600)
    summarizer = Summarizer(history, ledger, model, COUNTER, model_name="sum", budget=budget, max_tokens=100)
    observed = Observed()
    conv = Conversation(history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01),
                        counter=COUNTER, summarizer=summarizer, personas=PersonaCatalog.load(),
                        options=ReplyOptions("gpt-test", 0.7, 256, budget), observer=observed,
                        toolbox=Toolbox([tool or Lookup()]), tool_limits=ToolLimits(timeout, rounds, result_tokens))
    return conv, history, observed


async def ask(conv: Conversation, text: str = "what is x?", sink: RecordingSink | None = None,
              stop: asyncio.Event | None = None) -> RecordingSink:
    sink = sink or RecordingSink()
    request = TurnRequest(CHAT, 7, text, message_id=99, stop=stop or asyncio.Event())
    async with asyncio.timeout(10):
        await conv.reply(request, sink)
    return sink


async def test_one_call_runs_and_its_result_goes_back_to_the_model(redis: Redis) -> None:
    tool = Lookup()
    model = FakeModel(asking(call("x")), Script(["x means ", "something."], usage=Usage(40, 6)))
    conv, history, observed = setup(redis, model, tool)
    sink = await ask(conv)
    assert sink.progressed == [("", [Progress("search", "x")])]
    assert sink.finished == ("x means something.", Ending.COMPLETE)
    first, second = model.requests
    assert [spec.name for spec in first.tools] == ["lookup"] and first.tool_choice is None
    assistant, result = second.messages[-2:]
    assert (assistant.role, assistant.tool_calls) == ("assistant", (call("x"),))
    assert (result.role, result.tool_call_id, result.content) == ("tool", "c1", "x means something")
    assert tool.contexts == [ToolContext(CHAT, 7, 99, None)]
    assert observed.calls == [("lookup", "ok")]
    stored = (await history.load(CHAT)).turns[-1]
    assert stored.content == "x means something."
    assert stored.tools == (ToolRound((call("x"),), ("x means something",)),)
    usage = await redis.hgetall(next(iter([k async for k in redis.scan_iter("t:1:usage:7:*")])))
    assert usage == {"gpt-test:prompt": "50", "gpt-test:completion": "11"}  # both rounds


async def test_two_calls_at_once_run_concurrently(redis: Redis) -> None:
    model = FakeModel(asking(call("pair", "a"), call("pair", "b")), Script(["both found"]))
    conv, _, observed = setup(redis, model, timeout=2.0)
    sink = await ask(conv)
    assert sink.progressed == [("", [Progress("search", "pair"), Progress("search", "pair")])]
    results = [(m.tool_call_id, m.content) for m in model.requests[1].messages if m.role == "tool"]
    assert results == [("a", "pair means something"), ("b", "pair means something")]
    assert observed.calls == [("lookup", "ok"), ("lookup", "ok")]


async def test_failing_and_hanging_tools_become_error_results_and_the_model_answers(redis: Redis) -> None:
    model = FakeModel(asking(call("fail", "a"), call("hang", "b"), ToolCall("c", "teleport", "{}")),
                      Script(["Sorry, the lookup failed."]))
    conv, _, observed = setup(redis, model, timeout=0.05)
    sink = await ask(conv)
    assert sink.finished == ("Sorry, the lookup failed.", Ending.COMPLETE)
    results = {m.tool_call_id: m.content for m in model.requests[1].messages if m.role == "tool"}
    assert results["a"] == "Error: the dictionary is closed"
    assert results["b"] == "Error: the tool did not finish within 0.05 seconds."
    assert "no tool named 'teleport'" in results["c"]
    assert sorted(observed.calls) == [("lookup", "error"), ("lookup", "timeout"), ("unknown", "unknown")]


async def test_after_the_round_limit_the_model_must_answer_without_tools(redis: Redis) -> None:
    model = FakeModel(asking(call("a")), asking(call("b")), Script(["Enough: a and b."]))
    conv, history, _ = setup(redis, model, rounds=2)
    sink = await ask(conv)
    assert sink.finished == ("Enough: a and b.", Ending.COMPLETE)
    assert [r.tool_choice for r in model.requests] == [None, None, "none"]
    assert len((await history.load(CHAT)).turns[-1].tools) == 2


async def test_calls_asked_for_when_told_to_answer_are_not_run(redis: Redis) -> None:
    model = FakeModel(asking(call("a")), asking(call("b"), chunks=["Here is what I know."]))
    conv, _, observed = setup(redis, model, rounds=1)
    sink = await ask(conv)
    assert sink.finished == ("Here is what I know.", Ending.COMPLETE)
    assert len(model.requests) == 2 and observed.calls == [("lookup", "ok")]


async def test_text_before_the_calls_stays_above_the_progress_lines_and_the_answer(redis: Redis) -> None:
    model = FakeModel(asking(call("x"), chunks=["Let me look."]), Script(["Found it."]))
    conv, _, _ = setup(redis, model)
    sink = await ask(conv)
    assert sink.progressed == [("Let me look.", [Progress("search", "x")])]
    assert sink.finished == ("Let me look.\n\nFound it.", Ending.COMPLETE)


async def test_stop_during_a_tool_call_ends_the_turn_and_stores_nothing(redis: Redis) -> None:
    stop = asyncio.Event()

    class StopOnProgress(RecordingSink):
        async def progress(self, text: str, steps: object) -> None:
            stop.set()

    model = FakeModel(asking(call("hang")), Script(["never"]))
    conv, history, _ = setup(redis, model)
    sink = await ask(conv, sink=StopOnProgress(), stop=stop)
    assert sink.finished == ("", Ending.STOPPED)
    assert len(model.requests) == 1
    assert (await history.load(CHAT)).turns == ()


async def test_a_long_result_is_cut_for_the_model(redis: Redis) -> None:
    model = FakeModel(asking(call("long")), Script(["ok"]))
    conv, _, _ = setup(redis, model, result_tokens=100)
    await ask(conv)
    result = next(m.content for m in model.requests[1].messages if m.role == "tool")
    assert result.endswith("\n[cut at 100 tokens]") and result.startswith("word word")
    assert COUNTER.count(result) - MESSAGE_OVERHEAD <= 100  # the note about the cut included


@pytest.mark.parametrize("limit", [1, 5, 12])
async def test_even_a_tiny_result_limit_is_kept(redis: Redis, limit: int) -> None:
    model = FakeModel(asking(call("long")), Script(["ok"]))
    conv, _, _ = setup(redis, model, result_tokens=limit)
    await ask(conv)
    result = next(m.content for m in model.requests[1].messages if m.role == "tool")
    assert 0 < COUNTER.count(result) - MESSAGE_OVERHEAD <= limit


async def test_the_next_turn_sees_the_tool_exchange_before_the_answer(redis: Redis) -> None:
    model = FakeModel(asking(call("x")), Script(["x means something."]), Script(["sure"]))
    conv, _, _ = setup(redis, model)
    await ask(conv)
    await ask(conv, "thanks")
    messages = [(m.role, m.content, m.tool_calls, m.tool_call_id) for m in model.requests[-1].messages[1:]]
    assert messages == [
        ("user", "what is x?", (), None),
        ("assistant", "", (call("x"),), None),
        ("tool", "x means something", (), "c1"),
        ("assistant", "x means something.", (), None),
        ("user", "thanks", (), None),
    ]


async def test_stored_rounds_fit_a_quarter_of_the_context_budget() -> None:
    rounds = [ToolRound((call("a"), call("b", "c2")), ("word " * 3000, "word " * 3000))]
    kept = stored_rounds(rounds, 4000, COUNTER)
    assert kept[0].calls == rounds[0].calls
    assert sum(COUNTER.count(r) for r in kept[0].results) <= 1000
    assert stored_rounds(rounds, 100_000, COUNTER) == tuple(rounds)


async def test_the_summary_folds_a_tool_turn_like_any_other(redis: Redis) -> None:
    model = FakeModel(asking(call("x")), Script(["x means something."]), Script(["sure"]), summary="folded")
    conv, history, _ = setup(redis, model)
    await ask(conv)
    await ask(conv, "thanks")
    summarizer = Summarizer(history, UsageLedger(redis, KEYS, Budgets()), model, COUNTER, model_name="sum",
                            budget=30, max_tokens=100)
    assert await summarizer.fold(CHAT)
    folded_text = model.requests[-1].messages[-1].content
    assert 'Assistant (after calling lookup({"word": "x"})): x means something.' in folded_text
    transcript = await history.load(CHAT)
    assert transcript.summary is not None and all(not turn.tools for turn in transcript.turns)


async def test_a_turn_that_fails_after_a_tool_round_still_counts_that_rounds_tokens(redis: Redis) -> None:
    model = FakeModel(asking(call("x")), Script(error=ModelUnavailable("down")))
    conv, history, _ = setup(redis, model)
    sink = await ask(conv)
    assert sink.failed is Failure.UNAVAILABLE
    assert (await history.load(CHAT)).turns == ()
    usage = await redis.hgetall(next(iter([k async for k in redis.scan_iter("t:1:usage:7:*")])))
    assert usage == {"gpt-test:prompt": "10", "gpt-test:completion": "5"}


async def test_calls_beyond_the_most_one_round_runs_get_an_error_result(redis: Redis) -> None:
    tool = Lookup()
    model = FakeModel(asking(*[call(f"w{i}", f"c{i}") for i in range(12)]), Script(["ok"]))
    conv, _, _ = setup(redis, model, tool)
    sink = await ask(conv)
    assert len(tool.contexts) == 10 and len(sink.progressed[0][1]) == 10
    results = [m.content for m in model.requests[1].messages if m.role == "tool"]
    assert len(results) == 12 and results[-1].startswith("Error: at most 10 calls run at once")
