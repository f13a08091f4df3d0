"""A tap on a settings keyboard (/persona, /model): the chat's settings rule, then the confirmation in the menu."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.error import BadRequest

from bot.domain.chat import ChatKey
from bot.telegram.context import BotContext, Services, may_change_settings

logger = logging.getLogger(__name__)

Apply = Callable[[str, ChatKey, Services], Awaitable[str]]


async def tap(update: Update, context: BotContext, prefix: str, apply: Apply) -> None:
    """Apply the tapped choice (the callback data after ``prefix``) to the menu's chat and show the confirmation in
    place of the menu, or in a message of its own when the menu can no longer be edited."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not isinstance(query.message, Message) or not query.message.is_accessible:  # deleted or too old
        await query.answer()
        return
    if not await may_change_settings(update, context):
        return
    confirmation = await apply(query.data.removeprefix(prefix), ChatKey.of(query.message), context.services)
    await query.answer()
    try:
        await query.edit_message_text(confirmation)
    except BadRequest as exc:
        logger.info("settings menu not edited (%s); confirming in a new message", exc.message)
        await query.message.reply_text(confirmation)
