"""An album's messages, gathered across replicas (store/albums.py), as the one message turn they make."""

from __future__ import annotations

import json

from telegram import Bot, Message, Update

from bot.domain.chat import ChatKey
from bot.store.albums import Albums


async def album_messages(albums: Albums | None, bot: Bot, update_id: int, message: Message) -> list[Message] | None:
    """The messages this update answers: itself, or all parts of its album; None when another part's update
    answers the album."""
    if message.media_group_id is None or albums is None:
        return [message]
    raw = await albums.gather(ChatKey.of(message), message.media_group_id, update_id)
    if raw is None:
        return None
    parts = [Update.de_json(json.loads(part), bot).effective_message for part in raw]
    return [part for part in parts if part is not None] or [message]


def caption_text(messages: list[Message]) -> str:
    """The texts and captions of an album's messages, one per line."""
    return "\n".join(text for m in messages if (text := m.text or m.caption))
