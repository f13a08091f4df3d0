"""set_reminder, list_reminders and cancel_reminder: the model keeps reminders for the chat it answers in.

The chat, the asker and the message to reply to come from the turn (ToolContext), never from the arguments, so a
reminder cannot be sent to another chat. In a group, the model may cancel only the asker's own reminders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.reminders import Cancellation, Reminder, ReminderBook, WhenError, parse_when
from bot.domain.tools import JSONObject, Progress, Tool, ToolContext, ToolError, ToolSpec

Clock = Callable[[], datetime]

SET = ToolSpec(
    name="set_reminder",
    description=(
        "Set a reminder in this chat: when it is due, the bot sends the text as a message replying to the user's "
        "message. `when` is an ISO 8601 time with its UTC offset (2026-12-02T09:30:00+01:00; without an offset it "
        "is UTC) or a delay (PT20M, \"in 20 minutes\", \"2h 30m\"); ask current_time first when you need today's "
        "date. `text` is what the user will read, e.g. \"Call Ann\"."),
    parameters={"type": "object", "required": ["when", "text"], "properties": {
        "when": {"type": "string", "description": "an ISO 8601 time, or a delay such as PT20M or in 20 minutes"},
        "text": {"type": "string", "description": "the reminder's text, as the user will read it"}}},
    title="reminders",
)
LIST = ToolSpec(
    name="list_reminders",
    description="The reminders pending in this chat, soonest first: id, due time (UTC) and text.",
    title="reminders",
)
CANCEL = ToolSpec(
    name="cancel_reminder",
    description="Cancel a pending reminder of this chat by its id (from set_reminder or list_reminders).",
    parameters={"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string", "description": "the reminder's id"}}},
    title="reminders",
)


def reminder_tools(book: ReminderBook, limit: int, now: Clock = lambda: datetime.now(UTC),
                   language: Callable[[], str | None] = lambda: None) -> list[Tool]:
    """The three tools over one reminder book, with REMINDERS_PER_CHAT as ``limit``; ``language`` tells the
    asker's language (the reminder is sent in it)."""
    return [SetReminder(book, limit, now, language), ListReminders(book), CancelReminder(book)]


class _ReminderTool:
    spec: ToolSpec

    def __init__(self, book: ReminderBook) -> None:
        self._book = book

    def progress(self, arguments: JSONObject) -> Progress:
        return Progress("reminder")


class SetReminder(_ReminderTool):
    """set_reminder(when, text)."""

    spec = SET

    def __init__(self, book: ReminderBook, limit: int, now: Clock, language: Callable[[], str | None]) -> None:
        super().__init__(book)
        self._limit = limit
        self._now = now
        self._language = language

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        when, text = _string(arguments, "when"), _string(arguments, "text")
        try:
            reminder = Reminder.new(context.chat, context.user_id, context.message_id, text,
                                    parse_when(when, self._now()), self._language())
        except WhenError as exc:
            raise ToolError(str(exc)) from None
        if not await self._book.add(reminder, self._limit):
            raise ToolError(f"this chat already has {self._limit} pending reminders, the most it may have; "
                            "cancel one first")
        return json.dumps({"set": _entry(reminder)}, ensure_ascii=False)


class ListReminders(_ReminderTool):
    """list_reminders()."""

    spec = LIST

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        pending = await self._book.pending(context.chat)
        return json.dumps({"reminders": [_entry(r) for r in pending]}, ensure_ascii=False)


class CancelReminder(_ReminderTool):
    """cancel_reminder(id)."""

    spec = CANCEL

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        wanted = _string(arguments, "id").strip()
        found = next((r for r in await self._book.pending(context.chat) if r.id == wanted), None)
        if found is None:
            raise ToolError(f"no pending reminder {wanted[:40]!r} in this chat")
        if context.chat.is_group and found.user_id != context.user_id:
            raise ToolError("that reminder was set by someone else; only they (or an admin, with /reminders) can "
                            "cancel it")
        outcome = await self._book.cancel(context.chat, found.id)
        if outcome is Cancellation.DELIVERING:
            raise ToolError("too late: that reminder is being sent right now")
        if outcome is Cancellation.UNKNOWN:
            raise ToolError(f"no pending reminder {wanted[:40]!r} in this chat")
        return json.dumps({"cancelled": _entry(found)}, ensure_ascii=False)


def _entry(reminder: Reminder) -> dict[str, str]:
    return {"id": reminder.id, "due": reminder.due.astimezone(UTC).isoformat(timespec="seconds"),
            "text": reminder.text}


def _string(arguments: JSONObject, name: str) -> str:
    value = arguments.get(name)
    if not isinstance(value, str):
        raise ToolError(f"`{name}` must be a string")
    return value
