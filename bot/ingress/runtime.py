"""What one process runs: the parts the service starts, serves with and closes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram.request import BaseRequest

from bot.config import Settings
from bot.domain.summary import Summarizer
from bot.ingress.stream import UpdateStream
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.replies import Replies
from bot.telegram.context import BotApplication
from bot.telegram.courier import ReminderCourier
from bot.tools.mcp.servers import McpServers


class ModelClient(Protocol):
    """The model's client: loaded in the background once the process serves, its connections closed at the end."""

    def load(self) -> None: ...
    async def aclose(self) -> None: ...


class Closeable(Protocol):
    """A client whose connections are closed at the end (the file downloader…)."""

    async def aclose(self) -> None: ...


@dataclass
class Runtime:
    """Everything one process runs, as bot/wiring.py built it; service.py starts and stops it in order."""

    settings: Settings
    redis: Redis
    keys: Keys
    application: BotApplication
    summarizer: Summarizer
    metrics: Metrics
    stream: UpdateStream
    replies: Replies
    model: ModelClient
    requests: tuple[BaseRequest, ...]
    courier: ReminderCourier
    mcp: McpServers
    clients: tuple[Closeable, ...] = ()

    async def close(self) -> None:
        """Close every client's connections (each close may run more than once)."""
        await self.model.aclose()
        for client in self.clients:
            await client.aclose()
        for request in self.requests:
            await request.shutdown()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()
