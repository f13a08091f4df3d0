"""End to end: 🔄 and /retry answer the newest message again in the same messages; an edit of it does too."""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
from typing import Any

from tests.e2e import KEYS, World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

CHAT, GROUP = 42, -100555
ADMIN, ASKER, OTHER = 11, 22, 33
_update_ids = itertools.count(50_000)


def finals(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.final]


def history(w: World, chat: int) -> list[tuple[str, str]]:
    return [(t["role"], t["content"]) for t in map(json.loads, w.store.lrange(KEYS.turns(_key(chat)), 0, -1))]


def _key(chat: int) -> Any:
    from bot.domain.chat import ChatKey
    return ChatKey(chat)


def edited(original: dict[str, Any], text: str, after: float = 5) -> dict[str, Any]:
    message = {**original["message"], "text": text, "edit_date": int(original["message"]["date"] + after)}
    return {"update_id": next(_update_ids), "edited_message": message}


def press(w: World, chat: int, user: int, message_id: int) -> dict[str, Any]:
    return w.telegram.make_callback("regenerate", chat_id=chat, user_id=user, message_id=message_id)


def test_the_newest_answer_carries_the_button_and_a_press_answers_again_in_place(env: World) -> None:
    env.model.script(Reply("First answer."), Reply("Second answer."), Reply("A better second answer."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("first question", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT) == ["First answer."], what="the first answer")
        wait_for(lambda: env.telegram.messages(CHAT)[0].regenerable, what="its 🔄")
        bot.post(env.telegram.make_update("second question", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT) == ["First answer.", "Second answer."], what="the second answer")
        first, second = env.telegram.messages(CHAT)
        wait_for(lambda: not env.telegram.messages(CHAT)[0].regenerable, what="the first 🔄 taken off")
        assert second.regenerable
        bot.post(press(env, CHAT, CHAT, first.message_id))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 1, what="the old button's answer")
        assert "newest" in env.telegram.calls_of("answerCallbackQuery")[0].params["text"]
        bot.post(press(env, CHAT, CHAT, second.message_id))
        wait_for(lambda: finals(env, CHAT) == ["First answer.", "A better second answer."], what="the new answer")
        after = env.telegram.messages(CHAT)
        assert [m.message_id for m in after] == [first.message_id, second.message_id]
        wait_for(lambda: env.telegram.messages(CHAT)[1].regenerable, what="the 🔄 back under it")
        asked = env.model.chat_requests()[-1]["messages"]
        assert [(m["role"], m["content"]) for m in asked[1:]] == [
            ("user", "first question"), ("assistant", "First answer."), ("user", "second question")]
        wait_for(lambda: history(env, CHAT)[-1] == ("assistant", "A better second answer."), what="the history")
        assert history(env, CHAT) == [("user", "first question"), ("assistant", "First answer."),
                                      ("user", "second question"), ("assistant", "A better second answer.")]


def test_retry_replaces_a_longer_answer_and_deletes_its_extra_message(env: World) -> None:
    long = " ".join(f"word{i}" for i in range(600)) + "."
    env.model.script(Reply(long, chunk=400), Reply("Short now."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("tell me a lot", chat_id=CHAT))
        wait_for(lambda: len(finals(env, CHAT)) == 2 and env.telegram.messages(CHAT)[-1].regenerable,
                 what="the long answer in two messages")
        first, _ = env.telegram.messages(CHAT)
        bot.post(env.telegram.make_update("/retry", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT) == ["Short now."], what="the short answer in the first message")
        (only,) = env.telegram.messages(CHAT)
        assert only.message_id == first.message_id
        wait_for(lambda: env.telegram.messages(CHAT)[0].regenerable, what="its 🔄")
        assert history(env, CHAT) == [("user", "tell me a lot"), ("assistant", "Short now.")]
        assert len(env.model.chat_requests()) == 2


def test_in_groups_the_asker_or_an_admin_may_press(env: World) -> None:
    env.telegram.administrators[GROUP] = [ADMIN]
    env.model.script(Reply("One."), Reply("Two."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("@test_bot count", chat_id=GROUP, chat_type="supergroup", user_id=ASKER,
                                          entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: finals(env, GROUP) == ["One."] and env.telegram.messages(GROUP)[0].regenerable,
                 what="the answer")
        (answer,) = env.telegram.messages(GROUP)
        bot.post(press(env, GROUP, OTHER, answer.message_id))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 1, what="the refusal")
        assert env.telegram.calls_of("answerCallbackQuery")[0].params["show_alert"] is True
        bot.post(press(env, GROUP, ADMIN, answer.message_id))
        wait_for(lambda: finals(env, GROUP) == ["Two."], what="the admin's regenerated answer")
        assert env.telegram.messages(GROUP)[0].reply_to == answer.reply_to
        assert len(env.model.chat_requests()) == 2


def test_an_edit_of_the_newest_message_is_answered_again_and_an_older_one_gets_a_note_once(env: World) -> None:
    env.model.script(Reply("Four."), Reply("Paris."), Reply("Six."))
    with env.bot() as bot:
        older = env.telegram.make_update("what is 2+2?", chat_id=CHAT)
        bot.post(older)
        wait_for(lambda: finals(env, CHAT) == ["Four."], what="the first answer")
        newest = env.telegram.make_update("capital of Frnace?", chat_id=CHAT)
        bot.post(newest)
        wait_for(lambda: finals(env, CHAT) == ["Four.", "Paris."], what="the second answer")
        bot.post(edited(newest, "what is 3+3?"))
        wait_for(lambda: finals(env, CHAT) == ["Four.", "Six."], what="the answer to the edit, in place")
        wait_for(lambda: history(env, CHAT)[-2:] == [("user", "what is 3+3?"), ("assistant", "Six.")],
                 what="both turns replaced")
        assert len(history(env, CHAT)) == 4
        bot.post(edited(older, "what is 5+5?"))
        bot.post(edited(older, "what is 7+7?"))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 3, what="the note")
        time.sleep(0.5)  # the second edit of an older message: no second note
        assert "newest" in env.telegram.texts(CHAT)[-1] and len(env.telegram.messages(CHAT)) == 3
        assert len(env.model.chat_requests()) == 3


def test_an_edit_after_the_window_is_not_answered_again(env: World) -> None:
    with env.bot(EDIT_REANSWER_SECONDS="60") as bot:
        message = env.telegram.make_update("hello", chat_id=CHAT)
        bot.post(message)
        wait_for(lambda: finals(env, CHAT) == ["Echo: hello"], what="the answer")
        bot.post(edited(message, "hello there", after=120))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 2, what="the note")
        assert env.telegram.texts(CHAT)[0] == "Echo: hello" and len(env.model.chat_requests()) == 1


def test_a_replica_killed_mid_regeneration_leaves_one_complete_answer(env: World) -> None:
    gate = threading.Event()
    env.model.script(Reply("First answer."), Reply("Regenerated, but the replica dies here.", chunk=5, gate=gate))
    env.model.default = Reply("Regenerated again, whole.")
    settings = {"INGRESS_CLAIM_IDLE_SECONDS": "1"}
    with env.bot(**settings) as victim:
        victim.post(env.telegram.make_update("question", chat_id=CHAT))
        wait_for(lambda: finals(env, CHAT) == ["First answer."] and env.telegram.messages(CHAT)[0].regenerable,
                 what="the first answer")
        (answer,) = env.telegram.messages(CHAT)
        victim.post(press(env, CHAT, CHAT, answer.message_id))
        wait_for(lambda: env.telegram.messages(CHAT)[0].text == "Regen", what="the new answer begun in place")
        victim.stop(signal.SIGKILL)
    with env.bot(**settings):
        wait_for(lambda: finals(env, CHAT) == ["Regenerated again, whole."], what="the survivor's answer")
        wait_for(lambda: env.unacknowledged() == 0, what="the press handled")
    messages = env.telegram.messages(CHAT, include_deleted=True)
    assert [m.message_id for m in messages] == [answer.message_id]
    assert history(env, CHAT) == [("user", "question"), ("assistant", "Regenerated again, whole.")]
    assert len(env.model.chat_requests()) == 3
