"""The rounds of one answer: stream the model, run the tools it asks for (concurrently), ask again with their
results, until it answers without calls or TOOL_MAX_ROUNDS rounds have run; then it must answer without tools.

The caller owns the loop's task: Stop cancels it, and what ``Answer`` holds by then is the answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.domain.context import round_messages
from bot.domain.outcome import Ending
from bot.domain.ports import ChatMessage, ChatModel, ModelRequest, ReplySink, ReplyStream, TurnObserver, Usage
from bot.domain.tokens import MESSAGE_OVERHEAD, TokenCounter
from bot.domain.tools import Outcome, Toolbox, ToolCall, ToolContext, ToolLimits, ToolResult
from bot.domain.transcript import ToolRound
from bot.errors import StreamBroken

logger = logging.getLogger(__name__)

# Calls one round may run; a model asking for more gets an error result for the rest (and may ask again).
MAX_CALLS_PER_ROUND = 10
# The tool rounds stored with an answer take at most this share of CONTEXT_MAX_TOKENS (results are cut to fit).
STORED_SHARE = 4


@dataclass
class Answer:
    """An answer as it grows: its text over all rounds, how it ended, tokens of every round, its tool rounds."""

    text: str = ""
    ending: Ending = Ending.COMPLETE
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, read from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, spent thinking
    reported: bool = True  # every round's usage came from the server (else some were estimated)
    rounds: list[ToolRound] = field(default_factory=list)
    images_refused: bool = False  # the model does not read images: the turn was answered from its text

    @property
    def usage(self) -> Usage:
        return Usage(self.prompt_tokens, self.completion_tokens, cached_tokens=self.cached_tokens,
                     reasoning_tokens=self.reasoning_tokens)


class ToolLoop:
    """Runs the rounds of one answer against the model and the toolbox."""

    def __init__(self, model: ChatModel, toolbox: Toolbox, limits: ToolLimits, counter: TokenCounter,
                 observer: TurnObserver, clock: Callable[[], float] = time.monotonic) -> None:
        self._model = model
        self._toolbox = toolbox
        self._limits = limits
        self._counter = counter
        self._observer = observer
        self._clock = clock

    async def run(self, request: ModelRequest, context: ToolContext, sink: ReplySink, answer: Answer) -> None:
        """Fill ``answer``; ModelError from opening a round's stream goes to the caller."""
        tools = self._toolbox.specs()
        for done in range(self._limits.max_rounds + 1):
            last = done == self._limits.max_rounds
            asked = replace(request, messages=request.messages + self._exchange(answer), tools=tools,
                            tool_choice="none" if last and tools else None)
            calls = await self._round(asked, sink, answer)
            if not calls or last:
                return
            await self._call(calls, context, sink, answer)

    def _exchange(self, answer: Answer) -> tuple[ChatMessage, ...]:
        return tuple(message for step in answer.rounds for message in round_messages(step))

    async def _round(self, asked: ModelRequest, sink: ReplySink, answer: Answer) -> tuple[ToolCall, ...]:
        """Stream one round's text to the sink; the calls it asked for (none once told to answer)."""
        stream = await self._model.stream(asked)
        before, text = answer.text, ""
        try:
            async for delta in stream:
                text += delta
                answer.text = f"{before}\n\n{text}" if before.strip() else text
                await sink.show(answer.text)
        except StreamBroken as exc:
            logger.warning("reply interrupted: %s", exc)
            answer.ending = Ending.INTERRUPTED
            return ()
        finally:
            await stream.aclose()
        return self._ended(asked, stream, text, answer)

    def _ended(self, asked: ModelRequest, stream: ReplyStream, text: str, answer: Answer) -> tuple[ToolCall, ...]:
        completion = stream.completion
        calls = completion.tool_calls if completion and asked.tools and asked.tool_choice != "none" else ()
        self._count(asked, completion.usage if completion else None, text, calls, answer)
        if completion and completion.finish_reason == "length":
            answer.ending = Ending.LENGTH
            return ()  # arguments cut at the length limit cannot be trusted
        return calls

    def _count(self, asked: ModelRequest, usage: Usage | None, text: str, calls: Sequence[ToolCall],
               answer: Answer) -> None:
        if usage is None:
            answer.reported = False
            usage = Usage(sum(self._counter.count(m.content + _calls_text(m.tool_calls)) for m in asked.messages),
                          self._counter.count(text + _calls_text(calls)))
        answer.prompt_tokens += usage.prompt_tokens
        answer.completion_tokens += usage.completion_tokens
        answer.cached_tokens += usage.cached_tokens
        answer.reasoning_tokens += usage.reasoning_tokens

    async def _call(self, calls: Sequence[ToolCall], context: ToolContext, sink: ReplySink, answer: Answer) -> None:
        running, refused = calls[:MAX_CALLS_PER_ROUND], calls[MAX_CALLS_PER_ROUND:]
        await sink.progress(answer.text, [self._toolbox.progress(call) for call in running])
        results = [*await asyncio.gather(*(self._timed(call, context) for call in running)),
                   *(ToolResult(call.id, f"Error: at most {MAX_CALLS_PER_ROUND} calls run at once; ask again for "
                                         "this one if you still need it.", Outcome.ERROR) for call in refused)]
        answer.rounds.append(ToolRound(tuple(calls), tuple(self._cut(result.content) for result in results)))

    async def _timed(self, call: ToolCall, context: ToolContext) -> ToolResult:
        started = self._clock()
        result = await self._toolbox.run(call, context, self._limits.timeout_seconds)
        name = "unknown" if result.outcome is Outcome.UNKNOWN else call.name  # the model's names are unbounded
        self._observer.tool_called(name, result.outcome.value, self._clock() - started)
        if result.outcome is not Outcome.OK:
            logger.info("tool %s ended %s", name, result.outcome.value)
        return result

    def _cut(self, content: str) -> str:
        """The result within TOOL_RESULT_MAX_TOKENS, the note saying it was cut included (when it fits)."""
        limit = self._limits.result_max_tokens
        if self._tokens(content) <= limit:
            return content
        note = f"\n[cut at {limit} tokens]"
        room = limit - self._tokens(note)
        return self._counter.prefix(content, room) + note if room > 0 else self._counter.prefix(content, limit)

    def _tokens(self, text: str) -> int:
        return self._counter.count(text) - MESSAGE_OVERHEAD


def stored_rounds(rounds: Sequence[ToolRound], budget: int, counter: TokenCounter) -> tuple[ToolRound, ...]:
    """The rounds as history keeps them: their results cut so that all of them take at most a quarter of the
    context budget (the calls stay whole; the answer they led to is stored beside them anyway)."""
    limit = budget // STORED_SHARE
    results = [result for step in rounds for result in step.results]
    if not results or round_tokens(rounds, counter) <= limit:
        return tuple(rounds)
    calls = sum(counter.count(_calls_text(step.calls)) for step in rounds)
    share = max(1, (limit - calls) // len(results))
    return tuple(ToolRound(step.calls, tuple(counter.truncate(r, share) for r in step.results)) for step in rounds)


def round_tokens(rounds: Sequence[ToolRound], counter: TokenCounter) -> int:
    """Tokens of tool rounds in a request: each call's name and arguments, each result."""
    return sum(counter.count(_calls_text(step.calls)) + sum(counter.count(r) for r in step.results)
               for step in rounds)


def _calls_text(calls: Sequence[ToolCall]) -> str:
    return "".join(call.name + call.arguments for call in calls)
