"""End to end: the real process, real HTTP to fake Telegram and OpenAI servers, a real redis-server."""

from __future__ import annotations

from redis import Redis

from tests.bot_process import API_KEY, TOKEN
from tests.e2e import World
from tests.fake_openai import Fail, Reply
from tests.http_fake import wait_for

CHAT = 42


def answered(w: World, chat: int, count: int = 1) -> bool:
    """The bot's last message in the chat is final (no Stop button) and there are ``count`` of them."""
    messages = w.telegram.messages(chat)
    return len(messages) >= count and messages[-1].final


def test_a_private_message_is_answered_by_a_streamed_edited_reply(env: World) -> None:
    answer = " ".join(f"word{i}" for i in range(60)) + "."
    env.model.script(Reply(answer, chunk=6, delay=0.04))
    with env.bot() as bot:
        assert bot.post(env.telegram.make_update("Tell me something", chat_id=CHAT)).status_code == 200
        wait_for(lambda: answered(env, CHAT), what="the answer")
        (message,) = env.telegram.messages(CHAT)
        assert message.text == answer
        assert len(message.changes) >= 3  # sent, edited while streaming, final edit
        gaps = [b - a for a, b in zip(message.changes, message.changes[1:], strict=False)]
        assert min(gaps) >= 0.3 - 0.02
        assert env.telegram.calls_of("sendChatAction")[0].params["action"] == "typing"
        log = bot.log()
    assert TOKEN not in log and API_KEY not in log and "Tell me something" not in log


def test_history_is_carried_into_the_next_request_and_reset_empties_it(env: World) -> None:
    env.model.script(Reply("Nice to meet you, Ann."), Reply("Your name is Ann."), Reply("Done."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("My name is Ann", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 1), what="first answer")
        bot.post(env.telegram.make_update("What is my name?", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="second answer")
        second = env.model.chat_requests()[1]["messages"]
        assert second[0]["role"] == "system"
        assert [(m["role"], m["content"]) for m in second[1:]] == [
            ("user", "My name is Ann"), ("assistant", "Nice to meet you, Ann."), ("user", "What is my name?")]
        bot.post(env.telegram.make_update("/reset", chat_id=CHAT))
        wait_for(lambda: any("forgotten" in t for t in env.telegram.texts(CHAT)), what="reset confirmation")
        bot.post(env.telegram.make_update("Hello again", chat_id=CHAT))
        wait_for(lambda: len(env.model.chat_requests()) == 3, what="third request")
        third = env.model.chat_requests()[2]["messages"]
        assert [m["role"] for m in third] == ["system", "user"]


def test_forged_and_malformed_webhook_calls_are_rejected_while_the_bot_keeps_serving(env: World) -> None:
    with env.bot() as bot:
        update = env.telegram.make_update("hi", chat_id=CHAT)
        assert bot.post(update, secret=None).status_code == 403
        assert bot.post(update, secret="forged").status_code == 403
        assert bot.post(b"{not json").status_code == 400
        assert bot.post(b"[1,2,3]").status_code == 400
        assert bot.post(b"x" * (1024 * 1024 + 10)).status_code == 413
        assert env.model.chat_requests() == []
        assert bot.post(update).status_code == 200
        wait_for(lambda: answered(env, CHAT), what="the answer to the genuine update")
        assert env.telegram.texts(CHAT) == ["Echo: hi"]


def test_a_failing_model_gets_a_friendly_message_and_history_stays_well_formed(env: World) -> None:
    env.model.script(*[Fail(500, "upstream exploded")] * 3, Reply("Back again."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("first", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), timeout=30, what="the apology")
        (apology,) = env.telegram.texts(CHAT)
        assert apology.startswith("Sorry") and "500" not in apology and "exploded" not in apology
        bot.post(env.telegram.make_update("second", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="the answer after recovery")
        last = env.model.chat_requests()[-1]["messages"]
        assert [(m["role"], m["content"]) for m in last[1:]] == [("user", "second")]
        assert "Traceback" not in bot.log()


def test_a_429_from_the_model_is_retried_and_answered(env: World) -> None:
    env.model.script(Fail(429, "slow down", retry_after=0.2), Reply("Made it."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("hi", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), what="the answer")
        assert env.telegram.texts(CHAT) == ["Made it."]


def test_the_same_update_delivered_twice_is_answered_once(env: World) -> None:
    with env.bot() as bot:
        update = env.telegram.make_update("once", chat_id=CHAT)
        assert bot.post(update).status_code == 200
        assert bot.post(update).status_code == 200
        wait_for(lambda: answered(env, CHAT), what="the answer")
        assert len(env.model.chat_requests()) == 1
        assert len(env.telegram.messages(CHAT)) == 1


def test_start_and_help_explain_the_bot(env: World) -> None:
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/start", chat_id=CHAT))
        bot.post(env.telegram.make_update("/help", chat_id=CHAT))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 2, what="both replies")
        start, help_text = env.telegram.texts(CHAT)
        assert "/help" in start and "/reset" in help_text and "/persona" in help_text
        assert "voice messages" in help_text and "PDFs" in help_text and "stickers" in help_text
        assert env.model.chat_requests() == []
        assert env.telegram.webhook["url"].endswith("/telegram/webhook")
        assert env.telegram.webhook["secret_token"] == bot.secret


def test_history_survives_a_restart(env: World) -> None:
    env.model.script(Reply("Noted: blue."), Reply("Blue."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("My colour is blue", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT), what="first answer")
    with env.bot() as bot:
        bot.post(env.telegram.make_update("What is my colour?", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="answer after restart")
    contents = [m["content"] for m in env.model.chat_requests()[-1]["messages"]]
    assert "My colour is blue" in contents and "Noted: blue." in contents


def test_healthz_follows_redis(env: World) -> None:
    from tests.redis_server import running_redis

    with running_redis() as own_redis, env.bot(REDIS_URL=own_redis) as bot:
        assert bot.http.get("/healthz").status_code == 200
        own = Redis.from_url(own_redis)
        own.shutdown(nosave=True)
        wait_for(lambda: bot.http.get("/healthz").status_code == 503, what="503 without redis")
