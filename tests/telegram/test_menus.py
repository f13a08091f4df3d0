"""Command menus: the operators' commands in each operator's own chat scope, set only when they changed."""

from __future__ import annotations

from telegram import Bot

from bot.telegram import texts
from bot.telegram.menus import sync_operator_menus
from bot.telegram.transport import AiohttpRequest
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"


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
        assert len(tg.calls_of("setMyCommands")) == 2
    assert ("setMyCommands", "ok") in calls and calls.count(("getMyCommands", "ok")) == 4  # observed per method
