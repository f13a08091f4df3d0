"""What Telegram shows of the bot outside a chat, in every language: the command menus beside the message box and
the profile ("What can this bot do?" and the short description). Each is read back first and set only when it
changed, so a restart (or ten replicas starting) sets nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

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
from bot.telegram.i18n.language import ENGLISH, SUPPORTED, speaking

logger = logging.getLogger(__name__)

Menu = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Profile:
    """The default language (for users whose language has no entries) and the operator's English overrides."""

    default_language: str = ENGLISH
    description: str | None = None
    short_description: str | None = None


@dataclass(frozen=True)
class _Entries:
    """One language's menus and profile texts, and the ``language_code`` Telegram keeps them under (None: for
    everyone whose language has none of its own)."""

    code: str | None
    menus: tuple[tuple[BotCommandScope, Menu], ...]
    description: str
    short_description: str


async def sync_commands(bot: Bot, profile: Profile | None = None) -> None:
    """Register the menus and profile texts of every language (concurrently), skipping those already current."""
    profile = profile or Profile()
    await asyncio.gather(*(_sync(bot, entries) for entries in _entries(profile)))


def _entries(profile: Profile) -> list[_Entries]:
    return [_in(language, code, profile) for language, code in _codes(profile.default_language)]


def _codes(default_language: str) -> list[tuple[str, str | None]]:
    """The default language under no language_code (everyone else), then each other language under its own."""
    return [(default_language, None), *((language, _code(language)) for language in SUPPORTED
                                        if language != default_language)]


def _code(language: str) -> str:
    """Telegram keeps these under a two-letter ISO 639-1 code (``zh-hans`` → ``zh``)."""
    return language.partition("-")[0]


def _in(language: str, code: str | None, profile: Profile) -> _Entries:
    with speaking(language):
        menus = ((BotCommandScopeAllPrivateChats(), texts.PRIVATE_MENU),
                 (BotCommandScopeAllGroupChats(), texts.GROUP_MENU))
        description, short = texts.DESCRIPTION, texts.SHORT_DESCRIPTION
    if language == ENGLISH:
        description, short = profile.description or description, profile.short_description or short
    return _Entries(code, menus, description, short)


async def _sync(bot: Bot, entries: _Entries) -> None:
    try:  # a missing menu must not keep the bot from answering
        for scope, menu in entries.menus:
            await _sync_menu(bot, scope, menu, entries.code)
        if (await bot.get_my_description(language_code=entries.code)).description != entries.description:
            await bot.set_my_description(entries.description, language_code=entries.code)
        current = await bot.get_my_short_description(language_code=entries.code)
        if current.short_description != entries.short_description:
            await bot.set_my_short_description(entries.short_description, language_code=entries.code)
    except TelegramError as exc:
        logger.warning("could not register the command menu or profile (language %r): %s", entries.code or "default",
                       exc)


async def _sync_menu(bot: Bot, scope: BotCommandScope, menu: Menu, code: str | None) -> None:
    current = await bot.get_my_commands(scope=scope, language_code=code)
    if [(c.command, c.description) for c in current] != list(menu):
        await bot.set_my_commands([BotCommand(*entry) for entry in menu], scope=scope, language_code=code)


async def sync_operator_menus(bot: Bot, operators: Iterable[int], language: str = ENGLISH) -> None:
    """Each operator's private chat gets the private menu and the operators' commands in every language, the
    default one under no language_code (a ``chat`` scope, so no one else sees them; it wins over the per-language
    menus there), skipping those already current. An operator who never started the bot has no chat yet: one
    warning, and it is set at the next start."""
    menus = [(code, _operator_menu(each)) for each, code in _codes(language)]
    await asyncio.gather(*(_sync_operator(bot, operator, menus) for operator in sorted(operators)))


def _operator_menu(language: str) -> Menu:
    with speaking(language):
        return (*texts.PRIVATE_MENU, *texts.OPERATOR_MENU)


async def _sync_operator(bot: Bot, operator: int, menus: list[tuple[str | None, Menu]]) -> None:
    try:
        for code, menu in menus:
            await _sync_menu(bot, BotCommandScopeChat(operator), menu, code)
    except TelegramError as exc:
        logger.warning("could not register an operator's command menu: %s", exc)
