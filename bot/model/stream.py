"""A chat.completions stream read line by line: server-sent events, text deltas, tool calls, finish reason and
usage."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import httpx2

from bot.domain.ports import Completion, Usage
from bot.errors import StreamBroken
from bot.model.toolcalls import ToolCallAssembler

logger = logging.getLogger(__name__)


class OpenAIStream:
    """A chat.completions stream whose first text delta has already arrived (so retries stay invisible).

    Tool calls are not text: their fragments are assembled on the way and come back in ``completion``.

    Chunks are decoded from the response's lines with json rather than into the SDK's typed models: a tenth of
    the CPU per chunk, which is what a thousand answers streaming at once on one process spend most time on.
    """

    def __init__(self, events: AsyncIterator[Event], close: Callable[[], Awaitable[None]]) -> None:
        self._events = events
        self._close = close
        self._first: str | None = None
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._odd_seen = False
        self._calls = ToolCallAssembler()
        self.completion: Completion | None = None

    async def prime(self) -> None:
        """Read until the first text or the end of the stream (a stream of tool calls only is read whole);
        errors here may be retried."""
        self._first = await self._next_text()
        if self._first is None:
            self.completion = self._completion()

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._first is None:
            return
        yield self._first
        try:
            while (text := await self._next_text()) is not None:
                yield text
        except (BadStream, httpx2.HTTPError, OSError) as exc:
            raise StreamBroken(f"stream broke: {exc}") from exc
        if self._finish is None:
            raise StreamBroken("stream ended without a finish reason")
        self.completion = self._completion()

    async def aclose(self) -> None:
        """Close the HTTP response, so the server stops generating (and billing) tokens."""
        await self._close()

    def _completion(self) -> Completion:
        return Completion(self._finish, self._usage, self._calls.calls())

    async def _next_text(self) -> str | None:
        async for event in self._events:
            if event.data == "[DONE]":
                return None
            for choice in self._read(event):
                text = self._take(choice)
                if text:
                    return text
        return None

    def _read(self, event: Event) -> list[Any]:
        """The choices of one chunk (keeping its usage); an error event or a chunk that is not JSON breaks the
        stream, a chunk of an odd shape is skipped."""
        try:
            chunk = json.loads(event.data)
        except ValueError as exc:
            raise BadStream("malformed chunk") from exc
        if event.event == "error" or not isinstance(chunk, dict) or "error" in chunk:
            raise BadStream("error event in the stream")
        self._take_usage(chunk.get("usage"))
        choices = chunk.get("choices")
        if isinstance(choices, list) or choices is None:
            return choices or []
        self._odd("choices that are not a list")
        return []

    def _take(self, choice: Any) -> str | None:
        """A choice's text, keeping its finish reason (also from a choice whose delta is odd: it may be the last)."""
        if not isinstance(choice, dict):
            self._odd("a choice that is not an object")
            return None
        delta, finish = choice.get("delta"), choice.get("finish_reason")
        if not isinstance(finish, str | None):
            self._odd("a finish reason that is not a string")
            return None
        self._finish = finish or self._finish
        content = delta.get("content") if isinstance(delta, dict) else None
        if not isinstance(delta, dict | None) or not isinstance(content, str | None):
            self._odd("a delta that is not an object, or content that is not a string")
            return None
        calls = (delta or {}).get("tool_calls")
        if calls is not None and not self._calls.add(calls):
            self._odd("tool calls of an odd shape")
        return content

    def _take_usage(self, usage: Any) -> None:
        if usage is None:
            return
        prompt, completion = (usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)) if isinstance(
            usage, dict) else (None, None)
        if _is_count(prompt) and _is_count(completion):
            self._usage = Usage(prompt, completion, reasoning_tokens=_reasoning_tokens(usage),
                                cached_tokens=cached_tokens(usage, prompt))
        else:
            self._odd("usage without token counts")

    def _odd(self, what: str) -> None:
        """Skip a chunk of an odd shape: the answer around it still counts; one warning per stream says so."""
        if not self._odd_seen:
            self._odd_seen = True
            logger.warning("model stream: skipped a chunk with %s", what)


def _reasoning_tokens(usage: dict[str, Any]) -> int:
    """Of the completion tokens, those a reasoning model spent thinking (0 when the server does not say)."""
    details = usage.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return reasoning if _is_count(reasoning) else 0


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def cached_tokens(usage: dict[str, Any], prompt: int) -> int:
    """``prompt_tokens_details.cached_tokens``: the prompt tokens the provider read from its cache (0 if absent)."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return min(cached, prompt) if _is_count(cached) else 0


class BadStream(Exception):
    """The server sent an error event or something that is not a chunk."""


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    event: str
    data: str


async def server_sent_events(lines: AsyncIterator[str], content_type: str | None = None) -> AsyncIterator[Event]:
    """The events in a text/event-stream body, line by line (comments and ids skipped); a body of another
    declared type (an HTML error page from a proxy, say) is a BadStream."""
    media_type = (content_type or "text/event-stream").split(";")[0].strip().lower()
    if media_type != "text/event-stream":
        raise BadStream(f"not an event stream but {media_type[:40]}")
    name, data = "message", list[str]()
    async for line in lines:
        if not line:
            if data:
                yield Event(name, "\n".join(data))
            name, data = "message", []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("event:"):
            name = line[6:].strip()
    if data:
        yield Event(name, "\n".join(data))
