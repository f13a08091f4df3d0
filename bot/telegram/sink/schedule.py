"""When an answer may call Telegram next: its own cadence, the chat's flood wait, the group's minute budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.telegram.pacing import Pacer
from bot.telegram.sink.target import Target


@dataclass(frozen=True)
class Cadence:
    """Seconds between edits in private chats and in groups; ``draft`` streams private chats as drafts; how long
    a final text is retried through Telegram outages and flood waits (STREAM_* and DELIVERY_GIVE_UP_SECONDS)."""

    private_interval: float
    group_interval: float
    mode: str
    give_up_seconds: float

    def interval(self, target: Target) -> float:
        """Seconds between two edits of an answer to this chat."""
        return self.group_interval if target.is_group else self.private_interval

    def drafts(self, target: Target) -> bool:
        """Whether the answer streams as a draft (private chats only) rather than as edits."""
        return self.mode == "draft" and not target.is_group


class Schedule:
    """One answer's calls: no closer than its interval, never inside a flood wait, within a group's budget."""

    def __init__(self, target: Target, pacer: Pacer, interval: float, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]]) -> None:
        self._target = target
        self._pacer = pacer
        self._interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last_call = float("-inf")

    def next_slot(self) -> float:
        """The earliest moment the next call of this answer may go."""
        chat_id = self._target.chat_id
        slot = max(self._last_call + self._interval, self._pacer.blocked_until(chat_id))
        if self._target.is_group and self._pacer.group_budget_left(chat_id) <= 1:
            slot = max(slot, self._pacer.next_group_slot(chat_id))
        return slot

    async def wait_for_slot(self) -> None:
        """Sleep until the next call may go."""
        delay = self.next_slot() - self.clock()
        if delay > 0:
            await self.sleep(delay)

    def record(self) -> None:
        """A call goes now: the interval counts from here, and it spends the group's budget."""
        self._last_call = self.clock()
        self._pacer.record(self._target.chat_id, self._target.is_group)

    def flood_wait(self, seconds: float) -> None:
        """Telegram asked for a pause: no call to this chat (from any answer) before it ends."""
        self._pacer.block(self._target.chat_id, seconds)

    def blocked(self) -> bool:
        """Whether the chat is inside a flood wait now."""
        return bool(self._pacer.blocked_until(self._target.chat_id))
