"""The `typing…` indicator: shown while nothing of the answer is visible yet, on a task it owns."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.lifetime import stop
from bot.telegram.sink.schedule import Schedule
from bot.telegram.sink.target import Target

TYPING_EVERY = 4.0  # Telegram shows the action for about five seconds


class Typing:
    """Sends the typing action now and every few seconds (never inside a flood wait) until stopped."""

    def __init__(self, bot: Bot, target: Target, schedule: Schedule) -> None:
        self._bot = bot
        self._target = target
        self._schedule = schedule
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Show `typing…` from now on."""
        self._task = asyncio.create_task(self._keep_typing())

    def stop(self) -> None:
        """The first words are visible: no more typing actions."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def close(self) -> None:
        """Stop, and wait until the task has ended (a call under way is abandoned)."""
        task, self._task = self._task, None
        await stop(task)

    async def _keep_typing(self) -> None:
        while True:
            if not self._schedule.blocked():
                with contextlib.suppress(TelegramError):
                    await self._bot.send_chat_action(self._target.chat_id, ChatAction.TYPING,
                                                     message_thread_id=self._target.thread_id)
            await self._schedule.sleep(TYPING_EVERY)
