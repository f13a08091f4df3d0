from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.domain.chat import ChatKey
from bot.domain.tools import JSONObject, Outcome, Progress, Toolbox, ToolCall, ToolContext, ToolError, ToolSpec

CONTEXT = ToolContext(ChatKey(42), user_id=7)


class Echo:
    """A tool that returns its arguments, fails on request, or hangs."""

    def __init__(self, name: str = "echo") -> None:
        self.spec = ToolSpec(name, "Echoes its text.", {"type": "object", "properties": {"text": {"type": "string"}}})
        self.seen: list[tuple[JSONObject, ToolContext]] = []

    def progress(self, arguments: JSONObject) -> Progress:
        return Progress("tool", str(arguments.get("text", "")))

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        self.seen.append((arguments, context))
        text = str(arguments.get("text", ""))
        if text == "fail":
            raise ToolError("asked to fail")
        if text == "crash":
            raise RuntimeError("secret detail")
        if text == "hang":
            await asyncio.Event().wait()
        return text


async def test_a_call_runs_with_its_parsed_arguments_and_context() -> None:
    echo = Echo()
    result = await Toolbox([echo]).run(ToolCall("c1", "echo", '{"text": "hi"}'), CONTEXT, seconds=1)
    assert result.call_id == "c1"
    assert (result.content, result.outcome) == ("hi", Outcome.OK)
    assert echo.seen == [({"text": "hi"}, CONTEXT)]


@pytest.mark.parametrize(("arguments", "outcome", "says"), [
    ('{"text": "fail"}', Outcome.ERROR, "Error: asked to fail"),
    ('{"text": "crash"}', Outcome.ERROR, "Error: the tool failed unexpectedly."),
    ('{"text": ', Outcome.ERROR, "Error: the arguments are not valid JSON"),
    ("[1]", Outcome.ERROR, "Error: the arguments must be a JSON object"),
])
async def test_failures_become_error_results_for_the_model(arguments: str, outcome: Outcome, says: str) -> None:
    result = await Toolbox([Echo()]).run(ToolCall("c1", "echo", arguments), CONTEXT, seconds=1)
    assert (result.content, result.outcome) == (says, outcome)
    assert "secret detail" not in result.content


async def test_a_call_past_its_timeout_is_an_error_result() -> None:
    result = await Toolbox([Echo()]).run(ToolCall("c1", "echo", '{"text": "hang"}'), CONTEXT, seconds=0.01)
    assert result.outcome is Outcome.TIMEOUT
    assert "did not finish within 0.01 seconds" in result.content


async def test_an_unknown_tool_is_reported_to_the_model() -> None:
    result = await Toolbox([Echo()]).run(ToolCall("c1", "nope", "{}"), CONTEXT, seconds=1)
    assert result.outcome is Outcome.UNKNOWN
    assert "no tool named 'nope'" in result.content


async def test_cancelling_a_call_is_not_turned_into_a_result() -> None:
    task = asyncio.create_task(Toolbox([Echo()]).run(ToolCall("c1", "echo", '{"text": "hang"}'), CONTEXT, 5))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_toolbox_offers_tools_in_order_and_each_name_once() -> None:
    toolbox = Toolbox([Echo("a"), Echo("b")])
    assert [spec.name for spec in toolbox.specs()] == ["a", "b"]
    with pytest.raises(ValueError, match="offered already"):
        toolbox.add(Echo("a"))
    toolbox.remove("a")
    assert "a" not in toolbox and "b" in toolbox and len(toolbox) == 1


def test_progress_comes_from_the_tool_or_names_the_call() -> None:
    toolbox = Toolbox([Echo()])
    assert toolbox.progress(ToolCall("c1", "echo", '{"text": "x"}')) == Progress("tool", "x")
    assert toolbox.progress(ToolCall("c1", "echo", "not json")) == Progress("tool", "echo")
    assert toolbox.progress(ToolCall("c1", "other", "{}")) == Progress("tool", "other")


def test_a_spec_is_sent_as_an_openai_function() -> None:
    spec: dict[str, Any] = Echo().spec.as_openai()
    assert spec == {"type": "function", "function": {
        "name": "echo", "description": "Echoes its text.",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}


def test_an_empty_toolbox_is_still_a_toolbox_to_hand_on() -> None:
    empty = Toolbox()
    assert (len(empty), bool(empty)) == (0, True)  # ``toolbox or Toolbox()`` keeps it: tools may come later
