"""End to end: budgets, the per-user message rate, moderation and /privacy."""

from __future__ import annotations

from tests.e2e import World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

CHAT = 88


def finals(w: World, chat: int = CHAT) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.final]


def test_a_spent_daily_budget_stops_model_calls_and_says_when_it_resets(env: World) -> None:
    env.model.script(Reply("x " * 200, completion_tokens=1000))  # ~1,070 of 1,400 spent: the next turn won't fit
    with env.bot(DAILY_TOKEN_BUDGET_PER_USER="1400", ADMIN_USER_IDS="7") as bot:
        bot.post(env.telegram.make_update("first", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 1, what="first answer")
        bot.post(env.telegram.make_update("second", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 2, what="budget notice")
        assert "token budget" in finals(env)[1] and "00:00 UTC" in finals(env)[1]
        assert len(env.model.chat_requests()) == 1
        bot.post(env.telegram.make_update("operator here", chat_id=7))
        wait_for(lambda: len(finals(env, 7)) == 1, what="operator answer")
        assert finals(env, 7) == ["Echo: operator here"]


def test_a_flood_of_messages_gets_one_slow_down_notice(env: World) -> None:
    with env.bot(USER_MESSAGES_PER_MINUTE="2") as bot:
        for i in range(5):
            bot.post(env.telegram.make_update(f"msg {i}", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) >= 3, what="two answers and a notice")
        wait_for(lambda: len(env.model.chat_requests()) == 2, what="two model calls")
        notices = [t for t in finals(env) if "slow down" in t]
    assert len(notices) == 1 and len(env.model.chat_requests()) == 2


def test_moderation_refuses_flagged_messages_without_storing_them(env: World) -> None:
    env.model.flag_words = {"forbidden"}
    with env.bot(MODERATION="true") as bot:
        bot.post(env.telegram.make_update("something forbidden", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 1, what="refusal")
        bot.post(env.telegram.make_update("something fine", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 2, what="answer")
    assert "can't help with that" in finals(env)[0]
    (request,) = env.model.chat_requests()
    assert [m["content"] for m in request["messages"][1:]] == ["something fine"]


def test_a_failing_moderation_endpoint_fails_open_unless_told_otherwise(env: World) -> None:
    env.model.moderation_status = 500
    with env.bot(MODERATION="true") as bot:
        bot.post(env.telegram.make_update("hello", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 1, what="answer")
    assert finals(env) == ["Echo: hello"]
    with env.bot(MODERATION="true", MODERATION_FAIL_CLOSED="true") as bot:
        bot.post(env.telegram.make_update("hello again", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 2, what="refusal")
    assert "can't check messages" in finals(env)[1]
    assert len(env.model.chat_requests()) == 1


def test_privacy_states_the_retention_in_force(env: World) -> None:
    with env.bot(HISTORY_TTL_SECONDS="172800", SETTINGS_TTL_SECONDS="86400") as bot:
        bot.post(env.telegram.make_update("/privacy", chat_id=CHAT))
        wait_for(lambda: len(finals(env)) == 1, what="privacy text")
    text = finals(env)[0]
    assert "2 days" in text and "1 day" in text and "/reset" in text
    assert "file ids" in text and "transcript" in text and "never store the files" in text  # of attachments
