from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.transport import AiohttpRequest
from tests.fake_telegram import FakeTelegram
from tests.redis_server import free_port

TOKEN = "123456:TEST-token"


async def test_bot_api_calls_go_over_aiohttp_and_errors_stay_telegram_errors() -> None:
    with FakeTelegram(token=TOKEN) as tg:
        async with Bot(TOKEN, base_url=f"{tg.url}/bot", request=AiohttpRequest()) as bot:
            sent = await bot.send_message(42, "hello")
            with pytest.raises(BadRequest):
                await bot.edit_message_text("changed", 42, 999_999)
    assert tg.texts(42) == ["hello"]
    assert sent.text == "hello"


async def test_a_refused_connection_is_a_network_error_not_a_timeout() -> None:
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{free_port()}/bot", request=request)
    try:
        with pytest.raises(NetworkError) as raised:
            await bot.get_me()
    finally:
        await request.shutdown()
    assert not isinstance(raised.value, TimedOut)
    assert "Cannot connect" in str(raised.value)


async def test_a_rebuilt_client_gets_a_fresh_connection_pool() -> None:
    request = AiohttpRequest()
    with FakeTelegram(token=TOKEN) as tg:
        for _ in range(2):  # PTB shuts its requests down and builds them anew on the next initialize
            async with Bot(TOKEN, base_url=f"{tg.url}/bot", request=request) as bot:
                await bot.send_message(42, "again")
    assert tg.texts(42) == ["again", "again"]
