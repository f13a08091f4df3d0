"""Virtual time for asyncio code that takes ``clock`` and ``sleep`` callables."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualClock:
    """A monotonic clock that moves only when the test advances it; sleeps wake in deadline order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Let everything due within ``seconds`` run, in order, then stop at now + seconds."""
        target = self.now + seconds
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            if not future.done():
                future.set_result(None)
            await _settle()
        self.now = target
        await _settle()


async def _settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)
