"""End to end: daily token budgets hold when many turns run at once."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.personas import PersonaCatalog
from bot.domain.tokens import TokenCounter
from tests.e2e import World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

USER = 7
GROUPS = [-1001 - i for i in range(10)]
BUDGET = 2000
NOTICE = "token budget"


def mention(w: World, text: str, chat_id: int, user_id: int = USER, topic: int | None = None) -> dict[str, Any]:
    where: dict[str, Any] = {"message_thread_id": topic, "is_topic_message": True} if topic else {}
    return w.telegram.make_update(f"@test_bot {text}", chat_id=chat_id, chat_type="supergroup", user_id=user_id,
                                  entities=[{"type": "mention", "offset": 0, "length": 9}], **where)


def finals(w: World, chat_id: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat_id) if m.final]


def tokens_today(w: World, bot: Any) -> int:
    """The user's tokens today, in and out, as /usage shows them."""
    before = len(finals(w, USER))
    bot.post(w.telegram.make_update("/usage", chat_id=USER))
    wait_for(lambda: len(finals(w, USER)) > before, what="/usage")
    today = re.search(r"Today: ([\d,]+) tokens in · ([\d,]+) out", finals(w, USER)[-1])
    assert today is not None
    return sum(int(n.replace(",", "")) for n in today.groups())


def test_ten_turns_at_once_spend_the_budget_and_no_more_than_their_own_excess(env: World) -> None:
    """Each reply uses MAX_REPLY_TOKENS, and the model counts 300 prompt tokens where the bot counts ~60."""
    max_reply, prompt, reply = 400, 300, 400
    actual = prompt + reply
    counter = TokenCounter("gpt-4o-mini")
    system = counter.count(PersonaCatalog.load().default.prompt)
    # What the bot reserves for a chat's first turn: the whole prompt and the longest reply allowed.
    estimates = [system + counter.count(f"question {i}") + max_reply for i in range(10)]
    env.model.default = lambda body: Reply("word " * 40, delay=0.04, prompt_tokens=prompt, completion_tokens=reply)
    with env.bot(DAILY_TOKEN_BUDGET_PER_USER=str(BUDGET), MAX_REPLY_TOKENS=str(max_reply),
                 USER_MESSAGES_PER_MINUTE="0") as bot:
        for i, group in enumerate(GROUPS):
            bot.post(mention(env, f"question {i}", group))
        wait_for(lambda: all(finals(env, g) for g in GROUPS), what="an answer or a notice in each group")
        answered = [i for i, g in enumerate(GROUPS) if NOTICE not in finals(env, g)[0]]
        spent = tokens_today(env, bot)
    assert spent == len(answered) * actual
    assert sum(estimates[i] for i in answered) <= BUDGET  # no turn started without room for its estimate
    excess = sum(actual - estimates[i] for i in answered)  # what the running turns used beyond their estimates
    assert BUDGET < spent <= BUDGET + excess  # 4 turns, 2,800 of 2,000 (the old reservation let 5 go: 3,500)
    assert len(env.model.chat_requests()) == len(answered) >= 1


def test_ten_turns_at_once_with_room_in_the_budget_are_all_answered(env: World) -> None:
    """One user in 10 groups that have answered before (so their replies are known to be short)."""
    with env.bot(USER_MESSAGES_PER_MINUTE="0") as bot:
        for group in GROUPS:
            bot.post(mention(env, "hello", group))
        wait_for(lambda: all(finals(env, g) for g in GROUPS), what="a first answer in each group")
    budgets = {"DAILY_TOKEN_BUDGET_PER_USER": str(BUDGET), "DAILY_TOKEN_BUDGET_PER_CHAT": str(BUDGET)}
    with env.bot(**budgets, USER_MESSAGES_PER_MINUTE="0") as bot:
        for group in GROUPS:
            bot.post(mention(env, "and again", group))
        wait_for(lambda: all(len(finals(env, g)) == 2 for g in GROUPS), what="a second in each")
        notices = [t for g in GROUPS for t in finals(env, g) if NOTICE in t]
        spent = tokens_today(env, bot)
    assert notices == []  # the old reservation (history + MAX_REPLY_TOKENS each) refused 8 of the 10
    assert len(env.model.chat_requests()) == 20 and spent < BUDGET
