"""Stopping a task one owns: cancel it, wait until it has ended, and never swallow the owner's own cancellation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it; a failure it ended with is logged, not left unretrieved."""
    if task is None:
        return
    if not task.done():
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the owner itself is being cancelled: that must go on
            return
        except Exception:  # it failed while being stopped: reported below
            pass
    _report(task)


def _report(task: asyncio.Task[Any]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    logger.warning("a task failed before it was stopped: %s", type(error).__name__, exc_info=error)


async def unless_set(work: Coroutine[Any, Any, None], event: asyncio.Event) -> bool:
    """Run ``work`` until it ends or ``event`` is set (then it is cancelled); whether the event ended it. Neither
    task outlives the call, also when the caller itself is cancelled."""
    worker = asyncio.create_task(work)
    watcher = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({worker, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await stop(watcher)
        interrupted = not worker.done()
        if interrupted:
            await stop(worker)
    if not interrupted:
        worker.result()
    return interrupted
