"""The pump: the newest state of an answer, shown at most once per slot of its schedule, on a task it owns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.lifetime import stop
from bot.telegram.sink.schedule import Schedule


class Pump:
    """Calls ``publish`` whenever something changed and the schedule allows; changes in between are merged."""

    def __init__(self, schedule: Schedule, publish: Callable[[], Awaitable[None]]) -> None:
        self._schedule = schedule
        self._publish = publish
        self._dirty = asyncio.Event()
        self._finishing = False
        self._task: asyncio.Task[None] | None = None

    def changed(self) -> None:
        """There is something new to show: start the pump on the first change, wake it on later ones."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        self._dirty.set()

    def halt(self) -> None:
        """Publish nothing more (a publication under way completes)."""
        self._finishing = True

    async def drain(self) -> None:
        """Halt, and wait for a publication under way; raises what the pump raised."""
        self.halt()
        self._dirty.set()
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        """Halt, and cancel a publication under way."""
        self.halt()
        await stop(self._task)

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            if self._finishing:
                return
            await self._schedule.wait_for_slot()
            if self._finishing:
                return
            self._dirty.clear()
            await self._publish()
