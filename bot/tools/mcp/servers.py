"""The operator's MCP servers for the life of the process: each server's tools are in the Toolbox while it is up.

The service starts them (waiting a moment for each first attempt, so the first messages see their tools) and
closes them on shutdown; a server that is down is retried by its connection in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from bot.domain.tools import Toolbox
from bot.tools.mcp.config import McpServerConfig

if TYPE_CHECKING:
    from mcp import types

    from bot.tools.mcp.connection import McpConnection

logger = logging.getLogger(__name__)

START_WAIT_SECONDS = 15.0


class McpServers:
    """Connections to every server of MCP_SERVERS_FILE, offering their tools as ``<server>__<tool>``."""

    def __init__(self, configs: Sequence[McpServerConfig], toolbox: Toolbox, call_seconds: float, *,
                 start_wait_seconds: float = START_WAIT_SECONDS, server_stderr: TextIO | None = None) -> None:
        self._stderr = server_stderr  # where stdio servers' error output goes (None: discarded)
        self._toolbox = toolbox
        self._call_seconds = call_seconds
        self._start_wait = start_wait_seconds
        self._offered: dict[str, list[str]] = {}
        self._configs = tuple(configs)
        self._connections: list[McpConnection] = []

    async def start(self) -> None:
        """Connect to every server; wait up to START_WAIT_SECONDS for the first attempts (down is fine)."""
        if not self._configs:
            return
        from bot.tools.mcp.connection import McpConnection  # the SDK takes seconds to import: only when used

        for config in self._configs:
            connection = McpConnection(config, functools.partial(self._offer, config.name), stderr=self._stderr)
            self._connections.append(connection)
            connection.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.tried.wait() for c in self._connections)), self._start_wait)

    async def close(self) -> None:
        """Leave every session (stdio servers' processes end)."""
        await asyncio.gather(*(connection.close() for connection in self._connections))

    def _offer(self, server: str, tools: list[types.Tool]) -> None:
        """A server came up with ``tools`` (or went away: none); the Toolbox offers what its table allows."""
        from bot.tools.mcp.tool import McpTool

        connection = next(c for c in self._connections if c.name == server)
        for name in self._offered.pop(server, []):
            self._toolbox.remove(name)
        offered = []
        for tool in tools:
            if not connection.config.offers(tool.name):
                continue
            wrapped = McpTool(connection, tool, self._call_seconds)
            try:
                self._toolbox.add(wrapped)
            except ValueError:
                logger.warning("MCP server %s: a tool named %s is offered already; %s is left out",
                               connection.name, wrapped.spec.name, tool.name)
                continue
            offered.append(wrapped.spec.name)
        self._offered[connection.name] = offered
