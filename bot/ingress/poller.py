"""Long polling for local development: getUpdates feeds the same update stream the webhook does.

An update is confirmed to Telegram (the next offset) only once it is in the stream, so a process killed at
any moment loses nothing: Telegram delivers unconfirmed updates again, and the stream's seen-set drops the
ones it already has. A stop confirms what the stream already holds (one last, short getUpdates), so that the
next start, which may have lost the embedded store's stream and seen-set, is not given it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.errors import StoreUnavailable
from bot.ingress.shape import UpdateRejected
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.flood import retry_after_seconds

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25
BACKOFF_SECONDS = (1.0, 30.0)

Submit = Callable[[dict[str, Any]], Awaitable[bool]]
Sleep = Callable[[float], Awaitable[None]]


class UpdateSource(Protocol):
    """The part of telegram.Bot the poller uses."""

    async def get_updates(
        self, offset: int | None = None, limit: int | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - the Bot API's long-poll wait, not a deadline of ours
        allowed_updates: Sequence[str] | None = None,
    ) -> Sequence[Update]: ...


class Poller:
    """getUpdates in a loop until cancelled, each update submitted before its offset is confirmed."""

    def __init__(self, bot: UpdateSource, submit: Submit, sleep: Sleep = asyncio.sleep,
                 long_poll_seconds: int = LONG_POLL_SECONDS) -> None:
        self._bot = bot
        self._submit = submit
        self._sleep = sleep
        self._long_poll = long_poll_seconds
        self._offset: int | None = None
        self._confirmed: int | None = None
        self._delay = BACKOFF_SECONDS[0]

    async def run(self) -> None:
        """Poll until cancelled; transient failures wait and retry, a rejected token ends the run."""
        try:
            while True:
                await self._poll_safely()
        finally:
            await self._confirm()

    async def _poll_safely(self) -> None:
        try:
            await self._poll_once()
            self._delay = BACKOFF_SECONDS[0]
        except InvalidToken:
            raise
        except RetryAfter as exc:
            await self._sleep(retry_after_seconds(exc))
        except (TelegramError, StoreUnavailable) as exc:  # Conflict: another poller, for a while
            logger.warning("polling failed (%s); retrying in %.0fs", type(exc).__name__, self._delay)
            await self._sleep(self._delay)
            self._delay = min(self._delay * 2, BACKOFF_SECONDS[1])

    async def _poll_once(self) -> None:
        offset = self._offset
        updates = await self._bot.get_updates(offset=offset, timeout=self._long_poll,
                                              allowed_updates=ALLOWED_UPDATES)
        self._confirmed = offset
        for update in updates:
            await self._take(update)

    async def _take(self, update: Update) -> None:
        try:
            await self._submit(update.to_dict())
        except UpdateRejected:  # one that cannot be handled must not stop the updates behind it
            logger.warning("update could not be read; skipped", extra={"update_id": update.update_id})
        self._offset = update.update_id + 1

    async def _confirm(self) -> None:
        """Tell Telegram what is already in the stream, so the next start does not get it again."""
        if self._offset == self._confirmed:
            return
        with contextlib.suppress(TelegramError):
            await self._bot.get_updates(offset=self._offset, limit=1, timeout=0, allowed_updates=ALLOWED_UPDATES)
