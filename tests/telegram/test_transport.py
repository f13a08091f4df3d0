from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp.client_proto import ResponseHandler
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.transport import AiohttpRequest
from tests.fake_telegram import FakeTelegram
from tests.redis_server import free_port

TOKEN = "123456:TEST-token"


class RecordingLoop(asyncio.SelectorEventLoop):
    """An event loop that keeps every connection it opens, with the protocol (so the library) that drives it."""

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]] = []

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super().create_connection(*args, **kwargs)
        self.connections.append((transport, protocol))
        return transport, protocol

    def protocols(self) -> list[type[asyncio.BaseProtocol]]:
        return [type(protocol) for _, protocol in self.connections]

    def open_connections(self) -> list[asyncio.BaseTransport]:
        return [transport for transport, _ in self.connections if not transport.is_closing()]


def run_recorded(scenario: Callable[[RecordingLoop], Coroutine[Any, Any, None]]) -> None:
    """Run ``scenario`` on a RecordingLoop (its own loop, not pytest-asyncio's)."""
    with asyncio.Runner(loop_factory=RecordingLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, RecordingLoop)
        runner.run(scenario(loop))


def test_bot_api_calls_go_over_aiohttp_and_errors_stay_telegram_errors() -> None:
    async def scenario(loop: RecordingLoop) -> None:
        with FakeTelegram(token=TOKEN) as tg:
            async with Bot(TOKEN, base_url=f"{tg.url}/bot", request=AiohttpRequest()) as bot:
                sent = await bot.send_message(42, "hello")
                with pytest.raises(BadRequest):
                    await bot.edit_message_text("changed", 42, 999_999)
        assert tg.texts(42) == ["hello"]
        assert sent.text == "hello"
        assert loop.protocols() == [ResponseHandler]  # aiohttp's, one pooled connection for all three calls

    run_recorded(scenario)


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


def test_a_rebuilt_client_gets_a_fresh_connection_pool() -> None:
    async def scenario(loop: RecordingLoop) -> None:
        request = AiohttpRequest()
        with FakeTelegram(token=TOKEN) as tg:
            for lifetime in (1, 2):  # PTB shuts its requests down and builds them anew on the next initialize
                async with Bot(TOKEN, base_url=f"{tg.url}/bot", request=request) as bot:
                    await bot.send_message(42, "again")
                    assert loop.protocols() == [ResponseHandler] * lifetime
                    assert loop.open_connections() == [loop.connections[-1][0]]
                assert loop.open_connections() == []
        assert tg.texts(42) == ["again", "again"]

    run_recorded(scenario)
