"""A chat.completions stream read line by line: server-sent events, text deltas, finish reason and usage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from bot.domain.ports import Completion, Usage
from bot.errors import StreamBroken


class OpenAIStream:
    """A chat.completions stream whose first text delta has already arrived (so retries stay invisible).

    Chunks are decoded from the response's lines with json rather than into the SDK's typed models: a tenth of
    the CPU per chunk, which is what a thousand answers streaming at once on one process spend most time on.
    """

    def __init__(self, events: AsyncIterator[Event], close: Callable[[], Awaitable[None]]) -> None:
        self._events = events
        self._close = close
        self._first: str | None = None
        self._finish: str | None = None
        self._usage: Usage | None = None
        self.completion: Completion | None = None

    async def prime(self) -> None:
        """Read until the first text or the end of the stream; errors here may be retried."""
        self._first = await self._next_text()
        if self._first is None:
            self.completion = Completion(self._finish, self._usage)

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
        self.completion = Completion(self._finish, self._usage)

    async def aclose(self) -> None:
        """Close the HTTP response, so the server stops generating (and billing) tokens."""
        await self._close()

    async def _next_text(self) -> str | None:
        async for event in self._events:
            if event.data == "[DONE]":
                return None
            for choice in self._read(event):
                self._finish = choice.get("finish_reason") or self._finish
                content = (choice.get("delta") or {}).get("content")
                if content:
                    return str(content)
        return None

    def _read(self, event: Event) -> list[dict[str, Any]]:
        """The choices of one chunk (keeping its usage); an error event or a malformed chunk breaks the stream."""
        try:
            chunk = json.loads(event.data)
        except ValueError as exc:
            raise BadStream("malformed chunk") from exc
        if event.event == "error" or not isinstance(chunk, dict) or "error" in chunk:
            raise BadStream("error event in the stream")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
        choices = chunk.get("choices")
        return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


class BadStream(Exception):
    """The server sent an error event or something that is not a chunk."""


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    event: str
    data: str


async def server_sent_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """The events in a text/event-stream body, line by line (comments and ids skipped)."""
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
