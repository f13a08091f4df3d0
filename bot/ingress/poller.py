"""Long polling for local development: getUpdates feeds the same update stream the webhook does.

An update is confirmed to Telegram (the next offset) only once it is in the stream, so a process killed at
any moment loses nothing: Telegram delivers unconfirmed updates again, and the stream's seen-set drops the
ones it already has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.errors import StoreUnavailable
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.flood import retry_after_seconds

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25
_BACKOFF = (1.0, 30.0)

Submit = Callable[[dict[str, Any]], Awaitable[bool]]


class Poller:
    """getUpdates in a loop until cancelled, each update submitted before its offset is confirmed."""

    def __init__(self, bot: Bot, submit: Submit, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 long_poll_seconds: int = LONG_POLL_SECONDS) -> None:
        self._bot = bot
        self._submit = submit
        self._sleep = sleep
        self._long_poll = long_poll_seconds
        self._offset: int | None = None
        self._delay = _BACKOFF[0]

    async def run(self) -> None:
        """Poll until cancelled; transient failures wait and retry, a rejected token ends the run."""
        while True:
            try:
                await self._poll_once()
                self._delay = _BACKOFF[0]
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await self._sleep(retry_after_seconds(exc))
            except (TelegramError, StoreUnavailable) as exc:  # Conflict: another poller, for a while
                logger.warning("polling failed (%s); retrying in %.0fs", type(exc).__name__, self._delay)
                await self._sleep(self._delay)
                self._delay = min(self._delay * 2, _BACKOFF[1])

    async def _poll_once(self) -> None:
        updates = await self._bot.get_updates(offset=self._offset, timeout=self._long_poll,
                                              allowed_updates=ALLOWED_UPDATES)
        for update in updates:
            await self._submit(update.to_dict())
            self._offset = update.update_id + 1
