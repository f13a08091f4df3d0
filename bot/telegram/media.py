"""Recordings and documents: the rules their handlers follow (built once in wiring), which attachment a message
brings (its own, or the one it replies to), and where it is answered (in groups, only when meant for the bot)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from telegram import Chat, Message

from bot.domain.attachment import Attachment, Kind
from bot.domain.chat import ChatKey
from bot.domain.speech import Listener
from bot.domain.tokens import TokenCounter
from bot.telegram.attachments import attachments_of
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


def carried(message: Message, kinds: Collection[Kind]) -> Attachment | None:
    """The first attachment of one of the kinds that the message carries, or else the message it replies to
    ("@bot what does this say?" in reply to someone's voice message or PDF)."""
    replied = message.reply_to_message
    for carrier in (message, replied) if replied is not None else (message,):
        found = [a for a in attachments_of(carrier) if a.kind in kinds]
        if found:
            return found[0]
    return None


def addressee(message: Message, me: BotIdentity) -> Addressee | None:
    """A private chat's message, or a group's that mentions or replies to the bot; None: stay silent. The caption
    is the message's own (its text, when it replies to the attachment)."""
    caption = message.caption or message.text or ""
    if message.chat.type == Chat.PRIVATE:
        return Addressee(Target(ChatKey.of(message)), None, caption)
    if not meant_for_bot(message, me):
        return None
    target = Target(ChatKey.of(message), is_group=True, reply_to=message.message_id)
    return Addressee(target, display_name(message.from_user), strip_mention(caption, me))
