"""Which conversation a message belongs to: a chat, or one forum topic of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class _MessageLike(Protocol):
    """What a Telegram message says about its conversation (PTB's Message has these)."""

    @property
    def chat_id(self) -> int: ...
    @property
    def message_thread_id(self) -> int | None: ...
    @property
    def is_topic_message(self) -> bool | None: ...


@dataclass(frozen=True, order=True)
class ChatKey:
    """A chat id and, in a forum, the topic's thread id; ``str()`` is its form in Redis keys."""

    chat_id: int
    thread_id: int | None = None

    def __str__(self) -> str:
        return f"{self.chat_id}:{self.thread_id}" if self.thread_id else str(self.chat_id)

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels have negative ids."""
        return self.chat_id < 0

    @classmethod
    def of(cls, message: _MessageLike) -> ChatKey:
        """The conversation of a message (a topic only when the message is in one)."""
        return cls(message.chat_id, message.message_thread_id if message.is_topic_message else None)

    @classmethod
    def of_update(cls, data: Mapping[str, Any]) -> ChatKey | None:
        """The conversation of a raw update's new or edited message; None for other updates (button presses…)."""
        message = data.get("message") or data.get("edited_message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return None
        thread = message.get("message_thread_id") if message.get("is_topic_message") else None
        return cls(int(message["chat"]["id"]), int(thread) if thread else None)
