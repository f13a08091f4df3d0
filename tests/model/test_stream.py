"""A chat.completions stream read from its events: an odd chunk is skipped, what it carries that is sound is kept."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.model.stream import Event, OpenAIStream


async def events(*chunks: dict[str, Any]) -> AsyncIterator[Event]:
    for chunk in chunks:
        yield Event("message", json.dumps(chunk))
    yield Event("message", "[DONE]")


async def nothing() -> None:
    return None


def chunk(delta: Any, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@pytest.mark.parametrize("last", [
    chunk({"content": [{"type": "text", "text": "!"}]}, "stop"),  # content as parts, on the chunk that ends it
    chunk("!", "stop"),  # a delta that is a string
])
async def test_an_odd_last_chunk_still_ends_the_answer_with_its_finish_reason(
    caplog: pytest.LogCaptureFixture, last: dict[str, Any],
) -> None:
    stream = OpenAIStream(events(chunk({"content": "Hello"}), chunk({"content": " there"}), last), nothing)
    await stream.prime()
    pieces = [piece async for piece in stream]
    assert "".join(pieces) == "Hello there"
    assert stream.completion is not None and stream.completion.finish_reason == "stop"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("model stream: skipped a chunk with ")
