"""End to end: personas, groups, topics, group administrators and the allowlist, as users see them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.e2e import World, world
from tests.http_fake import wait_for

GROUP = -100123
ADMINISTRATOR, MEMBER = 11, 22


@pytest.fixture
def env(redis_url: str) -> Iterator[World]:
    Redis.from_url(redis_url).flushdb()
    with world(redis_url) as w:
        w.telegram.administrators[GROUP] = [ADMINISTRATOR]
        yield w


def system_prompt(w: World, index: int = -1) -> str:
    return str(w.model.chat_requests()[index]["messages"][0]["content"])


def reply_count(w: World, chat: int) -> int:
    return len([m for m in w.telegram.messages(chat) if m.reply_markup is None])


def test_switching_persona_changes_the_system_prompt_and_keeps_history(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("hello", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 1, what="first answer")
        assert "helpful assistant" in system_prompt(env)
        bot.post(env.telegram.make_update("/persona TUTOR", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 2, what="confirmation")
        assert "tutor" in env.telegram.texts(5)[-1] and "kept" in env.telegram.texts(5)[-1]
        bot.post(env.telegram.make_update("teach me", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 3, what="tutor answer")
        assert "programming tutor" in system_prompt(env)
        assert "hello" in [m["content"] for m in env.model.chat_requests()[-1]["messages"]]
        bot.post(env.telegram.make_update("/persona pirate", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 4, what="unknown persona")
        assert env.telegram.texts(5)[-1].startswith("Unknown persona") and "tutor" in env.telegram.texts(5)[-1]


def test_a_custom_persona_survives_reset(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/persona You are a pirate. Answer like one.", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 1, what="confirmation")
        bot.post(env.telegram.make_update("/reset", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 2, what="reset")
        bot.post(env.telegram.make_update("ahoy", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 3, what="answer")
        assert system_prompt(env) == "You are a pirate. Answer like one."
        bot.post(env.telegram.make_update("/persona " + "long " * 500, chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 4, what="refusal")
        assert "limit is 500 tokens" in env.telegram.texts(5)[-1]


def test_a_custom_persona_is_limited_in_tokens_not_characters(env: World) -> None:
    cuneiform = ("𒀀𒀁𒀂𒀃𒀄𒀅𒀆 " * 250)[:1999]  # 1,999 characters (the old limit was 2,000): 7,253 tokens
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/persona " + cuneiform, chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 1, what="refusal")
        assert env.telegram.texts(5) == [
            "That custom persona is 7,253 tokens long; the limit is 500 tokens. Please shorten it."]
        bot.post(env.telegram.make_update("/persona " + cuneiform[:100], chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 2, what="a shorter one")
        assert "Custom persona set" in env.telegram.texts(5)[-1]


def test_the_persona_keyboard_switches_on_tap(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/persona", chat_id=5))
        wait_for(lambda: len(env.telegram.messages(5)) == 1, what="the menu")
        menu = env.telegram.messages(5)[0]
        assert menu.reply_markup is not None
        buttons = [b["callback_data"] for row in menu.reply_markup["inline_keyboard"] for b in row]
        assert "persona:tutor" in buttons and "Current persona: default" in menu.text
        bot.post(env.telegram.make_callback("persona:tutor", chat_id=5, user_id=5, message_id=menu.message_id))
        wait_for(lambda: "tutor" in env.telegram.texts(5)[0] and "switched" in env.telegram.texts(5)[0],
                 what="the menu edited into a confirmation")


def test_a_group_mention_is_answered_in_its_topic_quoting_the_message(env: World) -> None:
    with env.bot() as bot:
        mention = "@test_bot what is 2+2?"
        update = env.telegram.make_update(
            mention, chat_id=GROUP, chat_type="supergroup", user_id=MEMBER, first_name="Bob",
            entities=[{"type": "mention", "offset": 0, "length": 9}], message_thread_id=77, is_topic_message=True)
        bot.post(update)
        wait_for(lambda: reply_count(env, GROUP) == 1, what="the group answer")
        (answer,) = env.telegram.messages(GROUP)
        assert answer.thread_id == 77
        assert answer.reply_to == update["message"]["message_id"]
        assert env.telegram.calls_of("sendMessage")[0].params["reply_parameters"]["message_id"] == answer.reply_to
        sent = env.model.chat_requests()[0]["messages"][-1]["content"]
        assert sent == "Bob: what is 2+2?"


def test_unaddressed_group_messages_never_reach_the_model(env: World) -> None:
    with env.bot() as bot:
        for text, entities in [("just chatting", []), ("hey @other_bot", [{"type": "mention", "offset": 4,
                                                                            "length": 10}])]:
            bot.post(env.telegram.make_update(text, chat_id=GROUP, chat_type="supergroup", entities=entities))
        bot.post(env.telegram.make_update("/help@other_bot", chat_id=GROUP, chat_type="supergroup"))
        bot.post(env.telegram.make_update("/help@test_bot", chat_id=GROUP, chat_type="supergroup"))
        wait_for(lambda: reply_count(env, GROUP) == 1, what="help for this bot")
        assert env.model.chat_requests() == []
        assert "/reset" in env.telegram.texts(GROUP)[0]


def test_group_settings_are_for_group_administrators(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/persona tutor", chat_id=GROUP, chat_type="supergroup", user_id=MEMBER))
        wait_for(lambda: reply_count(env, GROUP) == 1, what="refusal")
        assert "administrators" in env.telegram.texts(GROUP)[0]
        bot.post(env.telegram.make_update("/persona tutor", chat_id=GROUP, chat_type="supergroup",
                                          user_id=ADMINISTRATOR))
        wait_for(lambda: reply_count(env, GROUP) == 2, what="switch")
        assert "switched" in env.telegram.texts(GROUP)[1]


def test_the_allowlist_covers_messages_commands_and_buttons(env: World) -> None:
    with env.bot(ALLOWED_USER_IDS="5, 6") as bot:
        bot.post(env.telegram.make_update("hi", chat_id=9))
        bot.post(env.telegram.make_update("/persona", chat_id=9))
        bot.post(env.telegram.make_update("again", chat_id=9))
        bot.post(env.telegram.make_callback("persona:tutor", chat_id=9, user_id=9, message_id=1))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 1, what="button refusal")
        wait_for(lambda: len(env.telegram.messages(9)) == 1, what="one polite refusal")
        assert "not on its list" in env.telegram.texts(9)[0]
        bot.post(env.telegram.make_update("hi", chat_id=GROUP, chat_type="supergroup",
                                          entities=[], user_id=9))
        bot.post(env.telegram.make_update("hello", chat_id=5))
        wait_for(lambda: reply_count(env, 5) == 1, what="allowed user answered")
        assert len(env.model.chat_requests()) == 1
        assert env.telegram.messages(9)[0].text == env.telegram.texts(9)[-1]
        assert env.telegram.messages(GROUP) == []


def test_stickers_get_a_short_note_and_edited_messages_are_ignored(env: World) -> None:
    with env.bot() as bot:
        sticker = env.telegram.make_update("", chat_id=5, sticker={
            "file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1, "height": 1,
            "is_animated": False, "is_video": False})
        del sticker["message"]["text"]
        bot.post(sticker)
        edited = env.telegram.make_update("edited", chat_id=5)
        bot.post({"update_id": edited["update_id"], "edited_message": {**edited["message"], "edit_date": 1}})
        wait_for(lambda: len(env.telegram.messages(5)) == 1, what="the note")
        assert "text only" in env.telegram.texts(5)[0]
        assert env.model.chat_requests() == []


def test_a_broken_operator_persona_file_stops_the_start(env: World, tmp_path: Path) -> None:
    from tests.bot_process import run_bot_once

    bad = tmp_path / "p.toml"
    bad.write_text("[x]\nprompt = 'no description'\n")
    done = run_bot_once(env.env(PERSONAS_FILE=str(bad), TELEGRAM_BOT_TOKEN="1:a", OPENAI_API_KEY="k"))
    assert done.returncode == 2 and str(bad) in done.stderr and "description" in done.stderr
