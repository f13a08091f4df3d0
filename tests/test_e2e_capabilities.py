"""End to end: what a model cannot do is learned from its server's 400s, remembered in Redis for a day (across
processes and replicas), and a reasoning model shows that it thinks and reports its reasoning tokens."""

from __future__ import annotations

from tests.e2e import KEYS, World
from tests.fake_openai import Reply, image_parts
from tests.http_fake import wait_for
from tests.pictures import picture

CHAT = 42
MODELS = "gpt-4o-mini=Fast,o4-mini=Reasoning"


def finals(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.final]


def test_a_reasoning_model_is_asked_without_what_it_refuses_and_shows_that_it_thinks(env: World) -> None:
    env.model.model_refuses["o4-mini"] = {"temperature", "max_tokens"}
    env.model.script(Reply("Deep answer.", reasoning_tokens=120), Reply("Deeper still.", reasoning_tokens=80))
    with env.bot(MODELS=MODELS) as bot:
        bot.post(env.telegram.make_update("/model o4-mini", chat_id=CHAT))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 1, what="the switch")
        bot.post(env.telegram.make_update("think hard", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT)[-1:] == ["Deep answer."], what="the answer after two refusals")
        first = env.model.chat_requests()
        assert [("temperature" in r, "max_tokens" in r, "max_completion_tokens" in r) for r in first] == [
            (True, True, False), (False, True, False), (False, False, True)]
        assert env.store.ttl(KEYS.capability("o4-mini", "temperature")) > 86000
        bot.post(env.telegram.make_update("and again", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT)[-1:] == ["Deeper still."], what="the second answer")
        assert len(env.model.chat_requests()) == 4, "what was learnt is not asked again"
        shown = [text for _, text in env.telegram.messages(CHAT)[-1].history]
        assert shown[0] == "💭 Thinking…" and shown[-1] == "Deeper still."
        bot.post(env.telegram.make_update("/usage", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT)[-1].startswith("Your usage"), what="the usage")
        assert "· o4-mini:" in finals(env, CHAT)[-1] and "(200 reasoning)" in finals(env, CHAT)[-1]


def test_a_model_refusing_images_is_remembered_in_redis_across_processes(env: World) -> None:
    env.model.model_refuses["gpt-4o-mini"] = {"images"}
    for run in range(2):
        with env.bot() as bot:
            bot.post(env.telegram.make_update(None, chat_id=CHAT, photo=env.telegram.add_photo(
                (30, 20, picture(30, 20))), caption=f"look {run}"))
            wait_for(lambda run=run: any(f"look {run}" in t for t in finals(env, CHAT)),  # type: ignore[misc]
                     what=f"answer {run}")
    assert [bool(image_parts(r)) for r in env.model.chat_requests()] == [True, False, False]
    notes = [t for t in finals(env, CHAT) if "can't read images" in t]
    assert notes == ["This model can't read images — switch with /model. I answered from your text alone."]
    assert env.store.ttl(KEYS.capability("gpt-4o-mini", "images")) > 86000


def test_a_model_refusing_only_temperature_thinks_visibly_from_its_first_answer(env: World) -> None:
    env.model.model_refuses["o4-mini"] = {"temperature"}
    env.model.script(Reply("Pondered.", reasoning_tokens=30))
    with env.bot(OPENAI_MODEL="o4-mini", MODELS=MODELS) as bot:
        bot.post(env.telegram.make_update("think", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT) == ["Pondered."], what="the answer")
        shown = [text for _, text in env.telegram.messages(CHAT)[0].history]
        assert shown[0] == "💭 Thinking…" and shown[-1] == "Pondered."
        assert ["temperature" in r for r in env.model.chat_requests()] == [True, False]


def test_a_model_refusing_tools_is_asked_without_them_and_that_is_remembered_a_day(env: World) -> None:
    env.model.model_refuses["gpt-4o-mini"] = {"tools"}
    with env.bot() as bot:
        for turn in range(2):
            bot.post(env.telegram.make_update(f"hi {turn}", chat_id=CHAT))
            wait_for(lambda turn=turn: finals(env, CHAT)[-1:] == [f"Echo: hi {turn}"],  # type: ignore[misc]
                     what=f"answer {turn}")
    assert ["tools" in r for r in env.model.chat_requests()] == [True, False, False]
    assert env.store.ttl(KEYS.capability("gpt-4o-mini", "tools")) > 86000
