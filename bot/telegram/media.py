"""Recordings and documents: the rules their handlers follow (built once in wiring), and where a message carrying
one is answered (in groups, only when it is meant for the bot)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, Message

from bot.domain.chat import ChatKey
from bot.domain.speech import Listener
from bot.domain.tokens import TokenCounter
from bot.telegram.sink import Target
from bot.telegram.triggers import BotIdentity, display_name, meant_for_bot, strip_mention


@dataclass(frozen=True)
class MediaRules:
    """TRANSCRIPTION (a listener, or None when off), VOICE_MAX_SECONDS, DOCUMENT_MAX_TOKENS and its counter."""

    listener: Listener | None
    voice_max_seconds: int
    counter: TokenCounter
    document_max_tokens: int


@dataclass(frozen=True)
class Addressee:
    """Where the answer to a recording or document goes, who asked (groups), and the caption meant for the bot."""

    target: Target
    speaker: str | None
    caption: str


def addressee(message: Message, me: BotIdentity) -> Addressee | None:
    """A private chat's message, or a group's that mentions or replies to the bot; None: stay silent."""
    caption = message.caption or ""
    if message.chat.type == Chat.PRIVATE:
        return Addressee(Target(ChatKey.of(message)), None, caption)
    if not meant_for_bot(message, me):
        return None
    target = Target(ChatKey.of(message), is_group=True, reply_to=message.message_id)
    return Addressee(target, display_name(message.from_user), strip_mention(caption, me))
