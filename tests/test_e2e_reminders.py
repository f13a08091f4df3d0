"""End to end: reminders delivered by the real process (two replicas, a restart, a replica that died holding one),
and /reminders with its Cancel buttons, also racing the delivery; a real redis-server."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.reminders import Reminder
from bot.store.reminders import Claim, RedisReminders
from tests.e2e import KEYS, World
from tests.fake_openai import Behaviour, Call, Reply, ToolCalls
from tests.http_fake import wait_for

T = TypeVar("T")


def in_store(w: World, work: Callable[[RedisReminders], Awaitable[T]]) -> T:
    """Run ``work`` on the bot's reminder store, as another process holding a client of the same Redis."""
    async def run() -> T:
        client = Redis.from_url(w.redis_url, decode_responses=True)
        try:
            return await work(RedisReminders(client, KEYS))
        finally:
            await client.aclose()
    return asyncio.run(run())


def asked(w: World, chat_id: int, text: str, seconds: float, **message: Any) -> Reminder:
    """A reminder due in ``seconds``, as set_reminder keeps it, for a message the user sent in ``chat_id``."""
    update = w.telegram.make_update(f"remind me: {text}", chat_id=chat_id, **message)
    chat = ChatKey(chat_id, message.get("message_thread_id"))
    due = datetime.now(UTC) + timedelta(seconds=seconds)
    return Reminder.new(chat, chat_id, update["message"]["message_id"], text, due)


def keep(w: World, *reminders: Reminder) -> None:
    async def add(book: RedisReminders) -> None:
        for reminder in reminders:
            assert await book.add(reminder, limit=20)
    in_store(w, add)


def pending(w: World) -> int:
    return int(w.store.zcard(KEYS.reminders_due))


def delivered(w: World, chat_id: int) -> list[str]:
    return [t for t in w.telegram.texts(chat_id) if t.startswith("⏰ Reminder:")]


def test_due_reminders_are_delivered_once_each_by_two_replicas(env: World) -> None:
    chats = list(range(3000, 3030))
    with env.bots(2) as replicas:
        reminders = [asked(env, chat, f"stretch {chat}", 1.0) for chat in chats]
        keep(env, *reminders)
        wait_for(lambda: all(delivered(env, c) for c in chats), timeout=30, what="every reminder")
        wait_for(lambda: pending(env) == 0, what="every reminder deleted once sent")
        time.sleep(1)  # a replica that would send one again would do it now
        sent = sum(_counter(r.http.get("/metrics").text, 'bot_reminders_total{outcome="sent"}') for r in replicas)
    assert sent == len(chats)
    for chat, reminder in zip(chats, reminders, strict=True):
        (message,) = [m for m in env.telegram.messages(chat) if m.text.startswith("⏰")]
        assert (message.text, message.reply_to) == (f"⏰ Reminder: stretch {chat}", reminder.message_id)


def test_a_reminder_due_while_the_bot_was_down_is_delivered_after_the_restart_in_its_topic(env: World) -> None:
    reminder = asked(env, -1009, "water the plants", 1.0, chat_type="supergroup", message_thread_id=5)
    with env.bot():
        keep(env, reminder)
    time.sleep(1.5)  # due while no replica runs
    assert env.telegram.messages(-1009) == []
    with env.bot():
        wait_for(lambda: delivered(env, -1009), what="the reminder after the restart")
        wait_for(lambda: pending(env) == 0, what="the reminder deleted")
    (message,) = env.telegram.messages(-1009)
    assert (message.text, message.thread_id, message.reply_to) == ("⏰ Reminder: water the plants", 5,
                                                                    reminder.message_id)


def test_a_reminder_claimed_by_a_replica_that_died_is_sent_by_another_once_the_lease_lapses(env: World) -> None:
    reminder = asked(env, 3100, "call Ann", 0.0)
    keep(env, reminder)

    async def claim_and_die(book: RedisReminders) -> list[Claim]:
        return await book.claim(lease_seconds=2, most=10)  # and never sends it

    assert [c.reminder.id for c in in_store(env, claim_and_die)] == [reminder.id]
    with env.bot() as bot:
        wait_for(lambda: delivered(env, 3100), what="the reminder, by the survivor")
        wait_for(lambda: pending(env) == 0, what="the reminder deleted")
        log = bot.log()
    assert delivered(env, 3100) == ["⏰ Reminder: call Ann"]
    assert "Traceback" not in log


def test_reminders_lists_the_chats_reminders_and_cancel_removes_one(env: World) -> None:
    later, sooner = asked(env, 3200, "later", 3600), asked(env, 3200, "sooner", 1800)
    keep(env, later, sooner)
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/reminders", chat_id=3200))
        listing = env.telegram.wait_for(lambda: _listing(env, 3200), what="the /reminders list")
        assert listing.text.startswith("Reminders in this chat:\n1. ")
        assert listing.text.splitlines()[1].endswith(" UTC — sooner")
        buttons = [b for row in (listing.reply_markup or {})["inline_keyboard"] for b in row]
        assert [b["text"] for b in buttons] == ["✖ Cancel 1", "✖ Cancel 2"]
        bot.post(env.telegram.make_callback(buttons[0]["callback_data"], chat_id=3200, user_id=3200,
                                            message_id=listing.message_id))
        wait_for(lambda: env.telegram.calls_of("answerCallbackQuery"), what="the press answered")
        wait_for(lambda: "sooner" not in env.telegram.messages(3200)[0].text, what="the list refreshed")
        bot.post(env.telegram.make_callback("reminder:not-ours!", chat_id=3200, user_id=3200,
                                            message_id=listing.message_id))
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == 2, what="the foreign press answered")
    first, foreign = env.telegram.calls_of("answerCallbackQuery")
    assert first.params["text"] == "Reminder cancelled."
    assert "text" not in foreign.params  # not our button: answered as before, silently
    assert [r.text for r in in_store(env, lambda book: book.pending(ChatKey(3200)))] == ["later"]


def test_in_a_group_only_the_one_who_set_a_reminder_or_an_administrator_may_cancel_it(env: World) -> None:
    group, setter, member, admin = -1003300, 71, 72, 73
    env.telegram.set_administrators(group, admin)
    reminder = asked(env, group, "stand-up", 3600, chat_type="supergroup", user_id=setter)
    keep(env, Reminder(reminder.id, reminder.chat, setter, reminder.message_id, reminder.text, reminder.due))
    with env.bot() as bot:
        bot.post(env.telegram.make_update("/reminders", chat_id=group, chat_type="supergroup", user_id=member))
        listing = env.telegram.wait_for(lambda: _listing(env, group), what="the /reminders list")
        button = (listing.reply_markup or {})["inline_keyboard"][0][0]["callback_data"]
        for count, presser in enumerate((member, admin), 1):
            bot.post(env.telegram.make_callback(button, chat_id=group, user_id=presser, message_id=listing.message_id))
            wait_for(functools.partial(_answered, env, count), what="the press answered")
    refused, cancelled = env.telegram.calls_of("answerCallbackQuery")
    assert (refused.params["text"], refused.params["show_alert"]) == (
        "Only the person who set this reminder, or an admin, can cancel it.", True)
    assert cancelled.params["text"] == "Reminder cancelled."
    assert pending(env) == 0


def test_a_cancel_racing_the_delivery_either_cancels_it_or_is_told_it_is_too_late(env: World) -> None:
    chats = list(range(3300, 3310))
    with env.bot() as bot:
        keep(env, *[asked(env, chat, f"race {chat}", 4.0) for chat in chats])
        for chat in chats:
            bot.post(env.telegram.make_update("/reminders", chat_id=chat))
        listings = {chat: env.telegram.wait_for(functools.partial(_listing, env, chat), what="the list")
                    for chat in chats}
        due = min(r.due for r in in_store(env, lambda book: _all(book, chats)))
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 0.3))
        presses = {}
        for index, chat in enumerate(chats):  # presses spread around the moment the reminders fall due
            time.sleep(0.06 if index else 0)
            button = (listings[chat].reply_markup or {})["inline_keyboard"][0][0]["callback_data"]
            press = env.telegram.make_callback(button, chat_id=chat, user_id=chat,
                                               message_id=listings[chat].message_id)
            presses[press["callback_query"]["id"]] = chat
            bot.post(press)
        wait_for(lambda: len(env.telegram.calls_of("answerCallbackQuery")) == len(chats), what="every press")
        wait_for(lambda: pending(env) == 0, what="every reminder sent or cancelled")
        time.sleep(1)  # a reminder wrongly sent after its cancel would show now
    answers = {presses[c.params["callback_query_id"]]: c.params["text"]
               for c in env.telegram.calls_of("answerCallbackQuery")}
    for chat in chats:
        if answers[chat] == "Reminder cancelled.":
            assert delivered(env, chat) == []
        else:
            assert answers[chat] in ("That reminder was already sent or cancelled.",
                                     "Too late — that reminder is being sent right now.")
            assert delivered(env, chat) == [f"⏰ Reminder: race {chat}"]


def _answered(w: World, count: int) -> bool:
    return len(w.telegram.calls_of("answerCallbackQuery")) == count


def _listing(w: World, chat: int) -> Any:
    return next((m for m in w.telegram.messages(chat) if m.text.startswith("Reminders in this chat")), None)


async def _all(book: RedisReminders, chats: list[int]) -> list[Reminder]:
    return [r for chat in chats for r in await book.pending(ChatKey(chat))]


def _counter(metrics: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name))


def reminding_model(body: dict[str, Any]) -> Behaviour:
    """A model that sets a reminder when asked ("remind me in 2 seconds to stretch"), then confirms it."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        return Reply("Reminder set: " + messages[-1]["content"])
    asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    when, _, what = asked.removeprefix("remind me ").partition(" to ")
    return ToolCalls((Call("set_reminder", {"when": when, "text": what}),))


def test_a_reminder_the_model_sets_is_sent_when_due_replying_to_the_message_that_asked(env: World) -> None:
    env.model.default = reminding_model
    with env.bot() as bot:
        ask = env.telegram.make_update("remind me in 2 seconds to stretch", chat_id=3400)
        bot.post(ask)
        wait_for(lambda: delivered(env, 3400), timeout=30, what="the reminder")
        wait_for(lambda: pending(env) == 0, what="the reminder deleted")
    confirmation, reminder = env.telegram.messages(3400)
    assert confirmation.text.startswith("Reminder set: {") and "stretch" in confirmation.text
    assert (reminder.text, reminder.reply_to) == ("⏰ Reminder: stretch", ask["message"]["message_id"])
