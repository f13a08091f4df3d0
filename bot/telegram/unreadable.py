"""What the bot cannot read yet — stickers, locations, contacts, polls, dice, videos, animations: a short, honest
note instead of silence or an answer that pretends. The model is not asked."""

from __future__ import annotations

from telegram import Update

from bot.domain.attachment import Kind
from bot.telegram import texts
from bot.telegram.context import BotContext
from bot.telegram.media import addressee, carried

UNREADABLE = frozenset(texts.CANNOT_READ)


async def unreadable(update: Update, context: BotContext) -> None:
    """Say what the bot cannot read (in groups, only to a message meant for it)."""
    message = update.effective_message
    found = carried(message, UNREADABLE) if message else None
    if message is None or found is None:
        return
    to = addressee(message, context.me)
    if to is not None:
        await message.reply_text(note_for(found.kind), do_quote=to.target.is_group)


def note_for(kind: Kind) -> str:
    """The note about one kind of thing the bot cannot read."""
    return texts.CANNOT_READ[kind]
