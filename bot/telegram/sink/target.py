"""Where an answer goes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.chat import ChatKey


@dataclass(frozen=True)
class Target:
    """Where the answer goes: the chat, its forum topic, and the message it answers."""

    chat: ChatKey
    is_group: bool = False
    reply_to: int | None = None

    @property
    def chat_id(self) -> int:
        return self.chat.chat_id

    @property
    def thread_id(self) -> int | None:
        return self.chat.thread_id
