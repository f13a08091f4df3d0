"""End to end: /model (keyboard, /model ID, the group admin rule), /new, and unknown commands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from tests.bot_process import run_bot_once
from tests.e2e import World, world
from tests.http_fake import wait_for

GROUP = -100321
ADMIN, MEMBER = 11, 22
MODELS = "gpt-4o-mini=Fast,gpt-4o=Smart"


@pytest.fixture
def env(redis_url: str) -> Iterator[World]:
    Redis.from_url(redis_url).flushdb()
    with world(redis_url) as w:
        w.telegram.administrators[GROUP] = [ADMIN]
        yield w


def replies(w: World, chat: int) -> int:
    return len(w.telegram.messages(chat))


def asked_model(w: World) -> str:
    return str(w.model.chat_requests()[-1]["model"])


def test_the_model_keyboard_switches_the_chat_and_the_choice_survives_reset(env: World) -> None:
    with env.bot(MODELS=MODELS) as bot:
        bot.post(env.telegram.make_update("/model", chat_id=5))
        wait_for(lambda: replies(env, 5) == 1, what="the menu")
        menu = env.telegram.messages(5)[0]
        assert menu.text.startswith("Current model: Fast (gpt-4o-mini)") and "Smart (gpt-4o)" in menu.text
        assert menu.reply_markup is not None
        buttons = [(b["text"], b["callback_data"]) for row in menu.reply_markup["inline_keyboard"] for b in row]
        assert buttons == [("✓ Fast", "model:gpt-4o-mini"), ("Smart", "model:gpt-4o")]
        bot.post(env.telegram.make_callback("model:gpt-4o", chat_id=5, user_id=5, message_id=menu.message_id))
        wait_for(lambda: "switched to Smart" in env.telegram.texts(5)[0], what="the menu edited into a confirmation")
        bot.post(env.telegram.make_update("/new", chat_id=5))
        wait_for(lambda: replies(env, 5) == 2, what="the reset")
        assert "forgotten" in env.telegram.texts(5)[-1]
        bot.post(env.telegram.make_update("hello", chat_id=5))
        wait_for(lambda: len(env.model.chat_requests()) == 1, what="the answer")
        assert asked_model(env) == "gpt-4o"
        bot.post(env.telegram.make_update("/model fast", chat_id=5))
        wait_for(lambda: replies(env, 5) == 4, what="the switch back")
        assert env.telegram.texts(5)[-1].startswith("Model switched to Fast (gpt-4o-mini).")
        bot.post(env.telegram.make_update("again", chat_id=5))
        wait_for(lambda: len(env.model.chat_requests()) == 2, what="the second answer")
        assert asked_model(env) == "gpt-4o-mini"
        bot.post(env.telegram.make_update("/model gpt-9", chat_id=5))
        wait_for(lambda: replies(env, 5) == 6, what="the list")
        assert env.telegram.texts(5)[-1] == "Unknown model “gpt-9”.\n\nModels:\n• Fast (gpt-4o-mini)\n• Smart (gpt-4o)"
        bot.post(env.telegram.make_update("/usage", chat_id=5))
        wait_for(lambda: replies(env, 5) == 7, what="the usage")
        assert "· gpt-4o:" in env.telegram.texts(5)[-1] and "· gpt-4o-mini:" in env.telegram.texts(5)[-1]


def test_a_model_id_too_long_for_a_button_is_still_offered_and_chosen(env: World) -> None:
    long = "accounts/fireworks/models/llama-v3p1-405b-instruct-long-context-variant"
    with env.bot(MODELS=f"gpt-4o-mini=Fast,{long}=Big") as bot:
        bot.post(env.telegram.make_update("/model", chat_id=5))
        wait_for(lambda: replies(env, 5) == 1, what="the menu")
        menu = env.telegram.messages(5)[0]
        assert menu.reply_markup is not None and menu.text.startswith("Current model: Fast")
        ((_, big),) = menu.reply_markup["inline_keyboard"]
        assert big["text"] == "Big"
        bot.post(env.telegram.make_callback(big["callback_data"], chat_id=5, user_id=5, message_id=menu.message_id))
        wait_for(lambda: "switched to Big" in env.telegram.texts(5)[0], what="the confirmation")
        bot.post(env.telegram.make_update("hello", chat_id=5))
        wait_for(lambda: len(env.model.chat_requests()) == 1, what="the answer")
        assert asked_model(env) == long


def test_a_tap_on_a_menu_that_can_no_longer_be_edited_confirms_in_a_message_of_its_own(env: World) -> None:
    with env.bot(MODELS=MODELS) as bot:
        bot.post(env.telegram.make_update("/model", chat_id=5))
        wait_for(lambda: replies(env, 5) == 1, what="the menu")
        menu = env.telegram.messages(5)[0]
        env.telegram.fail_next("editMessageText", 400, description="Bad Request: message can't be edited")
        bot.post(env.telegram.make_callback("model:gpt-4o", chat_id=5, user_id=5, message_id=menu.message_id))
        wait_for(lambda: replies(env, 5) == 2, what="the confirmation")
        assert env.telegram.texts(5)[0] == menu.text  # the menu as it was
        assert env.telegram.texts(5)[1].startswith("Model switched to Smart (gpt-4o).")
        assert len(env.telegram.calls_of("answerCallbackQuery")) == 1


def test_in_groups_only_admins_switch_the_model(env: World) -> None:
    group: dict[str, Any] = {"chat_id": GROUP, "chat_type": "supergroup"}
    with env.bot(MODELS=MODELS) as bot:
        bot.post(env.telegram.make_update("/model gpt-4o", user_id=MEMBER, **group))
        wait_for(lambda: replies(env, GROUP) == 1, what="the refusal")
        assert "administrators" in env.telegram.texts(GROUP)[0]
        bot.post(env.telegram.make_update("/model", user_id=MEMBER, **group))
        wait_for(lambda: replies(env, GROUP) == 2, what="the menu")
        menu = env.telegram.messages(GROUP)[1]
        bot.post(env.telegram.make_callback("model:gpt-4o", chat_id=GROUP, user_id=MEMBER,
                                            message_id=menu.message_id))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 1, what="the refused tap")
        assert "administrators" in env.telegram.calls_of("answerCallbackQuery")[0].params["text"]
        bot.post(env.telegram.make_update("/model gpt-4o", user_id=ADMIN, **group))
        wait_for(lambda: replies(env, GROUP) == 3, what="the switch")
        bot.post(env.telegram.make_update("@test_bot hi", user_id=MEMBER, **group,
                                          entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: len(env.model.chat_requests()) == 1, what="the answer")
        assert asked_model(env) == "gpt-4o"


def test_without_models_the_bot_says_it_has_one(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/model", chat_id=5))
        wait_for(lambda: replies(env, 5) == 1, what="the answer")
        assert env.telegram.texts(5) == [
            "I answer with one model here: gpt-4o-mini. There are no others to choose from."]


def test_openai_model_must_be_one_of_models(env: World) -> None:
    done = run_bot_once(env.env(MODELS="gpt-4o=Smart,o4-mini", OPENAI_MODEL="gpt-4o-mini", TELEGRAM_BOT_TOKEN="1:a",
                                OPENAI_API_KEY="k"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: OPENAI_MODEL: must be one of MODELS (gpt-4o, o4-mini), got 'gpt-4o-mini'"]


def test_with_only_models_set_the_first_of_them_answers(env: World) -> None:
    with env.bot(MODELS="gpt-4o=Smart,o4-mini=Reasoning") as bot:
        bot.post(env.telegram.make_update("hello", chat_id=5))
        wait_for(lambda: env.telegram.texts(5) == ["Echo: hello"], what="the answer")
        assert asked_model(env) == "gpt-4o"
        bot.post(env.telegram.make_update("/model", chat_id=5))
        wait_for(lambda: replies(env, 5) == 2, what="the menu")
        assert env.telegram.texts(5)[-1].startswith("Current model: Smart (gpt-4o)")


def test_an_unknown_command_points_to_help(env: World) -> None:
    group: dict[str, Any] = {"chat_id": GROUP, "chat_type": "supergroup"}
    with env.bot(ADMIN_USER_IDS="999") as bot:
        bot.post(env.telegram.make_update("/frobnicate now", chat_id=5))
        wait_for(lambda: replies(env, 5) == 1, what="the pointer")
        assert env.telegram.texts(5) == ["I don't know that command. Send /help to see what I can do."]
        bot.post(env.telegram.make_update("/stats", chat_id=5))  # an operator's command, from someone else
        wait_for(lambda: replies(env, 5) == 2, what="the pointer again")
        assert env.telegram.texts(5)[1].startswith("I don't know that command")
        bot.post(env.telegram.make_update("/frobnicate", **group))
        bot.post(env.telegram.make_update("/frobnicate@other_bot", **group))
        bot.post(env.telegram.make_update("/frobnicate@test_bot", **group))
        bot.post(env.telegram.make_update("/help@test_bot", **group))
        wait_for(lambda: replies(env, GROUP) == 2, what="the pointer and the help")
        first, second = env.telegram.texts(GROUP)
        assert first.startswith("I don't know that command") and "/reset" in second
        assert env.model.chat_requests() == []
