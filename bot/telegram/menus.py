"""The command menus Telegram shows beside the message box, registered only when they changed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
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


async def sync_operator_menus(bot: Bot, operators: Iterable[int]) -> None:
    """Each operator's private chat gets the private menu and the operators' commands (a ``chat`` scope, so no one
    else sees them), skipping those already current. An operator who never started the bot has no chat yet: a
    warning, and the menu is set at the next start."""
    menu = (*texts.PRIVATE_MENU, *texts.OPERATOR_MENU)
    for operator in sorted(operators):
        await _sync(bot, BotCommandScopeChat(operator), menu)


async def _sync(bot: Bot, scope: BotCommandScope, menu: tuple[tuple[str, str], ...]) -> None:
    try:
        current = await bot.get_my_commands(scope=scope)
        if [(c.command, c.description) for c in current] != list(menu):
            await bot.set_my_commands([BotCommand(*entry) for entry in menu], scope=scope)
    except TelegramError as exc:
        logger.warning("could not register an operator's command menu: %s", exc)
