"""Menus and profile texts per language, each set only when Telegram's differs."""

from __future__ import annotations

from typing import Any, cast

from telegram import Bot, BotCommand, BotCommandScope, BotDescription, BotShortDescription
from telegram.error import NetworkError

from bot.telegram import texts
from bot.telegram.i18n.language import SUPPORTED
from bot.telegram.menus import Profile, sync_commands, sync_operator_menus
from bot.telegram.transport import AiohttpRequest
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"


class _Profiles:
    """What Telegram keeps per scope and language_code, and the setters called."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str], list[BotCommand]] = {}
        self.descriptions: dict[str, str] = {}
        self.short: dict[str, str] = {}
        self.sets: list[tuple[str, str]] = []
        self.failing: str | None = None

    async def get_my_commands(self, scope: BotCommandScope, language_code: str | None) -> list[BotCommand]:
        assert language_code is None or len(language_code) == 2  # Telegram takes ISO 639-1 codes, or none
        if language_code is not None and language_code == self.failing:
            raise NetworkError("down")
        return self.commands.get((scope.type, language_code or ""), [])

    async def set_my_commands(self, commands: list[BotCommand], scope: BotCommandScope,
                              language_code: str | None) -> None:
        self.commands[(scope.type, language_code or "")] = commands
        self.sets.append(("commands", language_code or ""))

    async def get_my_description(self, language_code: str | None) -> BotDescription:
        return BotDescription(self.descriptions.get(language_code or "", ""))

    async def set_my_description(self, description: str, language_code: str | None) -> None:
        self.descriptions[language_code or ""] = description
        self.sets.append(("description", language_code or ""))

    async def get_my_short_description(self, language_code: str | None) -> BotShortDescription:
        return BotShortDescription(self.short.get(language_code or "", ""))

    async def set_my_short_description(self, short_description: str, language_code: str | None) -> None:
        self.short[language_code or ""] = short_description
        self.sets.append(("short", language_code or ""))


def _bot(profiles: _Profiles) -> Bot:
    return cast(Bot, profiles)


def _menu(profiles: _Profiles, scope: str, code: str) -> dict[str, str]:
    return {c.command: c.description for c in profiles.commands[(scope, code)]}


async def test_every_language_gets_its_menus_and_profile_once() -> None:
    profiles = _Profiles()
    await sync_commands(_bot(profiles), Profile())
    codes = ["", *(language.partition("-")[0] for language in SUPPORTED if language != "en")]
    assert sorted(profiles.sets) == sorted((kind, code) for code in codes
                                           for kind in ("commands", "commands", "description", "short"))
    assert _menu(profiles, "all_private_chats", "de")["reset"] == "Unser Gespräch vergessen"
    assert _menu(profiles, "all_group_chats", "")["reset"] == "Forget this chat's conversation (admins)"
    assert profiles.short["zh"].startswith("AI 助手")
    assert profiles.descriptions["ar"].startswith("مرحبًا")
    profiles.sets.clear()
    await sync_commands(_bot(profiles), Profile())
    assert profiles.sets == []


async def test_the_operator_s_descriptions_replace_the_english_ones_only() -> None:
    profiles = _Profiles()
    await sync_commands(_bot(profiles), Profile(description="Ask me about trains.", short_description="Trains."))
    assert (profiles.descriptions[""], profiles.short[""]) == ("Ask me about trains.", "Trains.")
    assert profiles.short["fr"].startswith("Un assistant IA")


async def test_the_default_language_serves_everyone_else_and_english_gets_its_own() -> None:
    profiles = _Profiles()
    await sync_commands(_bot(profiles), Profile(default_language="de", description="Ask me about trains."))
    assert _menu(profiles, "all_private_chats", "")["start"] == "Was ich kann"
    assert _menu(profiles, "all_private_chats", "en")["start"] == "What I can do"
    assert profiles.descriptions["en"] == "Ask me about trains."
    assert ("commands", "de") not in profiles.sets


async def test_one_language_failing_leaves_the_others_set(caplog: Any) -> None:
    profiles = _Profiles()
    profiles.failing = "ru"
    await sync_commands(_bot(profiles), Profile())
    assert ("commands", "uk") in profiles.sets and not any(code == "ru" for _, code in profiles.sets)
    assert "could not register the command menu or profile (language 'ru')" in caplog.text


async def test_each_operator_gets_the_operator_menu_once_and_no_one_else_does() -> None:
    calls: list[tuple[str, str]] = []
    with FakeTelegram(token=TOKEN) as tg:
        request = AiohttpRequest(observe=lambda method, outcome, seconds: calls.append((method, outcome)))
        async with Bot(TOKEN, base_url=f"{tg.url}/bot", request=request) as bot:
            await sync_operator_menus(bot, {7, 8})
            await sync_operator_menus(bot, {7, 8})  # a restart: nothing changed, nothing set
        menu = [c["command"] for c in tg.commands({"type": "chat", "chat_id": 7})]
        assert menu == [name for name, _ in (*texts.PRIVATE_MENU, *texts.OPERATOR_MENU)]
        assert [c["command"] for c in tg.commands({"type": "chat", "chat_id": 8})] == menu
        assert tg.commands({"type": "all_private_chats"}) == [] and tg.commands() == []
        german = {c["command"]: c["description"] for c in tg.commands({"type": "chat", "chat_id": 7}, "de")}
        assert german["reset"] == "Unser Gespräch vergessen" and list(german) == menu  # in each operator's language
        assert len(tg.calls_of("setMyCommands")) == 2 * 15
    assert ("setMyCommands", "ok") in calls and calls.count(("getMyCommands", "ok")) == 4 * 15  # observed per method


async def test_an_operator_without_a_chat_is_one_warning_not_one_per_language(caplog: Any) -> None:
    with FakeTelegram(token=TOKEN) as tg:
        tg.fail_next("getMyCommands", 400, description="Bad Request: chat not found")
        async with Bot(TOKEN, base_url=f"{tg.url}/bot") as bot:
            await sync_operator_menus(bot, {7})
    assert caplog.text.count("could not register an operator's command menu") == 1
