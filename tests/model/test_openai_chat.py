"""The OpenAI adapter against the fake OpenAI server over real HTTP: streaming, retries, broken streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.domain.ports import ChatMessage, ModelRequest
from bot.errors import ContextTooLong, ModelRejected, ModelUnavailable, StreamBroken
from bot.model.openai_chat import OpenAIModel, RetryPolicy, build_client
from bot.model.stream import Event, server_sent_events
from tests.fake_openai import Break, Error, FakeOpenAI, Reply

ASK = ModelRequest((ChatMessage("user", "hello"),), "gpt-4o-mini", 0.5, 100)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


def model_for(fake: FakeOpenAI) -> OpenAIModel:
    async def no_wait(_: float) -> None:
        return None

    return OpenAIModel(build_client("sk-test", fake.url, 10), RetryPolicy(attempts=3), sleep=no_wait)


async def read(model: OpenAIModel) -> tuple[list[str], str | None, int | None]:
    stream = await model.stream(ASK)
    pieces = [piece async for piece in stream]
    completion = stream.completion
    assert completion is not None
    return pieces, completion.finish_reason, completion.usage.completion_tokens if completion.usage else None


async def test_an_answer_streams_in_pieces_with_its_finish_reason_and_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply("Hello there, friend", chunk=5, completion_tokens=4))
    pieces, finish, tokens = await read(model_for(fake))
    assert "".join(pieces) == "Hello there, friend" and len(pieces) == 4
    assert (finish, tokens) == ("stop", 4)


async def test_a_429_before_the_first_words_is_retried_unseen(fake: FakeOpenAI) -> None:
    fake.script(Error(429, retry_after=0.1), Reply("fine"))
    pieces, _, _ = await read(model_for(fake))
    assert pieces == ["fine"] and len(fake.chat_requests()) == 2


async def test_a_stream_that_breaks_before_any_text_is_retried(fake: FakeOpenAI) -> None:
    fake.script(Break("lost", after_chunks=0), Reply("second try"))
    pieces, _, _ = await read(model_for(fake))
    assert "".join(pieces) == "second try"


async def test_a_stream_that_breaks_mid_answer_raises_stream_broken_after_the_text(fake: FakeOpenAI) -> None:
    fake.script(Break("Partial answer here", after_chunks=2, chunk=4))
    stream = await model_for(fake).stream(ASK)
    seen: list[str] = []

    async def drain() -> None:
        async for piece in stream:
            seen.append(piece)

    with pytest.raises(StreamBroken):
        await drain()
    assert "".join(seen) == "Partial "


@pytest.mark.parametrize(("error", "raised"), [
    (Error(401), ModelRejected),
    (Error(400, code="context_length_exceeded"), ContextTooLong),
    (Error(503), ModelUnavailable),
])
async def test_errors_become_our_own_types(fake: FakeOpenAI, error: Error, raised: type[Exception]) -> None:
    fake.script(error, error, error)
    with pytest.raises(raised):
        await model_for(fake).stream(ASK)


async def test_stopping_closes_the_response_so_the_server_stops_generating(fake: FakeOpenAI) -> None:
    fake.script(Reply("word " * 200, chunk=5, delay=0.02))
    stream = await model_for(fake).stream(ASK)
    await stream.aclose()
    for _ in range(100):
        if fake.disconnects:
            break
        await asyncio.sleep(0.02)
    assert fake.disconnects == 1


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_server_sent_events_skip_comments_and_join_multi_line_data() -> None:
    body = lines(": keep-alive", "", "data: {\"a\":", "data: 1}", "", "event: error", "data: oops", "", "data: [DONE]")
    events = [event async for event in server_sent_events(body)]
    assert events == [Event("message", '{"a":\n1}'), Event("error", "oops"), Event("message", "[DONE]")]
