"""End to end: the model calls tools (web search on a fake SearXNG, fetch_url, the clock) through the real process.

The fake model server's scripting hook (``FakeOpenAI.default`` as a function of the request) plays a model that
asks for tools by what the user wrote and answers with what the tools returned once their results come back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.chat import ChatKey
from tests.e2e import KEYS, World
from tests.fake_openai import Behaviour, Call, Reply, ToolCalls
from tests.fake_searxng import FakeSearXNG
from tests.http_fake import wait_for

CHAT, OTHER = 51, 52


@pytest.fixture
def searxng() -> Iterator[FakeSearXNG]:
    with FakeSearXNG() as server:
        yield server


def model(body: dict[str, Any]) -> Behaviour:
    """A model that searches for "search: X", compares "A vs B" with two searches at once, reads "read URL"
    ("read slowly URL": and searches for "slow one" at the same time), and keeps searching on "forever" until
    told to answer; after tool results it reports the first line of each."""
    messages = body["messages"]
    asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    told_to_answer = "tools" not in body
    if asked.startswith("forever") and not told_to_answer:
        return ToolCalls((Call("web_search", {"query": f"more {len(messages)}"}),))
    if messages[-1]["role"] == "tool":
        since = max(i for i, m in enumerate(messages) if m["role"] == "user")
        results = [m["content"] for m in messages[since:] if m["role"] == "tool"]
        return Reply("From the tools: " + " | ".join(r.splitlines()[0] if r else "" for r in results), chunk=8)
    if asked.startswith("search: "):
        return ToolCalls((Call("web_search", {"query": asked.removeprefix("search: ")}),))
    if " vs " in asked:
        return ToolCalls(tuple(Call("web_search", {"query": q}) for q in asked.split(" vs ")), chunk_size=4)
    if asked.startswith("read slowly "):
        return ToolCalls((Call("fetch_url", {"url": asked.removeprefix("read slowly ")}),
                          Call("web_search", {"query": "slow one"})))
    if asked.startswith("read "):
        return ToolCalls((Call("fetch_url", {"url": asked.removeprefix("read ")}),))
    return Reply("Plain answer.")


def answered(w: World, chat: int, count: int = 1) -> bool:
    messages = w.telegram.messages(chat)
    return len(messages) >= count and messages[-1].final and not messages[-1].text.startswith("🔎")


def tool_messages(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_a_search_shows_its_progress_line_then_the_answer_and_history_keeps_the_exchange(
        env: World, searxng: FakeSearXNG) -> None:
    env.model.default = model
    searxng.slow["weather in Paris"] = 1.5  # long enough for the progress line to be shown
    with env.bot(SEARXNG_URL=searxng.url, TOOLS_ALLOW_PRIVATE_NETWORKS="true") as bot:
        bot.post(env.telegram.make_update("search: weather in Paris", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), what="the answer")
        (message,) = env.telegram.messages(CHAT)
        assert "🔎 Searching the web: “weather in Paris”" in [text for _, text in message.history]
        assert message.text == "From the tools: Search results for “weather in Paris”:"
        first, second = env.model.chat_requests()
        assert {t["function"]["name"] for t in first["tools"]} == {"current_time", "set_reminder", "list_reminders",
                                                                   "cancel_reminder", "web_search", "fetch_url",
                                                                   "generate_image"}
        assert "https://example.com/1?q=weather+in+Paris" in tool_messages(second)[0]
        bot.post(env.telegram.make_update("thanks", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="the second answer")
        later = env.model.chat_requests()[-1]["messages"]
        page = f"{searxng.url}/search?q=page&format=json"  # a page on 127.0.0.1, readable when allowed
        bot.post(env.telegram.make_update(f"read {page}", chat_id=OTHER))
        wait_for(lambda: answered(env, OTHER), what="the answer after reading a local page")
        metrics = bot.http.get("/metrics").text
    assert env.telegram.texts(OTHER) == [f"From the tools: URL: {page}"]
    assert '"query": "page"' in tool_messages(env.model.chat_requests()[-1])[0]
    assert [m["role"] for m in later] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert later[2]["tool_calls"][0]["function"] == {"name": "web_search",
                                                     "arguments": '{"query": "weather in Paris"}'}
    assert later[3]["tool_call_id"] == later[2]["tool_calls"][0]["id"]
    stored = [json.loads(t) for t in env.store.lrange(KEYS.turns(ChatKey(CHAT)), 0, -1)]
    assert stored[1]["content"] == message.text and stored[1]["tools"][0]["calls"][0]["name"] == "web_search"
    assert 'bot_tool_calls_total{outcome="ok",tool="web_search"} 1.0' in metrics
    assert 'bot_tool_calls_total{outcome="ok",tool="fetch_url"} 1.0' in metrics
    assert 'bot_tool_seconds_count{tool="web_search"} 1.0' in metrics


def test_parallel_calls_a_refused_url_and_a_timeout_all_go_back_to_the_model(env: World, searxng: FakeSearXNG) -> None:
    env.model.default = model
    searxng.slow["slow one"] = 5.0
    with env.bot(SEARXNG_URL=searxng.url, TOOL_TIMEOUT_SECONDS="1") as bot:
        bot.post(env.telegram.make_update("cats vs dogs", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), what="the answer to two searches")
        assert sorted(searxng.queries) == ["cats", "dogs"]
        results = tool_messages(env.model.chat_requests()[1])
        assert [r.splitlines()[0] for r in results] == ["Search results for “cats”:", "Search results for “dogs”:"]
        bot.post(env.telegram.make_update(f"read slowly {env.telegram.url}/private", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="the answer after the failures")
        log = bot.log()
    refused, timed_out = tool_messages(env.model.chat_requests()[-1])[-2:]  # after the history's two
    assert refused == "Error: refused: 127.0.0.1 is not on the public internet"
    assert timed_out == "Error: the tool did not finish within 1 seconds."
    assert env.telegram.texts(CHAT)[-1] == f"From the tools: {refused} | {timed_out}"
    assert "Traceback" not in log


def test_the_round_limit_ends_in_an_answer_without_tools_and_stop_works_during_a_call(
        env: World, searxng: FakeSearXNG) -> None:
    env.model.default = model
    searxng.slow["hang"] = 30.0
    with env.bot(SEARXNG_URL=searxng.url, TOOL_MAX_ROUNDS="2") as bot:
        bot.post(env.telegram.make_update("forever please", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), what="the answer after the round limit")
        asked = env.model.chat_requests()
        assert ["tools" in body for body in asked] == [True, True, False]  # then asked to answer without tools
        assert len(tool_messages(asked[-1])) == 2 and "tool_choice" not in asked[-1]
        assert len(searxng.queries) == 2
        bot.post(env.telegram.make_update("search: hang", chat_id=OTHER))
        wait_for(lambda: "hang" in searxng.queries, what="the slow search")
        wait_for(lambda: env.telegram.messages(OTHER) and env.telegram.messages(OTHER)[0].reply_markup,
                 what="the progress line with its Stop button")
        markup = env.telegram.messages(OTHER)[0].reply_markup
        assert markup is not None
        data = markup["inline_keyboard"][0][0]["callback_data"]
        bot.post(env.telegram.make_callback(data, chat_id=OTHER, user_id=OTHER, message_id=1))
        wait_for(lambda: env.telegram.messages(OTHER)[0].final, what="the stopped answer")
        assert env.telegram.messages(OTHER)[0].text == "⏹ stopped"
        requests = len(env.model.chat_requests())
        bot.post(env.telegram.make_update("and now?", chat_id=OTHER))
        wait_for(lambda: answered(env, OTHER, 2), what="the next answer")
    assert len(env.model.chat_requests()) == requests + 1  # the stopped turn asked the model no more
    assert [m["role"] for m in env.model.chat_requests()[-1]["messages"]] == ["system", "user"]


def test_a_server_that_rejects_tools_is_asked_again_without_them_and_the_operator_warned_once(env: World) -> None:
    env.model.rejects_tools = True
    with env.bot() as bot:
        for number, chat in enumerate((CHAT, OTHER), 1):
            bot.post(env.telegram.make_update(f"hello {number}", chat_id=chat))
            wait_for(lambda chat=chat: answered(env, chat), what="an answer without tools")  # type: ignore[misc]
        log = bot.log()
    assert env.telegram.texts(CHAT) == ["Echo: hello 1"] and env.telegram.texts(OTHER) == ["Echo: hello 2"]
    assert ["tools" in body for body in env.model.chat_requests()] == [True, False, False]
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "without tools" in warnings[0]
