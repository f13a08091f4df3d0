"""Delivers due reminders: claims them from the store (one replica gets each), sends each as a message in its chat
or topic replying to the message that asked, and deletes it once Telegram accepted it.

A send that fails for a while (a network error, a flood wait) is left claimed: once the lease lapses, any replica
claims it again. One Telegram will never accept (the bot was blocked, the chat is gone) is dropped with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError
from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.metrics import Metrics
from bot.store.reminders import Claim, RedisReminders
from bot.telegram import texts
from bot.telegram.i18n.language import speaking

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0  # far longer than a send takes: a lapsed lease means the claimer is gone
IDLE_SECONDS = 5.0  # how often the store is asked when nothing is due sooner (reminders set on other replicas)
BATCH = 20
MAX_ATTEMPTS = 5


class ReminderCourier:
    """The background loop of one replica that delivers due reminders; ``run`` until ``stop``."""

    def __init__(self, reminders: RedisReminders, bot: Bot, metrics: Metrics, *,
                 lease_seconds: float = LEASE_SECONDS, idle_seconds: float = IDLE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._reminders = reminders
        self._bot = bot
        self._metrics = metrics
        self._lease = lease_seconds
        self._idle = idle_seconds
        self._clock = clock
        self._stopping = asyncio.Event()
        self._store_down = False

    async def run(self) -> None:
        """Deliver what is due, then sleep until the next one is (or a reminder is set, or IDLE_SECONDS)."""
        while not self._stopping.is_set():
            claims = await self._claim()
            if claims:
                await asyncio.gather(*(self._deliver_safely(claim) for claim in claims))
            else:
                await self._wait()

    def stop(self) -> None:
        """Take no more reminders; a delivery under way still finishes."""
        self._stopping.set()

    async def _claim(self) -> list[Claim]:
        try:
            claims = await self._reminders.claim(self._lease, BATCH)
        except (RedisError, OSError) as exc:
            if not self._store_down:
                logger.warning("reminders: the store is unavailable (%s); trying again", type(exc).__name__)
            self._store_down = True
            return []
        self._store_down = False
        return claims

    async def _wait(self) -> None:
        delay = self._idle
        with contextlib.suppress(RedisError, OSError):
            due = await self._reminders.next_due()
            if due is not None:
                delay = min(delay, max(due - self._clock(), 0.0))
        added, stopping = self._reminders.added, self._stopping
        added.clear()
        waiters = [asyncio.ensure_future(added.wait()), asyncio.ensure_future(stopping.wait())]
        try:  # never less than a moment: a reminder due "now" that another replica took must not spin this loop
            await asyncio.wait(waiters, timeout=max(delay, 0.05), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _deliver_safely(self, claim: Claim) -> None:
        try:
            await self._deliver(claim)
        except Exception:  # one reminder's bug must not stop the others: it is retried once its lease lapses
            logger.error("reminder %s failed", claim.reminder.id, exc_info=True)

    async def _deliver(self, claim: Claim) -> None:
        reminder = claim.reminder
        if claim.attempt > MAX_ATTEMPTS:
            logger.warning("reminder %s dropped after %d attempts", reminder.id, MAX_ATTEMPTS)
            await self._finish(claim, "dropped")
            return
        reply = ReplyParameters(reminder.message_id, allow_sending_without_reply=True) if reminder.message_id else None
        try:
            with speaking(reminder.language) if reminder.language else contextlib.nullcontext():
                text = texts.reminder(reminder.text)
            await self._bot.send_message(reminder.chat.chat_id, text, message_thread_id=reminder.chat.thread_id,
                                         reply_parameters=reply)
        except (Forbidden, BadRequest) as exc:  # Telegram will never take it: blocked, chat gone, …
            logger.warning("reminder %s dropped: Telegram refused it (%s)", reminder.id, type(exc).__name__)
            await self._finish(claim, "dropped")
        except TelegramError as exc:
            logger.warning("reminder %s not sent yet (%s); retried in %.0fs", reminder.id, type(exc).__name__,
                           self._lease)
            self._metrics.reminders.labels("retried").inc()
        else:
            await self._finish(claim, "sent")

    async def _finish(self, claim: Claim, outcome: str) -> None:
        self._metrics.reminders.labels(outcome).inc()
        try:
            if not await self._reminders.finish(claim):
                logger.warning("reminder %s: its claim had lapsed before it was finished", claim.reminder.id)
        except (RedisError, OSError) as exc:
            logger.warning("reminder %s sent but not deleted (%s): it may be sent again", claim.reminder.id,
                           type(exc).__name__)
