"""The OpenAI adapter against the fake OpenAI server over real HTTP: streaming, retries, broken streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from bot.domain.capability import Limit
from bot.domain.image import Detail, ImagePart
from bot.domain.ports import ChatMessage, ModelRequest
from bot.errors import (
    ContextTooLong,
    ImagesRejected,
    ModelAccessDenied,
    ModelRejected,
    ModelUnavailable,
    ParameterRejected,
    StreamBroken,
)
from bot.model.openai_chat import OpenAIModel, RetryPolicy, build_client
from bot.model.stream import Event, server_sent_events
from tests.fake_openai import Break, Error, FakeOpenAI, Page, Reply

ASK = ModelRequest((ChatMessage("user", "hello"),), "gpt-4o-mini", 0.5, 100)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


def model_for(fake: FakeOpenAI, clock: list[float] | None = None) -> OpenAIModel:
    async def no_wait(_: float) -> None:
        return None

    now = clock or [0.0]
    return OpenAIModel(build_client("sk-test", fake.url, 10), RetryPolicy(attempts=3), sleep=no_wait,
                       clock=lambda: now[0])


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
    (Error(401), ModelAccessDenied),
    (Error(403), ModelAccessDenied),
    (Error(404), ModelRejected),
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


def choice(delta: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-odd", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


ODD_CHUNKS = {
    "usage with null counts": {"choices": [], "usage": {"prompt_tokens": None, "completion_tokens": 3}},
    "a delta that is a string": choice("surprise"),
    "content as a list of parts": choice({"content": [{"type": "text", "text": "surprise"}]}),
    "choices that are an object": {"choices": {"0": {"delta": {"content": "surprise"}}}},
}


@pytest.mark.parametrize("odd", ODD_CHUNKS.values(), ids=ODD_CHUNKS.keys())
async def test_an_odd_chunk_is_skipped_with_one_warning_and_the_answer_around_it_kept(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture, odd: dict[str, Any],
) -> None:
    fake.script(Reply("Hello there, friend", chunk=5, usage=False, odd_chunks=(odd, odd)))
    model = model_for(fake)
    pieces, finish, tokens = await read(model)
    await model.aclose()
    assert ("".join(pieces), finish, tokens) == ("Hello there, friend", "stop", None)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot.")]
    assert len(warnings) == 1 and warnings[0].getMessage().startswith("model stream: skipped a chunk with ")


async def test_a_200_that_is_not_an_event_stream_is_a_model_error_after_the_retries(fake: FakeOpenAI) -> None:
    fake.script(Page(), Page(), Page())
    model = model_for(fake)
    with pytest.raises(ModelUnavailable):
        await model.stream(ASK)
    await model.aclose()
    assert len(fake.chat_requests()) == 3


async def test_refused_credentials_are_not_retried_and_logged_as_an_error_at_most_once_a_minute(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1000.0]
    model = model_for(fake, clock)
    fake.default = Error(401, code="invalid_api_key")
    for at in (1000.0, 1030.0, 1059.0, 1061.0, 1062.0):
        clock[0] = at
        with pytest.raises(ModelAccessDenied):
            await model.stream(ASK)
    await model.aclose()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot.")]
    assert len(errors) == 2 and len(fake.chat_requests()) == 5
    assert "OPENAI_API_KEY" in errors[0].getMessage() and "sk-test" not in errors[0].getMessage()


LOOK = ModelRequest((ChatMessage("user", "what is it?", (ImagePart("data:image/png;base64,AAAA", Detail.LOW),)),
                     ChatMessage("user", "", (ImagePart("data:image/jpeg;base64,BBBB"),))), "gpt-4o-mini", 0.5, 100)


async def test_images_go_as_content_parts_after_the_text(fake: FakeOpenAI) -> None:
    stream = await model_for(fake).stream(LOOK)
    _ = [piece async for piece in stream]
    first, second = fake.chat_requests()[0]["messages"]
    assert first["content"] == [{"type": "text", "text": "what is it?"},
                                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA",
                                                                    "detail": "low"}}]
    assert second["content"] == [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,BBBB",
                                                                     "detail": "auto"}}]


async def test_a_400_about_images_is_images_rejected_and_other_400s_are_not(fake: FakeOpenAI) -> None:
    fake.refuse_images = True
    with pytest.raises(ImagesRejected):
        await model_for(fake).stream(LOOK)
    fake.refuse_images = False
    fake.script(Error(400, "Invalid 'temperature': decimal above maximum value."))
    with pytest.raises(ModelRejected) as caught:
        await model_for(fake).stream(LOOK)
    assert not isinstance(caught.value, ImagesRejected)
    fake.script(Error(400, "Invalid content: images are not supported"))
    with pytest.raises(ModelRejected) as text_only:  # a request without images is never about images
        await model_for(fake).stream(ASK)
    assert not isinstance(text_only.value, ImagesRejected)


@pytest.mark.parametrize("page", [Page('{"detail": "this is not a multimodal model"}', "application/json", status=400),
                                  Page("image input is not supported", "text/plain", status=400)])
async def test_a_refusal_of_images_not_in_openais_shape_is_recognised_by_its_body(fake: FakeOpenAI,
                                                                                   page: Page) -> None:
    fake.script(page)  # the SDK's message is only "Error code: 400" for these: the body names the images
    with pytest.raises(ImagesRejected):
        await model_for(fake).stream(LOOK)


async def test_a_refused_parameter_is_named_and_a_learnt_one_left_out(fake: FakeOpenAI) -> None:
    model = model_for(fake)
    ask = replace(ASK, model="o4-mini")
    fake.model_refuses["o4-mini"] = {"temperature", "max_tokens"}
    for parameter in ("temperature", "max_tokens"):
        with pytest.raises(ParameterRejected) as caught:
            await model.stream(replace(ask, limits=frozenset({Limit.TEMPERATURE}) if parameter == "max_tokens"
                                       else frozenset()))
        assert caught.value.parameter == parameter
    fake.script(Reply("Thought it through.", reasoning_tokens=64))
    stream = await model.stream(replace(ask, limits=frozenset({Limit.TEMPERATURE, Limit.MAX_TOKENS})))
    assert "".join([piece async for piece in stream]) == "Thought it through."
    assert stream.completion is not None and stream.completion.usage is not None
    assert stream.completion.usage.reasoning_tokens == 64
    sent = fake.chat_requests()[-1]
    assert "temperature" not in sent and "max_tokens" not in sent and sent["max_completion_tokens"] == 100
    await model.aclose()


@pytest.mark.parametrize(("said", "parameter"), [
    ("temperature is not supported with this model.", "temperature"),
    ("Unsupported parameter: temperature", "temperature"),
    ("max_tokens is not allowed with this model; send max_completion_tokens instead.", "max_tokens"),
    ("This model does not accept the max_tokens parameter.", "max_tokens"),
    (Page('{"detail": "temperature is not supported by this model"}', "application/json", status=400),
     "temperature"),
    (Page("max_tokens is not supported; send max_completion_tokens", "text/plain", status=400), "max_tokens"),
])
async def test_a_refused_parameter_is_named_however_the_server_words_it(fake: FakeOpenAI, said: str | Page,
                                                                        parameter: str) -> None:
    fake.script(Error(400, said) if isinstance(said, str) else said)  # a Page: not in OpenAI's shape
    model = model_for(fake)
    with pytest.raises(ParameterRejected) as caught:
        await model.stream(ASK)
    assert caught.value.parameter == parameter
    await model.aclose()
