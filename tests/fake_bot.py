"""A fake telegram.Bot for unit tests of the streaming sink: records calls, enforces Telegram's rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message, MessageEntity
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, utf16_len


@dataclass
class Sent:
    """A message as the user sees it."""

    message_id: int
    text: str
    entities: tuple[MessageEntity, ...]
    markup: InlineKeyboardMarkup | None
    thread_id: int | None = None
    reply_to: int | None = None
    edits: list[float] = field(default_factory=list)


@dataclass
class Call:
    method: str
    at: float
    chat_id: int
    text: str | None = None


class FakeBot:
    """send_message, edit_message_text, send_chat_action, send_message_draft — like the Bot API answers them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.calls: list[Call] = []
        self.messages: list[Sent] = []
        self.drafts: list[str] = []
        self.failures: list[tuple[str, TelegramError]] = []
        self.reject_entities = False
        self.deleted: list[int] = []
        self.blocked = False  # the user blocked the bot: every call is answered 403

    def fail_next(self, method: str, error: TelegramError) -> None:
        self.failures.append((method, error))

    def text_calls(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("send_message", "edit_message_text", "send_message_draft")]

    async def send_chat_action(self, chat_id: int, action: str, message_thread_id: int | None = None) -> bool:
        self._record("send_chat_action", chat_id)
        return True

    async def send_message(self, chat_id: int, text: str, *, entities: Sequence[MessageEntity] | None = None,
                           reply_markup: InlineKeyboardMarkup | None = None, message_thread_id: int | None = None,
                           reply_parameters: Any = None) -> Message:
        self._record("send_message", chat_id, text)
        self._check(text, entities)
        reply_to = reply_parameters.message_id if reply_parameters is not None else None
        sent = Sent(len(self.messages) + 1, text, tuple(entities or ()), reply_markup, message_thread_id, reply_to)
        self.messages.append(sent)
        return Message(sent.message_id, datetime.now(UTC), Chat(chat_id, Chat.PRIVATE), text=text)

    async def edit_message_text(self, text: str, chat_id: int, message_id: int, *,
                                entities: Sequence[MessageEntity] | None = None,
                                reply_markup: InlineKeyboardMarkup | None = None) -> bool:
        self._record("edit_message_text", chat_id, text)
        self._check(text, entities)
        sent = self.messages[message_id - 1]
        if (sent.text, sent.entities, sent.markup) == (text, tuple(entities or ()), reply_markup):
            raise BadRequest("Message is not modified: specified new message content and reply markup are "
                             "exactly the same as a current content and reply markup of the message")
        sent.text, sent.entities, sent.markup = text, tuple(entities or ()), reply_markup
        sent.edits.append(self._clock())
        return True

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        self._record("delete_message", chat_id)
        self.messages[message_id - 1].text = ""
        self.deleted.append(message_id)
        return True

    async def send_message_draft(self, chat_id: int, draft_id: int, text: str,
                                 entities: Sequence[MessageEntity] | None = None) -> bool:
        self._record("send_message_draft", chat_id, text)
        self._check(text, entities)
        self.drafts.append(text)
        return True

    def _record(self, method: str, chat_id: int, text: str | None = None) -> None:
        self.calls.append(Call(method, self._clock(), chat_id, text))
        if self.blocked:
            raise Forbidden("Forbidden: bot was blocked by the user")
        for index, (failing, error) in enumerate(self.failures):
            if failing == method:
                del self.failures[index]
                raise error

    def _check(self, text: str, entities: Sequence[MessageEntity] | None) -> None:
        if not text.strip():
            raise BadRequest("Message text is empty")
        if utf16_len(text) > TELEGRAM_TEXT_LIMIT:
            raise BadRequest("Message is too long")
        if entities and self.reject_entities:
            raise BadRequest("Can't parse entities: unsupported start tag")
        for entity in entities or ():
            if entity.offset + entity.length > utf16_len(text):
                raise BadRequest("Can't parse entities: entity beyond end of text")


def flood(seconds: int) -> RetryAfter:
    return RetryAfter(seconds)
