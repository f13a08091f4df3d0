"""End to end: long conversations stay within the token budget through the rolling summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.tokens import TokenCounter
from tests.e2e import World
from tests.fake_openai import Behaviour, Break, Reply
from tests.http_fake import wait_for

CHAT = 77
BUDGET = 300


def final_count(w: World, chat: int) -> int:
    return len([m for m in w.telegram.messages(chat) if m.final])


def answers_reach(w: World, count: int) -> Callable[[], bool]:
    return lambda: final_count(w, CHAT) == count


def history_tokens(request: dict[str, Any], counter: TokenCounter) -> int:
    """Tokens of everything between the persona prompt and the new user message."""
    return sum(counter.count(m["content"]) for m in request["messages"][1:-1])


def counting_sheep(summary: str) -> Callable[[dict[str, Any]], Behaviour]:
    """The model: a summary when asked for one (not streamed), else a long answer about sheep."""
    def behaviour(body: dict[str, Any]) -> Behaviour:
        return Reply("Sheep number " + " ".join(["baa"] * 40) + ".") if body.get("stream") else Reply(summary)
    return behaviour


def test_a_long_conversation_is_summarised_and_never_exceeds_the_budget(env: World) -> None:
    env.model.default = counting_sheep("The user is Ann; she counts sheep and likes tea.")
    counter = TokenCounter("gpt-4o-mini")
    with env.bot(CONTEXT_MAX_TOKENS=str(BUDGET), SUMMARY_MODEL="summary-model") as bot:
        for turn in range(12):
            bot.post(env.telegram.make_update(f"Count sheep, turn {turn}. My name is Ann.", chat_id=CHAT))
            wait_for(answers_reach(env, turn + 1), what=f"answer {turn}")
    chats = [r for r in env.model.chat_requests() if r.get("stream")]
    summaries = [r for r in env.model.chat_requests() if not r.get("stream")]
    assert summaries and all(r["model"] == "summary-model" for r in summaries)
    assert "Keep facts, names" in summaries[0]["messages"][0]["content"]
    assert all(history_tokens(r, counter) <= BUDGET for r in chats)
    last = chats[-1]["messages"]
    assert last[1]["role"] == "system" and "Ann; she counts sheep" in last[1]["content"]
    assert last[-3]["content"] == "Count sheep, turn 10. My name is Ann."
    assert last[-1]["content"] == "Count sheep, turn 11. My name is Ann."


def test_a_stream_broken_mid_answer_keeps_the_text_with_a_note(env: World) -> None:
    env.model.script(Break("Partial answer that never finishes properly", after_chunks=4))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("go", chat_id=CHAT))
        wait_for(lambda: final_count(env, CHAT) == 1, what="the interrupted answer")
        bot.post(env.telegram.make_update("again", chat_id=CHAT))
        wait_for(lambda: final_count(env, CHAT) == 2, what="the next answer")
    first = env.telegram.texts(CHAT)[0]
    assert first.startswith("Partial answer t") and first.endswith("⚠️ reply interrupted")
    roles = [m["role"] for m in env.model.chat_requests()[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_a_reply_cut_at_the_length_limit_says_so(env: World) -> None:
    env.model.script(Reply("A long story that", finish_reason="length"))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("story", chat_id=CHAT))
        wait_for(lambda: final_count(env, CHAT) == 1, what="the cut answer")
    assert env.telegram.texts(CHAT)[0] == "A long story that\n\n✂️ cut at the length limit"


def test_usage_is_recorded_per_user_and_chat(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("hello there", chat_id=CHAT))
        wait_for(lambda: final_count(env, CHAT) == 1, what="answer")
        bot.post(env.telegram.make_update("/usage", chat_id=CHAT))
        wait_for(lambda: final_count(env, CHAT) == 2, what="usage")
    usage = env.telegram.texts(CHAT)[1]
    assert usage.startswith("Your usage:") and "Today:" in usage and "< $0.01" in usage  # a few hundred tokens
    assert "Today: 0 tokens" not in usage


def test_a_reasoning_summary_model_is_asked_without_what_it_refuses(env: World) -> None:
    env.model.default = counting_sheep("The user is Ann; she counts sheep.")
    env.model.model_refuses["o4-mini"] = {"temperature", "max_tokens"}
    with env.bot(CONTEXT_MAX_TOKENS=str(BUDGET), SUMMARY_MODEL="o4-mini") as bot:
        for turn in range(8):
            bot.post(env.telegram.make_update(f"Count sheep, turn {turn}. My name is Ann.", chat_id=CHAT))
            wait_for(answers_reach(env, turn + 1), what=f"answer {turn}")
    summaries = [r for r in env.model.chat_requests() if not r.get("stream")]
    asked_well = [r for r in summaries if "temperature" not in r and "max_completion_tokens" in r]
    assert asked_well and len(summaries) == len(asked_well) + 2, "each refusal learnt once, then never asked again"
    last = [r for r in env.model.chat_requests() if r.get("stream")][-1]["messages"]
    assert last[1]["role"] == "system" and "Ann; she counts sheep" in last[1]["content"]
