from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.tools import Outcome, Toolbox, ToolCall, ToolContext
from bot.store.keys import Keys
from bot.store.reminders import RedisReminders
from bot.tools.reminders import reminder_tools

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PRIVATE = ToolContext(ChatKey(42), user_id=42, message_id=7)
GROUP, OTHER_MEMBER = ToolContext(ChatKey(-100, 3), 5, 70), ToolContext(ChatKey(-100, 3), 6, 71)


def toolbox(redis: Redis, limit: int = 20) -> tuple[Toolbox, RedisReminders]:
    book = RedisReminders(redis, Keys("t"), clock=NOW.timestamp)
    return Toolbox(reminder_tools(book, limit, now=lambda: NOW, language=lambda: "uk")), book


async def call(box: Toolbox, context: ToolContext, name: str, **arguments: str) -> tuple[str, Outcome]:
    result = await box.run(ToolCall("c1", name, json.dumps(arguments)), context, 5)
    return result.content, result.outcome


async def test_set_reminder_keeps_it_for_the_chat_replying_to_the_message_that_asked(redis: Redis) -> None:
    box, book = toolbox(redis)
    content, outcome = await call(box, PRIVATE, "set_reminder", when="in 20 minutes", text="Call Ann")
    assert outcome is Outcome.OK
    assert json.loads(content)["set"]["due"] == "2026-12-02T09:20:00+00:00"
    (kept,) = await book.pending(ChatKey(42))
    assert (kept.chat, kept.user_id, kept.message_id, kept.text, kept.language) == (ChatKey(42), 42, 7, "Call Ann",
                                                                                     "uk")
    assert kept.due == NOW + timedelta(minutes=20)
    assert box.progress(ToolCall("c1", "set_reminder", "{}")).kind == "reminder"


async def test_a_time_the_model_got_wrong_is_an_error_it_can_correct(redis: Redis) -> None:
    box, book = toolbox(redis)
    content, outcome = await call(box, PRIVATE, "set_reminder", when="2026-12-01T10:00:00Z", text="x")
    assert outcome is Outcome.ERROR and "in the past" in content
    content, outcome = await call(box, PRIVATE, "set_reminder", when="soonish", text="x")
    assert outcome is Outcome.ERROR and "ISO 8601" in content
    assert await book.pending(ChatKey(42)) == []


async def test_the_chat_limit_is_told_to_the_model(redis: Redis) -> None:
    box, _ = toolbox(redis, limit=1)
    assert (await call(box, PRIVATE, "set_reminder", when="PT1M", text="one"))[1] is Outcome.OK
    content, outcome = await call(box, PRIVATE, "set_reminder", when="PT2M", text="two")
    assert outcome is Outcome.ERROR and "1 pending reminders" in content


async def test_list_and_cancel_act_on_this_chats_reminders_only(redis: Redis) -> None:
    box, book = toolbox(redis)
    await call(box, PRIVATE, "set_reminder", when="PT2H", text="later")
    await call(box, PRIVATE, "set_reminder", when="PT1H", text="sooner")
    await call(box, GROUP, "set_reminder", when="PT1H", text="in the group")
    listed = json.loads((await call(box, PRIVATE, "list_reminders"))[0])["reminders"]
    assert [r["text"] for r in listed] == ["sooner", "later"]
    group_id = (await book.pending(ChatKey(-100, 3)))[0].id
    content, outcome = await call(box, PRIVATE, "cancel_reminder", id=group_id)  # another chat's id
    assert outcome is Outcome.ERROR and "no pending reminder" in content
    content, outcome = await call(box, PRIVATE, "cancel_reminder", id=listed[0]["id"])
    assert outcome is Outcome.OK and json.loads(content)["cancelled"]["text"] == "sooner"
    assert [r.text for r in await book.pending(ChatKey(42))] == ["later"]


async def test_in_a_group_the_model_cancels_only_the_askers_own_reminders(redis: Redis) -> None:
    box, book = toolbox(redis)
    await call(box, GROUP, "set_reminder", when="PT1H", text="mine")
    (mine,) = await book.pending(ChatKey(-100, 3))
    content, outcome = await call(box, OTHER_MEMBER, "cancel_reminder", id=mine.id)
    assert outcome is Outcome.ERROR and "someone else" in content
    assert (await call(box, GROUP, "cancel_reminder", id=mine.id))[1] is Outcome.OK
