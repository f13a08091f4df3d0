"""When a group message is meant for the bot, and what the model should read of it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Message, MessageEntity, User

QUOTE_LIMIT = 1500


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is, as group messages refer to it."""

    id: int
    username: str

    @property
    def mention(self) -> str:
        return "@" + self.username.lower()


@dataclass(frozen=True)
class Addressed:
    """A message meant for the bot: the text for the model, with the bot's mention removed, and the message
    it replies to when the bot was asked about someone else's message ("@bot what is this?" under a photo)."""

    text: str
    replied: Message | None = None


def addressed_to_bot(message: Message, me: BotIdentity) -> Addressed | None:
    """The message's text for the model if it mentions or replies to the bot; None means: stay silent.
    A photo or file replying to the bot is addressed to it without a caption too."""
    text = message.text or message.caption or ""
    mentioned = _mentions(message, me)
    replied = _replies_to_bot(message, me)
    if not (mentioned or replied) or not (text.strip() or message.photo or message.document):
        return None
    cleaned = strip_mention(text, me) if mentioned else text
    quoted = _quoted(message, me)
    if quoted and mentioned:
        cleaned = f"{quoted}\n\n{cleaned}"
    about = message.reply_to_message if mentioned and _replies_to_someone(message, me) else None
    return Addressed(cleaned.strip() or text.strip(), about)


def meant_for_bot(message: Message, me: BotIdentity) -> bool:
    """Whether a group message mentions the bot or replies to it (it may have no text: a voice message)."""
    return _mentions(message, me) or _replies_to_bot(message, me)


def strip_mention(text: str, me: BotIdentity) -> str:
    """The text without @botusername (any letter case), spaces tidied."""
    without = re.sub(re.escape(me.mention) + r"\b", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", without).strip()


def display_name(user: User | None) -> str:
    """A member's name as the model sees it in group history."""
    if user is None:
        return "Someone"
    return user.full_name or (f"@{user.username}" if user.username else f"user {user.id}")


def _mentions(message: Message, me: BotIdentity) -> bool:
    text, entities = (message.text, message.entities) if message.text else (message.caption, message.caption_entities)
    for entity in entities:
        if entity.type == MessageEntity.MENTION and _covered(text or "", entity).lower() == me.mention:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == me.id:
            return True
    return False


def _covered(text: str, entity: MessageEntity) -> str:
    """The text an entity covers. Offsets count UTF-16 units, so an entity may split a character (PTB's
    parse_entity then raises); the halves become U+FFFD and match no mention."""
    units = text.encode("utf-16-le", errors="surrogatepass")
    return units[entity.offset * 2:(entity.offset + entity.length) * 2].decode("utf-16-le", errors="replace")


def _replies_to_bot(message: Message, me: BotIdentity) -> bool:
    original = message.reply_to_message
    if original is None or original.forum_topic_created is not None:
        return False
    return original.from_user is not None and original.from_user.id == me.id


def _replies_to_someone(message: Message, me: BotIdentity) -> bool:
    """Replies to a message of someone other than the bot (a topic's opening message does not count)."""
    original = message.reply_to_message
    return (original is not None and original.forum_topic_created is None
            and not (original.from_user is not None and original.from_user.id == me.id))


def _quoted(message: Message, me: BotIdentity) -> str | None:
    original = message.reply_to_message
    if original is None or original.forum_topic_created is not None:
        return None
    if original.from_user is not None and original.from_user.id == me.id:
        return None
    quoted = (message.quote.text if message.quote else None) or original.text or original.caption
    if not quoted:
        return None
    if len(quoted) > QUOTE_LIMIT:
        quoted = quoted[:QUOTE_LIMIT] + "…"
    return f'(Replying to {display_name(original.from_user)}: "{quoted}")'
