"""One MCP server's session, kept by a task of its own: connected at start, reconnected in the background.

The SDK's transports are anyio task groups, which must be entered and left by the same task: ``run`` opens the
transport and the session, lists the tools, then waits (pinging now and then) until told to stop or until the
server goes away; calls from other tasks use the session meanwhile. A server that is down is tried again with a
growing pause, and logged once per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any, TextIO

import httpx
from anyio import BrokenResourceError, ClosedResourceError, EndOfStream
from mcp import ClientSession, McpError, types
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from bot.tools.mcp.config import McpServerConfig

logger = logging.getLogger(__name__)

CONNECT_SECONDS = 15.0  # a stdio server's first start imports its SDK
PING_SECONDS = 30.0
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0)  # at most 10 s: a server that comes up is used soon after
_STOP_SECONDS = 5.0

Streams = tuple[Any, Any]
_GONE = (OSError, httpx.TransportError, BrokenResourceError, ClosedResourceError, EndOfStream)


class McpUnavailable(Exception):
    """The server is not connected (down, or not up yet)."""


class McpConnection:
    """The session with one server; ``on_tools`` is told its tools when it comes up, and ``[]`` when it goes."""

    def __init__(self, config: McpServerConfig, on_tools: Callable[[list[types.Tool]], None], *,
                 connect_seconds: float = CONNECT_SECONDS, retry_seconds: tuple[float, ...] = RETRY_SECONDS,
                 stderr: TextIO | None = None) -> None:
        self.config = config
        self._stderr = stderr
        self._on_tools = on_tools
        self._connect_seconds = connect_seconds
        self._retry = retry_seconds
        self._session: ClientSession | None = None
        self._stopping = asyncio.Event()
        self._suspect = asyncio.Event()
        self.tried = asyncio.Event()  # the first attempt has ended, up or not (the start waits for it)
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        """Connect in the background, and keep connecting until ``close``."""
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.name}")

    async def close(self) -> None:
        """Leave the session and stop the server's process (stdio), in the task that opened them."""
        self._stopping.set()
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), _STOP_SECONDS)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def call(self, tool: str, arguments: dict[str, Any], seconds: float) -> types.CallToolResult:
        """Call one of the server's tools (its own name); McpUnavailable when the server is not connected."""
        session = self._session
        if session is None:
            raise McpUnavailable(self.name)
        try:
            return await session.call_tool(tool, arguments, read_timeout_seconds=timedelta(seconds=seconds))
        except McpError as exc:
            if exc.error.code in (types.CONNECTION_CLOSED, httpx.codes.REQUEST_TIMEOUT):
                self._suspect.set()  # a closed or silent server: the watcher pings it now
            if exc.error.code == types.CONNECTION_CLOSED:
                raise McpUnavailable(self.name) from exc
            raise
        except _GONE as exc:
            self._suspect.set()
            raise McpUnavailable(self.name) from exc
        except asyncio.CancelledError:  # the call's timeout: a hung server is found out by the ping
            self._suspect.set()
            raise

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._serve()
                failures = 0
            except Exception as exc:  # whatever the transport raised (often an ExceptionGroup of its tasks)
                self._lost(exc, failures)
                failures += 1
            finally:
                self._session = None
                self._on_tools([])
                self.tried.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._retry[min(failures, len(self._retry) - 1)])

    async def _serve(self) -> None:
        async with self._transport() as (read, write), ClientSession(read, write) as session:
            async with asyncio.timeout(self._connect_seconds):
                await session.initialize()
                tools = await _all_tools(session)
            self._suspect.clear()
            self._session = session
            self._on_tools(tools)
            self.tried.set()
            logger.info("MCP server %s: connected, %d tool(s)", self.name, len(tools))
            await self._watch(session)

    async def _watch(self, session: ClientSession) -> None:
        """Return when told to stop; raise when the server no longer answers a ping (sent now and then, and at
        once after a call failed as if the server were gone)."""
        while True:
            waiters = [asyncio.ensure_future(self._stopping.wait()), asyncio.ensure_future(self._suspect.wait())]
            try:
                await asyncio.wait(waiters, timeout=PING_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if self._stopping.is_set():
                return
            self._suspect.clear()
            async with asyncio.timeout(self._connect_seconds):
                await session.send_ping()

    def _transport(self) -> AbstractAsyncContextManager[Streams]:
        config = self.config
        if config.url is not None:
            return _http(config.url, dict(config.headers), self._connect_seconds)
        assert config.command is not None
        parameters = StdioServerParameters(command=config.command, args=list(config.args), env=dict(config.env))
        return _stdio(parameters, self._stderr)

    def _lost(self, exc: BaseException, failures: int) -> None:
        retry = self._retry[min(failures, len(self._retry) - 1)]
        if failures == 0:  # once per outage; the retries that follow are quiet
            logger.warning("MCP server %s is unavailable (%s); its tools are offered once it is up (retrying in "
                           "the background)", self.name, _reason(exc))
        else:
            logger.debug("MCP server %s still unavailable (%s); next try in %.0fs", self.name, _reason(exc), retry)


@contextlib.asynccontextmanager
async def _http(url: str, headers: dict[str, str], connect_seconds: float) -> AsyncIterator[Streams]:
    client = create_mcp_http_client(headers=headers, timeout=httpx.Timeout(connect_seconds, read=300))
    async with client, streamable_http_client(url, http_client=client) as (read, write, _):
        yield read, write


@contextlib.asynccontextmanager
async def _stdio(parameters: StdioServerParameters, stderr: TextIO | None) -> AsyncIterator[Streams]:
    """A stdio server's process; its error output goes to ``stderr`` (the bot's own, unless logs are JSON)."""
    with contextlib.ExitStack() as stack:
        errors = stderr or stack.enter_context(open(os.devnull, "w"))  # noqa: ASYNC230 - never blocks
        async with stdio_client(parameters, errlog=errors) as (read, write):
            yield read, write


async def _all_tools(session: ClientSession) -> list[types.Tool]:
    tools, cursor = [], None
    while True:
        page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools += page.tools
        cursor = page.nextCursor
        if not cursor:
            return tools


def _reason(exc: BaseException) -> str:
    """The first leaf of an exception group, by type (messages may carry URLs with credentials)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return type(exc).__name__

