"""When a chat may receive the next Bot API call: flood waits and the per-group minute budget.

Shared by every stream of the process, so two answers in one group spend one budget, and a 429 in one
chat never delays another chat.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from bot.telegram.flood import GROUP_MESSAGES_PER_MINUTE

_WINDOW = 60.0


class Pacer:
    """Per-chat flood waits (from RetryAfter) and a sliding one-minute call budget for groups."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 group_calls_per_minute: int = GROUP_MESSAGES_PER_MINUTE) -> None:
        self._clock = clock
        self._per_minute = group_calls_per_minute
        self._blocked: dict[int, float] = {}
        self._calls: dict[int, deque[float]] = {}

    def blocked_until(self, chat_id: int) -> float:
        """The moment the chat may be called again after a flood wait (0 when not blocked)."""
        until = self._blocked.get(chat_id, 0.0)
        if until and until <= self._clock():
            del self._blocked[chat_id]
            return 0.0
        return until

    def block(self, chat_id: int, seconds: float) -> None:
        """Telegram said: no call to this chat for ``seconds``."""
        self._blocked[chat_id] = max(self._blocked.get(chat_id, 0.0), self._clock() + seconds)

    def record(self, chat_id: int, is_group: bool) -> None:
        """Count a send or edit against the group's minute budget."""
        if is_group:
            self._recent(chat_id).append(self._clock())

    def group_budget_left(self, chat_id: int) -> int:
        """Calls still allowed in this group within the current minute."""
        calls = self._recent(chat_id)
        left = self._per_minute - len(calls)
        if not calls:
            del self._calls[chat_id]
        return left

    def next_group_slot(self, chat_id: int) -> float:
        """When the oldest call of a full minute window leaves it."""
        calls = self._calls.get(chat_id)
        return calls[0] + _WINDOW if calls else 0.0

    def _recent(self, chat_id: int) -> deque[float]:
        calls = self._calls.setdefault(chat_id, deque())
        horizon = self._clock() - _WINDOW
        while calls and calls[0] <= horizon:
            calls.popleft()
        return calls
