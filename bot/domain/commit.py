"""A generated answer stored, then delivered: stored first, so a replica taking the turn over delivers it without
asking the model again; with the store down the user still gets the answer, and the commit is retried until the
store is back (up to DELIVERY_GIVE_UP_SECONDS); a delivery given up leaves in history what the user saw."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.domain.chat import ChatKey
from bot.domain.outcome import Delivery
from bot.domain.ports import History, ReplySink
from bot.domain.tokens import TokenCounter
from bot.domain.transcript import Turn
from bot.errors import StoreUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreRetry:
    """How a generated answer's commit is retried while the store is down: backoff, up to ``give_up_seconds``."""

    give_up_seconds: float
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    first_delay: float = 0.5
    max_delay: float = 5.0


class Committer:
    """Stores a turn's generated answer and delivers it through the sink, in that order."""

    def __init__(self, history: History, counter: TokenCounter, retry: StoreRetry) -> None:
        self._history = history
        self._counter = counter
        self._retry_policy = retry

    async def store_then_deliver(self, commit: Callable[[], Awaitable[None]], sink: ReplySink, delivery: Delivery,
                                 chat: ChatKey, turns: list[Turn], turn_id: str | None) -> None:
        """Commit, deliver, and when the delivery was given up, amend history to what the user saw."""
        seen = await self._store_then_deliver(commit, sink, delivery, turn_id)
        if seen is not None:
            await self._record_seen(chat, turns, replace(delivery, seen=seen), turn_id)

    async def _store_then_deliver(self, commit: Callable[[], Awaitable[None]], sink: ReplySink,
                                  delivery: Delivery, turn_id: str | None) -> str | None:
        """Generated is stored before it is delivered, so a replica taking over delivers it without the model.
        With the store down, the user still gets the answer now, and the commit is retried until it is back.
        Returns what the user sees of the answer when its delivery was given up (else None)."""
        try:
            await commit()
        except StoreUnavailable as exc:
            logger.warning("the store failed after the answer was generated (%s); delivering, then retrying", exc)
            seen = await sink.finish(delivery.text, delivery.ending)
            await self._retry(commit, turn_id)
            return seen
        return await sink.finish(delivery.text, delivery.ending)

    async def _record_seen(self, chat: ChatKey, turns: list[Turn], delivery: Delivery, turn_id: str | None) -> None:
        """Its delivery given up, the answer in history becomes what the user saw of it (nothing: no exchange)."""
        seen = delivery.seen or ""
        shown = Turn("assistant", seen, self._counter.count(seen)) if seen.strip() else None
        logger.warning("the answer's delivery was given up; history keeps what the user saw (%d of %d characters)",
                       len(seen), len(delivery.text))
        try:
            await self._history.amend(chat, turns, shown, turn_id, delivery)
        except StoreUnavailable as exc:
            logger.warning("could not amend the history to what the user saw (%s)", exc)

    async def _retry(self, commit: Callable[[], Awaitable[None]], turn_id: str | None) -> None:
        retry = self._retry_policy
        deadline, delay = retry.clock() + retry.give_up_seconds, retry.first_delay
        while retry.clock() + delay <= deadline:
            await retry.sleep(delay)
            try:  # a commit whose reply was lost may have been applied: its done marker says so (usage once)
                if turn_id is None or await self._history.generated(turn_id) is None:
                    await commit()
            except StoreUnavailable:
                delay = min(delay * 2, retry.max_delay)
                continue
            logger.info("the store is back; the turn is stored")
            return
        logger.error("gave up storing a turn after %.0fs: the store stayed unavailable", retry.give_up_seconds)
