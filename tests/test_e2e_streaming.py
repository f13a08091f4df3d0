"""End to end: streaming against a Bot API that enforces 4096, answers 429 and 'not modified'."""

from __future__ import annotations

from tests.e2e import World
from tests.fake_openai import Reply
from tests.fake_telegram import utf16_len
from tests.http_fake import wait_for

CHAT = 31


def finished(w: World, count: int = 1) -> bool:
    messages = w.telegram.messages(CHAT)
    return len(messages) >= count and all(m.final for m in messages)


def test_a_flood_wait_on_an_edit_is_honoured_and_the_answer_completes(env: World) -> None:
    env.model.script(Reply(" ".join(f"w{i}" for i in range(120)), chunk=8, delay=0.03))
    env.telegram.fail_next("editMessageText", code=429, retry_after=2)
    with env.bot() as bot:
        bot.post(env.telegram.make_update("go", chat_id=CHAT))
        wait_for(lambda: finished(env), timeout=30, what="the answer")
    edits = env.telegram.calls_of("editMessageText")
    refused_at = edits[0].at
    assert all(e.at >= refused_at + 2 - 0.05 for e in edits[1:])
    assert env.telegram.texts(CHAT) == [" ".join(f"w{i}" for i in range(120))]


def test_a_long_answer_continues_in_new_messages_under_4096_units(env: World) -> None:
    paragraph = "Emoji 😀 and 漢字 text that keeps going on for a while. " * 12
    answer = "\n\n".join([paragraph] * 14)
    env.model.script(Reply(answer, chunk=200, delay=0.01))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("write a lot", chat_id=CHAT))
        wait_for(lambda: finished(env, 2) and len(env.model.chat_requests()) == 1, timeout=40, what="messages")
        wait_for(lambda: "".join(env.telegram.texts(CHAT)).count("😀") == answer.count("😀"),
                 what="the whole answer")
    texts = env.telegram.texts(CHAT)
    assert len(texts) >= 3
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert " ".join(texts).split() == answer.split()


def test_formatting_arrives_as_entities_without_raw_markdown(env: World) -> None:
    env.model.script(Reply("## Plan\n\n**Step one**: run `make`.\n\n```python\nprint('hi')\n```", chunk=5))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("plan?", chat_id=CHAT))
        wait_for(lambda: finished(env), what="the answer")
    (message,) = env.telegram.messages(CHAT)
    assert "**" not in message.text and "##" not in message.text and "```" not in message.text
    kinds = {e["type"] for e in message.entities}
    assert {"bold", "code", "pre"} <= kinds
    assert next(e for e in message.entities if e["type"] == "pre")["language"] == "python"


def test_the_stop_button_cancels_the_stream_and_keeps_the_text(env: World) -> None:
    env.model.script(Reply("word " * 400, chunk=5, delay=0.05))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("talk forever", chat_id=CHAT))
        wait_for(lambda: env.telegram.messages(CHAT) and not env.telegram.messages(CHAT)[0].final,
                 what="the stop button")
        markup = env.telegram.messages(CHAT)[0].reply_markup
        assert markup is not None
        data = markup["inline_keyboard"][0][0]["callback_data"]
        bot.post(env.telegram.make_callback(data, chat_id=CHAT, user_id=999, message_id=1))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 1, what="refusal for a stranger")
        assert "Only the person who asked" in env.telegram.calls_of("answerCallbackQuery")[0].params["text"]
        bot.post(env.telegram.make_callback(data, chat_id=CHAT, user_id=CHAT, message_id=1))
        wait_for(lambda: finished(env), what="the stopped answer")
        wait_for(lambda: env.model.disconnects == 1, what="the model stream closed")
        (message,) = env.telegram.messages(CHAT)
        assert message.text.startswith("word") and message.text.endswith("⏹ stopped")
        assert message.text.count("word") < 400
        bot.post(env.telegram.make_update("and now?", chat_id=CHAT))
        wait_for(lambda: finished(env, 2), what="next answer")
    roles = [m["role"] for m in env.model.chat_requests()[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_draft_mode_streams_drafts_in_private_chats(env: World) -> None:
    env.model.script(Reply("drafted " * 30, chunk=8, delay=0.03))
    with env.bot(STREAM_MODE="draft") as bot:
        bot.post(env.telegram.make_update("draft it", chat_id=CHAT))
        wait_for(lambda: finished(env), what="the final message")
    assert len(env.telegram.calls_of("sendMessageDraft")) >= 2
    assert env.telegram.texts(CHAT) == [("drafted " * 30).strip()]
