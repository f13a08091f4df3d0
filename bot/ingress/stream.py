"""Durable ingress: webhook updates go into a Redis Stream, every replica consumes them in one group.

An entry is acknowledged only when its update is fully handled; entries a dead replica left pending are
claimed by the others after CLAIM_IDLE. A live replica keeps its running entries fresh (XCLAIM JUSTID), so a
long answer is never claimed away from it. The seen-set check and the append are one Lua script: an update
is either queued and marked seen, or neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.domain.chat import ChatKey
from bot.errors import StoreUnavailable
from bot.metrics import Metrics
from bot.store.keys import Keys
from bot.store.lines import LINE_TTL_SECONDS, ChatLines
from bot.store.script import LuaScript

logger = logging.getLogger(__name__)

SEEN_TTL_SECONDS = 24 * 3600
CLAIM_IDLE_MS = 30_000
STREAM_MAXLEN = 100_000
GROUP = "bot"
# Entries taken per read: a burst is taken in steps, and a replica never hoards what idle ones could answer.
READ_BATCH = 20
BUSY_PAUSE_SECONDS = 0.05

# KEYS: seen marker, stream[, the chat's line]. ARGV: ttl seconds, maxlen, payload[, line ttl].
# Returns the entry id, or false if seen. The entry joins its chat's line in the same step, so the line's order
# is exactly the stream's.
_SUBMIT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'u', ARGV[3])
if KEYS[3] then
  local millis, sequence = string.match(id, '(%d+)-(%d+)')
  redis.call('ZADD', KEYS[3], tonumber(millis) * 1000 + math.min(tonumber(sequence), 999), id)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return id
"""

# The update, and whether another replica had started it (and died).
Process = Callable[[dict[str, Any], bool], Awaitable[None]]


class UpdateStream:
    """The shared update stream: submit from the webhook, consume on every replica."""

    def __init__(self, redis: Redis, keys: Keys, consumer: str, metrics: Metrics, *,
                 concurrency: int = 256, claim_idle_ms: int = CLAIM_IDLE_MS) -> None:
        self._redis = redis
        self._keys = keys
        self._stream = keys.stream
        self._consumer = consumer
        self._metrics = metrics
        self._capacity = concurrency
        self._slot_freed = asyncio.Event()
        self._claim_idle_ms = claim_idle_ms
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._reading = False
        self._reader_done = asyncio.Event()
        self._stopped = asyncio.Event()
        self._submit = LuaScript(redis, _SUBMIT)
        self._lines = ChatLines(redis)

    async def submit(self, data: dict[str, Any]) -> bool:
        """Queue an update unless seen in the last 24 h; True when queued."""
        update_id = int(data["update_id"])
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        line = self._line(data)
        try:
            entry = await self._submit([self._keys.seen(update_id), self._stream, *([line] if line else [])],
                                       [SEEN_TTL_SECONDS, STREAM_MAXLEN, payload, LINE_TTL_SECONDS])
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        self._metrics.updates_received.inc()
        if not entry:
            self._metrics.updates_duplicate.inc()
            logger.info("duplicate update ignored", extra={"update_id": update_id})
        return bool(entry)

    async def run(self, process: Process) -> None:
        """Consume until ``stop``: new entries, and entries abandoned by dead replicas."""
        await self._ensure_group()
        self._reading = True
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._consume(process)
            self._reader_done.set()
            await self._stopped.wait()  # the heartbeat keeps running entries ours while they finish
        finally:
            self._reader_done.set()
            heartbeat.cancel()

    async def stop(self, grace: float) -> None:
        """Take no new entries; let running ones finish within ``grace``; the rest stay pending for others."""
        deadline = time.monotonic() + grace
        self._stopping.set()
        self._slot_freed.set()
        if self._reading:  # a read in flight may still bring entries: they are ours, so they run too
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader_done.wait(), timeout=grace)
        try:
            await self._finish_running(max(0.0, deadline - time.monotonic()))
        finally:
            self._stopped.set()

    async def _consume(self, process: Process) -> None:
        while not self._stopping.is_set():
            if self._running and self._metrics.lagging():  # leave new entries to idler replicas
                await asyncio.sleep(BUSY_PAUSE_SECONDS)
                continue
            try:
                await self._claim_abandoned(process)
                await self._read_new(process)
            except (RedisError, OSError) as exc:
                logger.warning("update stream unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)

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

    def _line(self, data: dict[str, Any]) -> str | None:
        """The key of the line in which an update waits for its chat's earlier ones (None: it never waits)."""
        chat = ChatKey.of_update(data)
        return None if chat is None else self._keys.line(chat)

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
        batches: Any = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: ">"},
                                                    count=min(free, READ_BATCH), block=1000)
        for _, entries in batches or []:
            for entry_id, fields in entries:
                self._start(entry_id, fields, process, reclaimed=False)

    async def _claim_abandoned(self, process: Process) -> None:
        free = await self._free_slots()
        if not free:
            return
        _, entries, *_ = await self._redis.xautoclaim(self._stream, GROUP, self._consumer,
                                                      min_idle_time=self._claim_idle_ms, count=free)
        for entry_id, fields in entries:
            if isinstance(fields, dict):  # an entry trimmed away comes back without fields
                logger.info("claimed an update abandoned by another replica")
                self._start(entry_id, fields, process, reclaimed=True)

    async def _free_slots(self) -> int:
        """How many more entries may start now (0 once stopping), waiting while every slot is taken."""
        while len(self._running) >= self._capacity and not self._stopping.is_set():
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return 0 if self._stopping.is_set() else self._capacity - len(self._running)

    def _start(self, entry_id: str, fields: dict[str, str], process: Process, reclaimed: bool) -> None:
        task = asyncio.create_task(self._handle(entry_id, fields, process, reclaimed))
        self._running[entry_id] = task
        task.add_done_callback(lambda _: self._finished(entry_id))

    def _finished(self, entry_id: str) -> None:
        self._running.pop(entry_id, None)
        self._slot_freed.set()

    async def _handle(self, entry_id: str, fields: dict[str, str], process: Process, reclaimed: bool) -> None:
        try:
            data, line = self._decoded(fields)
        except (KeyError, TypeError, ValueError, RecursionError):  # no replica can ever read it: retries cannot help
            logger.warning("unreadable update stream entry dropped")
            await self._discard(entry_id)
            return
        self._metrics.ingress_lag.observe(max(0.0, time.time() - int(entry_id.split("-")[0]) / 1000))
        try:
            if line is not None:
                await self._lines.wait_turn(line, entry_id)
        except (RedisError, OSError) as exc:  # left pending: this or another replica claims it again later
            logger.warning("update stream unavailable (%s); update left for a retry", type(exc).__name__)
            return
        try:
            if reclaimed and await self._redis.exists(self._keys.done(data["update_id"])):
                logger.info("claimed update was already answered", extra={"update_id": data["update_id"]})
            else:
                await process(data, reclaimed)
        except Exception:  # a poisonous update must not block the stream: log it and let it go
            logger.exception("update could not be handled; dropped", extra={"update_id": data.get("update_id")})
        await self._acknowledge(entry_id, int(data["update_id"]), line)

    def _decoded(self, fields: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        """An entry's update (an object with an integer update_id) and its chat's line."""
        data = json.loads(fields["u"])
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        return data, self._line(data)

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
            await asyncio.sleep(self._claim_idle_ms / 3000)
            with contextlib.suppress(RedisError, OSError):
                await self._touch_running()
                pending = await self._redis.xpending(self._stream, GROUP)
                self._metrics.ingress_pending.set(int(pending.get("pending", 0)))

    async def _touch_running(self) -> None:
        ids: list[int | bytes | str | memoryview[int]] = list(self._running)
        if ids:
            await self._redis.xclaim(self._stream, GROUP, self._consumer, min_idle_time=0, message_ids=ids,
                                     justid=True)
