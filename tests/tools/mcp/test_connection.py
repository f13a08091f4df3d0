"""The MCP client against a real MCP server (tests/mcp_server.py, FastMCP) over stdio and Streamable HTTP."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from mcp import McpError, types

from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.connection import RETRY_SECONDS, McpConnection, McpUnavailable
from tests.mcp_server import ROOT, McpHttpServer
from tests.redis_server import free_port

STDIO = McpServerConfig("local", command=sys.executable, args=("-m", "tests.mcp_server"),
                        env=(("PYTHONPATH", str(ROOT)), ("MCP_TEST_ENV", "from the table")))


class Offered:
    """What the connection told its owner, latest last."""

    def __init__(self) -> None:
        self.lists: list[list[str]] = []

    def __call__(self, tools: list[types.Tool]) -> None:
        self.lists.append([tool.name for tool in tools])

    @property
    def now(self) -> list[str]:
        return self.lists[-1] if self.lists else []


@asynccontextmanager
async def connected(config: McpServerConfig, offered: Offered,
                    connect_seconds: float = 10) -> AsyncIterator[McpConnection]:
    connection = McpConnection(config, offered, retry_seconds=(0.1,), connect_seconds=connect_seconds)
    connection.start()
    try:
        yield connection
    finally:
        await connection.close()


async def eventually(check: Callable[[], bool | Awaitable[bool]]) -> None:
    for _ in range(2000):
        result = check()
        if await result if not isinstance(result, bool) else result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


def text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def test_a_stdio_server_is_started_with_its_env_its_tools_listed_and_called() -> None:
    offered = Offered()
    async with connected(STDIO, offered) as connection:
        await eventually(lambda: bool(offered.now))
        assert {"forecast", "add", "whoami"} <= set(offered.now)
        assert text(await connection.call("add", {"a": 2, "b": 40}, 5)) == "42"
        assert text(await connection.call("whoami", {}, 5)) == "from the table"
        failed = await connection.call("explode", {}, 5)
        assert failed.isError and "reactor" in text(failed)
    assert offered.now == []  # closed: nothing is offered any more


async def test_a_streamable_http_server_down_at_start_is_used_once_it_comes_up(
        caplog: pytest.LogCaptureFixture) -> None:
    port, offered = free_port(), Offered()
    config = McpServerConfig("remote", url=f"http://127.0.0.1:{port}/mcp", headers=(("X-Test", "yes"),))
    async with connected(config, offered) as connection:
        await asyncio.wait_for(connection.tried.wait(), 10)
        with pytest.raises(McpUnavailable):
            await connection.call("add", {"a": 1, "b": 1}, 5)
        await asyncio.sleep(0.5)  # several retries meanwhile
        with McpHttpServer(port):
            await eventually(lambda: "forecast" in offered.now)
            assert text(await connection.call("forecast", {"city": "Oslo"}, 5)) == "Sunny in Oslo, 21 °C"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert len(warnings) == 1 and "MCP server remote is unavailable" in warnings[0]


def test_a_server_down_for_long_is_still_tried_every_ten_seconds_so_its_tools_come_soon_after_it() -> None:
    assert RETRY_SECONDS[0] <= 1 and max(RETRY_SECONDS) <= 10


async def test_a_server_that_goes_away_has_its_tools_withdrawn_until_it_is_back() -> None:
    port, offered = free_port(), Offered()
    config = McpServerConfig("remote", url=f"http://127.0.0.1:{port}/mcp")
    with McpHttpServer(port) as server:
        async with connected(config, offered, connect_seconds=1) as connection:
            await eventually(lambda: bool(offered.now))
            tools = offered.now
            server.stop()
            with pytest.raises((McpError, McpUnavailable)):
                await connection.call("add", {"a": 1, "b": 1}, 1)
            await eventually(lambda: offered.now == [])  # the ping after the failed call found it gone
            server.start()
            await eventually(lambda: offered.now == tools)
            assert text(await connection.call("add", {"a": 1, "b": 1}, 5)) == "2"
