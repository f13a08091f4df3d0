"""The command menus Telegram shows beside the message box, registered only when they changed."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

from bot.telegram import texts

logger = logging.getLogger(__name__)


async def sync_commands(bot: Bot) -> None:
    """Register the command menus for private chats and groups, skipping those already current."""
    for scope, menu in ((BotCommandScopeAllPrivateChats(), texts.PRIVATE_MENU),
                        (BotCommandScopeAllGroupChats(), texts.GROUP_MENU)):
        try:
            current = await bot.get_my_commands(scope=scope)
            if [(c.command, c.description) for c in current] != list(menu):
                await bot.set_my_commands([BotCommand(*entry) for entry in menu], scope=scope)
        except TelegramError as exc:  # a missing menu must not keep the bot from answering
            logger.warning("could not register the command menu: %s", exc)
