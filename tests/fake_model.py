"""In-process fakes of the domain's ports: a scripted ChatModel and a recording ReplySink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from bot.domain.outcome import Ending, Failure
from bot.domain.ports import Completion, ModelRequest, Usage
from bot.domain.tools import Progress, ToolCall
from bot.domain.usage import UsageRecord
from bot.errors import StreamBroken


@dataclass
class Script:
    """One scripted answer: its chunks, how it ends, or the error it raises when opened."""

    chunks: list[str] = field(default_factory=lambda: ["Hello", " there", "!"])
    finish_reason: str | None = "stop"
    usage: Usage | None = None
    error: Exception | None = None
    break_after: int | None = None
    delay: float = 0.0
    tool_calls: tuple[ToolCall, ...] = ()


class FakeStream:
    def __init__(self, script: Script) -> None:
        self._script = script
        self.completion: Completion | None = None
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[str]:
        for index, chunk in enumerate(self._script.chunks):
            if self._script.break_after is not None and index >= self._script.break_after:
                raise StreamBroken("scripted break")
            await asyncio.sleep(self._script.delay)
            yield chunk
        self.completion = Completion(self._script.finish_reason, self._script.usage, self._script.tool_calls)

    async def aclose(self) -> None:
        self.closed = True


class FakeModel:
    """Answers from a queue of scripts (then the default); records every request."""

    def __init__(self, *scripts: Script, summary: str = "a summary") -> None:
        self.scripts = list(scripts)
        self.requests: list[ModelRequest] = []
        self.streams: list[FakeStream] = []
        self.summary_text = summary
        self.summary_error: Exception | None = None
        self.flag_words: set[str] = set()
        self.moderation_error: Exception | None = None
        self.moderated: list[str] = []

    async def stream(self, request: ModelRequest) -> FakeStream:
        self.requests.append(request)
        script = self.scripts.pop(0) if self.scripts else Script()
        if script.error is not None:
            raise script.error
        stream = FakeStream(script)
        self.streams.append(stream)
        return stream

    async def flagged(self, text: str) -> bool:
        self.moderated.append(text)
        if self.moderation_error is not None:
            raise self.moderation_error
        return any(word in text for word in self.flag_words)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        self.requests.append(request)
        if self.summary_error is not None:
            raise self.summary_error
        return self.summary_text, Usage(100, 10)


@dataclass
class RecordingSink:
    """What the user would see, in domain terms."""

    shown: list[str] = field(default_factory=list)
    finished: tuple[str, Ending] | None = None
    failed: Failure | None = None
    thought: bool = False  # told that a reasoning model thinks
    progressed: list[tuple[str, list[Progress]]] = field(default_factory=list)

    async def show(self, text: str) -> None:
        self.shown.append(text)

    async def thinking(self) -> None:
        self.thought = True

    async def progress(self, text: str, steps: Sequence[Progress]) -> None:
        self.progressed.append((text, list(steps)))

    async def finish(self, text: str, ending: Ending) -> str | None:
        self.finished = (text, ending)
        return None

    async def fail(self, failure: Failure) -> None:
        self.failed = failure


@dataclass
class CountingObserver:
    """A TurnObserver that keeps the usage records /metrics would count."""

    records: list[UsageRecord] = field(default_factory=list)

    def tokens_used(self, record: UsageRecord) -> None:
        self.records.append(record)

    def summary_finished(self, result: str) -> None:
        """Not kept."""

    def tool_called(self, tool: str, outcome: str, seconds: float) -> None:
        """Not kept."""
