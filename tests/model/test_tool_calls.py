"""Tool calls through the OpenAI adapter against the fake server: requests carry tools, streams give calls back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.domain.ports import ChatMessage, ModelRequest
from bot.domain.tools import ToolCall, ToolSpec
from bot.errors import ModelRejected
from bot.model.openai_chat import OpenAIModel, RetryPolicy, build_client
from bot.model.toolcalls import ToolCallAssembler
from tests.fake_openai import Call, Error, FakeOpenAI, Page, Reply, ToolCalls

SEARCH = ToolSpec("web_search", "Search the web.", {"type": "object", "properties": {"query": {"type": "string"}}})
ASK = ModelRequest((ChatMessage("user", "news?"),), "gpt-4o-mini", 0.5, 100, tools=(SEARCH,))


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


def model_for(fake: FakeOpenAI) -> OpenAIModel:
    async def no_wait(_: float) -> None:
        return None

    return OpenAIModel(build_client("sk-test", fake.url, 10), RetryPolicy(attempts=2), sleep=no_wait)


async def test_the_request_offers_the_tools_as_functions(fake: FakeOpenAI) -> None:
    model = model_for(fake)
    stream = await model.stream(ASK)
    _ = [piece async for piece in stream]
    await model.aclose()
    assert fake.chat_requests()[0]["tools"] == [{"type": "function", "function": {
        "name": "web_search", "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]
    assert "tool_choice" not in fake.chat_requests()[0]


async def test_two_calls_split_over_chunks_come_back_whole_and_in_order(fake: FakeOpenAI) -> None:
    fake.script(ToolCalls((Call("web_search", {"query": "weather in Paris"}, id="call_a"),
                           Call("web_search", {"query": "weather in Rome"}, id="call_b")), chunk_size=3))
    model = model_for(fake)
    stream = await model.stream(ASK)
    pieces = [piece async for piece in stream]
    await model.aclose()
    assert pieces == []
    assert stream.completion is not None
    assert stream.completion.finish_reason == "tool_calls"
    assert stream.completion.tool_calls == (ToolCall("call_a", "web_search", '{"query": "weather in Paris"}'),
                                            ToolCall("call_b", "web_search", '{"query": "weather in Rome"}'))
    assert stream.completion.usage is not None


async def test_text_before_the_calls_streams_as_text(fake: FakeOpenAI) -> None:
    fake.script(ToolCalls((Call("web_search", {"query": "q"}),), text="Let me search."))
    model = model_for(fake)
    stream = await model.stream(ASK)
    pieces = [piece async for piece in stream]
    await model.aclose()
    assert "".join(pieces) == "Let me search."
    assert stream.completion is not None and [c.name for c in stream.completion.tool_calls] == ["web_search"]


async def test_the_exchange_is_sent_back_in_openai_shape_and_told_to_answer_without_the_tools(
        fake: FakeOpenAI) -> None:
    call = ToolCall("call_1", "web_search", '{"query": "q"}')
    messages = (ChatMessage("user", "news?"), ChatMessage("assistant", "", tool_calls=(call,)),
                ChatMessage("tool", "results", tool_call_id="call_1"))
    model = model_for(fake)
    stream = await model.stream(ModelRequest(messages, "gpt-4o-mini", 0.5, 100, tools=(SEARCH,), tool_choice="none"))
    _ = [piece async for piece in stream]
    await model.aclose()
    sent = fake.chat_requests()[0]
    assert sent["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": '{"query": "q"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "results"},
    ]
    assert "tools" not in sent and "tool_choice" not in sent  # the last round: answer from the results


async def test_a_refused_exchange_when_told_to_answer_is_dropped_but_tools_are_not_learnt_refused(
        fake: FakeOpenAI) -> None:
    fake.script(Error(400, "tool messages need tools"))  # a server that wants tools beside tool messages
    call = ToolCall("call_1", "web_search", '{"query": "q"}')
    messages = (ChatMessage("user", "news?"), ChatMessage("assistant", "", tool_calls=(call,)),
                ChatMessage("tool", "results", tool_call_id="call_1"))
    model = model_for(fake)
    stream = await model.stream(ModelRequest(messages, "gpt-4o-mini", 0.5, 100, tools=(SEARCH,), tool_choice="none"))
    assert "".join([piece async for piece in stream]) == "Echo: news?"
    stream = await model.stream(ASK)
    _ = [piece async for piece in stream]
    await model.aclose()
    assert [[m["role"] for m in body["messages"]] for body in fake.chat_requests()[:2]] == [
        ["user", "assistant", "tool"], ["user"]]
    assert "tools" in fake.chat_requests()[2]  # the next answer is offered the tools again


async def test_a_server_that_rejects_tools_is_asked_again_without_them_and_warned_about_once(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture,
) -> None:
    fake.rejects_tools = True
    call = ToolCall("call_1", "web_search", "{}")
    history = (ChatMessage("user", "earlier"), ChatMessage("assistant", "", tool_calls=(call,)),
               ChatMessage("tool", "results", tool_call_id="call_1"), ChatMessage("assistant", "the answer"),
               ChatMessage("user", "news?"))
    model = model_for(fake)
    for _ in range(2):
        stream = await model.stream(ModelRequest(history, "gpt-4o-mini", 0.5, 100, tools=(SEARCH,)))
        assert "".join([piece async for piece in stream]) == "Echo: news?"
    await model.aclose()
    asked = fake.chat_requests()
    assert ["tools" in body for body in asked] == [True, False, False]  # the second turn asks without at once
    assert [m["role"] for m in asked[1]["messages"]] == ["user", "assistant", "user"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("bot.")]
    assert len(warnings) == 1 and "without tools" in warnings[0].getMessage()


@pytest.mark.parametrize("error", [
    Error(400, "Invalid value for 'temperature'."),
    Error(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
               "'tool_calls'.", param="messages"),
])
async def test_another_400_is_not_mistaken_for_refused_tools(fake: FakeOpenAI, error: Error) -> None:
    fake.script(error, Reply("fine"))
    model = model_for(fake)
    with pytest.raises(ModelRejected):
        await model.stream(ASK)
    stream = await model.stream(ASK)  # tools are still offered: nothing was learnt
    _ = [piece async for piece in stream]
    await model.aclose()
    assert ["tools" in body for body in fake.chat_requests()] == [True, True]


@pytest.mark.parametrize("message", ["Unrecognized request argument supplied: tools",
                                     "registry.ollama.ai/library/gemma:2b does not support tools",
                                     '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser'])
async def test_compatible_servers_refusing_tools_are_recognised(fake: FakeOpenAI, message: str) -> None:
    fake.script(Error(400, message))
    model = model_for(fake)
    stream = await model.stream(ASK)
    _ = [piece async for piece in stream]
    await model.aclose()
    assert ["tools" in body for body in fake.chat_requests()] == [True, False]


@pytest.mark.parametrize("page", [Page("tools are not supported", "text/plain", status=400),
                                  Page('{"detail": "this model does not support tools"}', "application/json",
                                       status=400),
                                  Page('{"error": "tools are not supported"}', "application/json", status=400)])
async def test_a_refusal_of_tools_not_in_openais_shape_is_recognised_by_its_body(fake: FakeOpenAI, page: Page) -> None:
    fake.script(page)  # the SDK's message is only "Error code: 400" for these: the body names the tools
    model = model_for(fake)
    stream = await model.stream(ASK)
    assert "".join([piece async for piece in stream]) == "Echo: news?"
    await model.aclose()
    assert ["tools" in body for body in fake.chat_requests()] == [True, False]


async def test_a_400_naming_nothing_is_the_error_and_tools_stay_offered(fake: FakeOpenAI) -> None:
    fake.script(Error(400, "Bad Request"), Page("<html><script>function f() {}</script></html>", status=400))
    model = model_for(fake)
    for _ in range(2):
        with pytest.raises(ModelRejected):
            await model.stream(ASK)
    await model.aclose()
    assert ["tools" in body for body in fake.chat_requests()] == [True, True]


async def test_a_400_echoing_the_request_is_not_taken_for_a_refusal_of_what_it_echoes(fake: FakeOpenAI) -> None:
    echo = ('{"detail": [{"type": "string_type", "loc": ["body", "messages", 0, "content"], "msg": "Input should be '
            'a valid string", "input": {"tools": [{"type": "function"}], "temperature": 0.7}}]}')
    fake.script(Page(echo, "application/json", status=400))
    model = model_for(fake)
    with pytest.raises(ModelRejected) as caught:
        await model.stream(ASK)
    await model.aclose()
    assert type(caught.value) is ModelRejected  # neither tools nor a parameter refused: the turn's error stands
    assert ["tools" in body for body in fake.chat_requests()] == [True]


def test_fragments_without_an_index_are_told_apart_by_id() -> None:
    calls = ToolCallAssembler()
    assert calls.add([{"id": "a", "function": {"name": "f", "arguments": "{}"}}])
    assert calls.add([{"id": "b", "function": {"name": "g", "arguments": "{\"x\":1}"}}])
    assert calls.calls() == (ToolCall("a", "f", "{}"), ToolCall("b", "g", '{"x":1}'))


def test_odd_fragments_are_refused_and_calls_without_a_name_dropped() -> None:
    calls = ToolCallAssembler()
    assert not calls.add("nope")
    assert not calls.add([{"index": 0, "function": {"name": 5}}])
    assert calls.add([{"index": 0, "function": {"arguments": "{}"}}])
    assert calls.calls() == ()
    assert calls.add([{"index": 1, "function": {"name": "f"}}])
    assert calls.calls()[0].id.startswith("call_") and calls.calls()[0].arguments == "{}"
