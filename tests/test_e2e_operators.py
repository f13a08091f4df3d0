"""End to end: the operators' commands (ADMIN_USER_IDS), /usage's budget and cost as billed, as people see them."""

from __future__ import annotations

import re

from tests.bot_process import TOKEN, BotProcess
from tests.e2e import World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

OPERATOR, ANN, BOB, CAROL = 7, 41, 42, 43
OPERATOR_SCOPE = {"type": "chat", "chat_id": OPERATOR}


def last_final(w: World, chat: int, count: int, timeout: float = 10) -> str:
    """The chat's ``count``-th final message (no Stop button), once there is one."""
    def finals() -> list[str]:
        return [m.text for m in w.telegram.messages(chat) if m.final]
    wait_for(lambda: len(finals()) >= count, timeout=timeout, what=f"message {count} in chat {chat}")
    return finals()[count - 1]


def ask(w: World, bot: BotProcess, text: str, chat: int, count: int, timeout: float = 10) -> str:
    """Send ``text`` to the bot in a private chat and return the chat's ``count``-th final message."""
    bot.post(w.telegram.make_update(text, chat_id=chat))
    return last_final(w, chat, count, timeout)


def test_usage_bills_cached_tokens_lower_and_stats_sum_up_the_bot_for_operators(env: World) -> None:
    env.model.script(Reply("Plain.", prompt_tokens=1_000_000, completion_tokens=10),
                     Reply("Cached.", prompt_tokens=1_000_000, completion_tokens=10, cached_tokens=800_000),
                     Reply("Small."))
    with env.bot(ADMIN_USER_IDS=str(OPERATOR), DAILY_TOKEN_BUDGET_PER_USER="5000000") as bot:
        assert ask(env, bot, "hi", ANN, 1, timeout=30) == "Plain."  # the first answer waits for the model's SDK
        assert ask(env, bot, "hi", BOB, 1) == "Cached."
        assert ask(env, bot, "hi", CAROL, 1) == "Small."
        plain, cached, small = (ask(env, bot, "/usage", chat, 2) for chat in (ANN, BOB, CAROL))
        assert "Today: 1,000,000 tokens in · 10 out · ≈ $0.15" in plain  # 1M at $0.15
        assert "Today: 1,000,000 tokens in · 10 out · ≈ $0.09" in cached  # 200k at $0.15 + 800k at $0.075
        assert re.search(r"Today: [\d,]+ tokens in · [\d,]+ out · < \$0\.01", small)
        assert "gpt-4o-mini: " in small and "$0.00" not in small  # each model's line too
        assert "Daily budget: 5,000,000 tokens · 3,999,990 left today" in plain
        stats = ask(env, bot, "/stats", OPERATOR, 1)
        commands = {c["command"] for c in env.telegram.commands(OPERATOR_SCOPE)}
        strangers = {c["command"] for c in env.telegram.commands({"type": "all_private_chats"})}
        assert "Budget" not in ask(env, bot, "/usage", OPERATOR, 2)  # operators are exempt: no budget line
    today = stats.split("\n\n")[0]
    assert today.startswith("Today (UTC): 3 users · 3 chats")
    assert "Turns: 3 — answered 3" in today and "Budget refusals: 0" in today
    assert re.search(r"• gpt-4o-mini: 2,000,\d{3} in \(800,000 cached\) · [\d,]+ out · ≈ \$0\.24", today)
    assert {"stats", "ban", "unban", "allow", "disallow"} <= commands and "start" in commands
    assert not strangers & {"stats", "ban", "allow"}


def test_bans_and_run_time_allowances_hold_on_every_replica_at_once(env: World) -> None:
    env.model.default = lambda body: Reply("Answer.")
    with env.bots(2, ADMIN_USER_IDS=str(OPERATOR), ALLOWED_USER_IDS=str(ANN)) as (first, second):
        assert ask(env, first, "/ban 41", OPERATOR, 1) == "User 41 is banned."
        second.post(env.telegram.make_update("hello", chat_id=ANN))
        assert "private" in last_final(env, ANN, 1)  # refused like a stranger
        assert ask(env, second, "/unban 41", OPERATOR, 2) == "User 41 is no longer banned."
        first.post(env.telegram.make_update("hello again", chat_id=ANN))
        assert last_final(env, ANN, 2, timeout=30) == "Answer."  # the first answer waits for the model's SDK
        second.post(env.telegram.make_update("me too", chat_id=BOB))
        assert "private" in last_final(env, BOB, 1)
        assert ask(env, first, "/allow 42", OPERATOR, 3) == "User 42 may use the bot now."
        assert ask(env, second, "me too", BOB, 2) == "Answer."
        assert ask(env, second, "/ban 7", OPERATOR, 4).startswith("User 7 is an operator")
        assert ask(env, first, "/ban x", OPERATOR, 5).startswith("Send /ban <user_id>")
        before = len(env.model.chat_requests())
        bob_stats = len(env.telegram.messages(BOB))
        second.post(env.telegram.make_update("/stats", chat_id=BOB))  # not an operator: no such command for Bob
        assert ask(env, first, "/disallow 42", OPERATOR, 6) == "User 42 is no longer allowed."
        first.post(env.telegram.make_update("still there?", chat_id=BOB))
        assert ask(env, second, "/stats", OPERATOR, 7).startswith("Today (UTC)")
        wait_for(lambda: env.unacknowledged() == 0, what="every update handled")
        assert len(env.model.chat_requests()) == before
        assert all("Today (UTC)" not in m.text for m in env.telegram.messages(BOB)[bob_stats:])


def test_added_to_a_group_in_privacy_mode_the_bot_says_once_how_to_reach_it(env: World) -> None:
    group = -100500
    bot_user = {"id": int(TOKEN.split(":")[0]), "is_bot": True, "first_name": "Test Bot", "username": "test_bot"}
    someone = {"id": 77, "is_bot": False, "first_name": "Zed"}
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=group, chat_type="supergroup", new_chat_members=[someone]))
        bot.post(env.telegram.make_update(None, chat_id=group, chat_type="supergroup", new_chat_members=[bot_user]))
        hint = last_final(env, group, 1)
        wait_for(lambda: env.unacknowledged() == 0, what="every update handled")
        log = bot.log()
    assert "mention me (@test_bot) or reply" in hint and "/setprivacy" in hint
    assert len(env.telegram.messages(group)) == 1  # another member joining is no reason to speak
    started = [line for line in log.splitlines() if "started @test_bot" in line]
    assert len(started) == 1 and "webhook mode" in started[0] and "model gpt-4o-mini" in started[0]
    assert "store redis://127.0.0.1:" in started[0] and "group privacy mode on" in started[0]
