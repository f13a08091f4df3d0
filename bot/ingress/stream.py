"""Durable ingress: webhook updates go into a Redis Stream, every replica consumes them in one group.

An entry is acknowledged only when its update is fully handled; entries a dead replica left pending are
claimed by the others after CLAIM_IDLE. A live replica keeps its running entries fresh (XCLAIM JUSTID), so a
long answer is never claimed away from it. Updates come in through ingress/intake.py.

Idle, a replica wakes rarely: a read blocks for READ_BLOCK_MS (a new entry ends it at once, and so does stop),
and the pending list is checked for abandoned entries when its idle times say one can next be claimable, not
after every read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.ingress.intake import Intake, line_of
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.lines import ChatLines

logger = logging.getLogger(__name__)

GROUP = "bot"
# Entries taken per read: a burst is taken in steps, and a replica never hoards what idle ones could answer.
READ_BATCH = 20
# Below the Redis client's 15 s socket timeout (bot/wiring.py), which would otherwise end the blocked read.
READ_BLOCK_MS = 10_000
BUSY_PAUSE_SECONDS = 0.05
RETRY_SECONDS = 1.0
# Pending entries looked at to plan the next claim; with more pending than that, claims are checked every
# CLAIM_RECHECK_SECONDS instead (as often as the reads of a busy replica would).
PENDING_SCAN = 100
CLAIM_RECHECK_SECONDS = 1.0
_CLAIM_MIN_WAIT_SECONDS = 0.01

# The update, and whether another replica had started it (and died).
Process = Callable[[dict[str, Any], bool], Awaitable[None]]


class UpdateStream:
    """The shared update stream: submit from the webhook, consume on every replica."""

    def __init__(self, redis: Redis, keys: Keys, consumer: str, metrics: Metrics, *,
                 concurrency: int = 256, claim_idle_ms: int, block_ms: int = READ_BLOCK_MS,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._redis = redis
        self._keys = keys
        self._stream = keys.stream
        self._consumer = consumer
        self._metrics = metrics
        self._capacity = concurrency
        self._slot_freed = asyncio.Event()
        self._claim_idle_ms = claim_idle_ms
        self._block_ms = block_ms
        self._clock = clock
        self._sleep = sleep
        self._claim_from = "0-0"
        self._read: asyncio.Task[Any] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._reading = False
        self._reader_done = asyncio.Event()
        self._stopped = asyncio.Event()
        self._intake = Intake(redis, keys, metrics)
        self._lines = ChatLines(redis, clock=clock, sleep=sleep)

    async def submit(self, data: dict[str, Any]) -> bool:
        """Queue an update unless seen in the last 24 h; True when queued (see ingress/intake.py)."""
        return await self._intake.submit(data)

    async def run(self, process: Process) -> None:
        """Consume until ``stop``: new entries, and entries abandoned by dead replicas."""
        await self._ensure_group()
        self._reading = True
        helpers = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._take_over(process))]
        try:
            await self._consume(process)
            self._reader_done.set()
            await self._stopped.wait()  # the heartbeat keeps running entries ours while they finish
        finally:
            self._reader_done.set()
            for helper in helpers:
                helper.cancel()

    async def stop(self, grace: float) -> None:
        """Take no new entries; let running ones finish within ``grace``; the rest stay pending for others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping.set()
        self._slot_freed.set()
        if self._read is not None:  # a read waiting for new entries ends now (what it was handed is read back)
            self._read.cancel()
        if self._reading:  # a read in flight may still bring entries: they are ours, so they run too
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader_done.wait(), timeout=grace)
        try:
            await self._finish_running(max(0.0, deadline - loop.time()))
        finally:
            self._stopped.set()

    async def _consume(self, process: Process) -> None:
        while not self._stopping.is_set():
            if self._running and self._metrics.lagging():  # leave new entries to idler replicas
                await self._sleep(BUSY_PAUSE_SECONDS)
                continue
            try:
                await self._read_new(process)
            except (RedisError, OSError) as exc:
                logger.warning("update stream unavailable (%s); retrying", type(exc).__name__)
                self._metrics.redis_errors.labels("stream").inc()
                await self._sleep(RETRY_SECONDS)

    async def _finish_running(self, grace: float) -> None:
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                logger.warning("%d update(s) left pending for other replicas", len(late))
                await asyncio.gather(*late, return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read_new(self, process: Process) -> None:
        free = await self._free_slots()
        if not free:
            return
        self._read = read = asyncio.ensure_future(self._redis.xreadgroup(
            GROUP, self._consumer, {self._stream: ">"}, count=min(free, READ_BATCH), block=self._block_ms))
        try:
            batches: Any = await read
        except asyncio.CancelledError:
            if not self._interrupted(read):
                raise
            await self._take_back(process)
            return
        finally:
            self._read = None
        self._start_all(_entries(batches), process, reclaimed=False)

    def _interrupted(self, read: asyncio.Task[Any]) -> bool:
        """Whether ``stop`` ended the read (rather than the whole consumer being cancelled)."""
        current = asyncio.current_task()
        return read.cancelled() and self._stopping.is_set() and current is not None and not current.cancelling()

    async def _take_back(self, process: Process) -> None:
        """Run what a read ended by ``stop`` had been handed: this consumer's pending entries that nothing here
        runs (the reply that listed them was cut off). They may have been started before, so they run as taken
        over: one whose answer was already generated is delivered from the store."""
        batches: Any = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: "0"})
        entries = [(entry_id, fields) for entry_id, fields in _entries(batches) if entry_id not in self._running]
        if entries:
            logger.info("running %d update(s) handed to this replica as it stopped", len(entries))
        self._start_all(entries, process, reclaimed=True)

    async def _take_over(self, process: Process) -> None:
        """Claim entries that dead replicas left, each once it has been idle for CLAIM_IDLE; until stopping."""
        while free := await self._free_slots():
            try:
                wait = await self._claim_abandoned(process, free)
            except (RedisError, OSError) as exc:
                logger.warning("could not look for abandoned updates (%s); retrying", type(exc).__name__)
                self._metrics.redis_errors.labels("stream").inc()
                wait = RETRY_SECONDS
            await self._sleep(wait)

    async def _claim_abandoned(self, process: Process, free: int) -> float:
        """Claim what has been idle long enough; return the seconds until anything pending can have been."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xautoclaim(self._stream, GROUP, self._consumer, min_idle_time=self._claim_idle_ms,
                        start_id=self._claim_from, count=free)
        pipe.xpending_range(self._stream, GROUP, min="-", max="+", count=PENDING_SCAN)
        (cursor, entries, *_), pending = await pipe.execute()
        for entry_id, fields in entries:
            if isinstance(fields, dict):  # an entry trimmed away comes back without fields
                logger.info("claimed an update abandoned by another replica")
                self._start(entry_id, fields, process, reclaimed=True)
        self._claim_from = cursor
        return 0.0 if cursor != "0-0" else self._until_claimable(pending)

    def _until_claimable(self, pending: list[dict[str, Any]]) -> float:
        """Seconds until an entry pending now, or read from now on, can have been idle for CLAIM_IDLE (entries
        running here never are: the heartbeat keeps them fresh)."""
        idle = [int(entry["time_since_delivered"]) for entry in pending if entry["message_id"] not in self._running]
        wait = (self._claim_idle_ms - max(idle, default=0)) / 1000
        if len(pending) >= PENDING_SCAN:
            wait = min(wait, CLAIM_RECHECK_SECONDS)
        return max(wait, _CLAIM_MIN_WAIT_SECONDS)

    async def _free_slots(self) -> int:
        """How many more entries may start now (0 once stopping), waiting while every slot is taken."""
        while len(self._running) >= self._capacity and not self._stopping.is_set():
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return 0 if self._stopping.is_set() else self._capacity - len(self._running)

    def _start_all(self, entries: Iterable[tuple[str, dict[str, str]]], process: Process, reclaimed: bool) -> None:
        for entry_id, fields in entries:
            self._start(entry_id, fields, process, reclaimed)

    def _start(self, entry_id: str, fields: dict[str, str], process: Process, reclaimed: bool) -> None:
        if entry_id in self._running:  # claimed and taken back at once while stopping
            return
        task = asyncio.create_task(self._handle(entry_id, fields, process, reclaimed))
        self._running[entry_id] = task
        self._metrics.handling(len(self._running))
        task.add_done_callback(lambda _: self._finished(entry_id))

    def _finished(self, entry_id: str) -> None:
        self._running.pop(entry_id, None)
        self._metrics.handling(len(self._running))
        self._slot_freed.set()

    async def _handle(self, entry_id: str, fields: dict[str, str], process: Process, reclaimed: bool) -> None:
        try:
            data, line = self._decoded(fields)
        except (KeyError, TypeError, ValueError, RecursionError):  # no replica can ever read it: retries cannot help
            logger.warning("unreadable update stream entry dropped")
            await self._discard(entry_id)
            return
        self._metrics.ingress_lag.observe(max(0.0, self._clock() - int(entry_id.split("-")[0]) / 1000))
        try:
            if line is not None:
                await self._lines.wait_turn(line, entry_id)
        except (RedisError, OSError) as exc:  # left pending: this or another replica claims it again later
            logger.warning("update stream unavailable (%s); update left for a retry", type(exc).__name__)
            self._metrics.redis_errors.labels("stream").inc()
            return
        try:  # a taken-over turn whose answer was generated is delivered from the store, not asked again
            await process(data, reclaimed)
        except Exception:  # a poisonous update must not block the stream: log it and let it go
            logger.exception("update could not be handled; dropped", extra={"update_id": data.get("update_id")})
        try:
            await self._acknowledge(entry_id, int(data["update_id"]), line)
        except (RedisError, OSError) as exc:  # still pending: claimed again later, and its answer delivered again
            logger.warning("could not acknowledge an update (%s); it will be claimed again", type(exc).__name__)
            self._metrics.redis_errors.labels("stream").inc()

    def _decoded(self, fields: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        """An entry's update (an object with an integer update_id) and its chat's line."""
        data = json.loads(fields["u"])
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        return data, line_of(self._keys, data)

    async def _discard(self, entry_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.xack(self._stream, GROUP, entry_id)
        pipe.xdel(self._stream, entry_id)
        await pipe.execute()

    async def _acknowledge(self, entry_id: str, update_id: int, line: str | None) -> None:
        """Done with an update: off the stream and its chat's line; what was kept for a takeover goes too."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xack(self._stream, GROUP, entry_id)
        pipe.xdel(self._stream, entry_id)
        if line is not None:
            self._lines.leave(pipe, line, entry_id)
        pipe.delete(self._keys.reply(update_id))
        await pipe.execute()

    async def _heartbeat(self) -> None:
        while True:
            await self._sleep(self._claim_idle_ms / 3000)
            with contextlib.suppress(RedisError, OSError):
                await self._touch_running()
                pending = await self._redis.xpending(self._stream, GROUP)
                self._metrics.ingress_pending.set(int(pending.get("pending", 0)))

    async def _touch_running(self) -> None:
        ids: list[int | bytes | str | memoryview[int]] = list(self._running)
        if ids:
            await self._redis.xclaim(self._stream, GROUP, self._consumer, min_idle_time=0, message_ids=ids,
                                     justid=True)


def _entries(batches: Any) -> Iterable[tuple[str, dict[str, str]]]:
    """The entries of an XREADGROUP reply that still have their fields (a trimmed one comes back without)."""
    for _, entries in batches or []:
        for entry_id, fields in entries:
            if isinstance(fields, dict) and "u" in fields:
                yield entry_id, fields
