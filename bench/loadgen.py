"""The webhook load generator: POSTs updates open-loop at a fixed rate over keep-alive connections.

Like Telegram it keeps at most ``connections`` requests in flight (the bot sets max_connections=100). Each
update's send time is taken with time.monotonic() just before its bytes are written, so it can be compared with
the fakes' timestamps. An idle connection is dropped after ``keepalive`` seconds, before uvicorn's own 5 s
keep-alive timeout closes it under a request; failures are kept with the connection's idle time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.httpwire import read_message, request

_update_ids = itertools.count(1)

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def make_update(chat_id: int, text: str) -> bytes:
    """A private-chat text message from user ``chat_id``, as Telegram POSTs it."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Ann"}
    message = {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "private",
                                                                      "first_name": "Ann"},
               "from": user, "text": text}
    return json.dumps({"update_id": next(_update_ids), "message": message}).encode()


@dataclass
class Outcome:
    """What the POSTs got: send times and ack latencies by chat, status or error counts, schedule slip."""

    sent: dict[int, float] = field(default_factory=dict)
    latency: dict[int, float] = field(default_factory=dict)
    results: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, bool, float]] = field(default_factory=list)
    slip: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def acknowledged(self) -> int:
        return self.results["200"]


class Pool:
    """Keep-alive connections to 127.0.0.1:port, at most ``limit`` open, the most recently used first."""

    def __init__(self, port: int, limit: int, keepalive: float) -> None:
        self._port = port
        self._slots = limit
        self._keepalive = keepalive
        self._idle: list[tuple[Connection, float]] = []
        self._changed = asyncio.Condition()

    async def acquire(self) -> tuple[Connection, float | None]:
        """A connection and how long it sat idle (None when new)."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._idle) or self._slots > 0)
            while self._idle:
                connection, since = self._idle.pop()
                idle = time.monotonic() - since
                if idle < self._keepalive and not connection[0].at_eof():
                    return connection, idle
                connection[1].close()
                self._slots += 1
            self._slots -= 1
        try:
            return await asyncio.open_connection("127.0.0.1", self._port, limit=2**20), None
        except OSError:
            await self.release(None)
            raise

    async def release(self, connection: Connection | None) -> None:
        """Give a connection back; None when it was closed."""
        async with self._changed:
            if connection is None:
                self._slots += 1
            else:
                self._idle.append((connection, time.monotonic()))
            self._changed.notify()

    def close(self) -> None:
        for (_, writer), _ in self._idle:
            writer.close()
        self._idle.clear()


class Poster:
    """POSTs updates to the bot's webhook and records the outcome."""

    def __init__(self, port: int, path: str, secret: str, *, connections: int = 100, keepalive: float = 4.0,
                 timeout: float = 60.0) -> None:
        self._pool = Pool(port, connections, keepalive)
        self._path = path
        self._headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
        self._timeout = timeout

    async def paced(self, chats: Sequence[int], text: str, rate: float) -> Outcome:
        """One update per chat, ``1/rate`` seconds apart (rate 0: all at once)."""
        outcome = Outcome()
        started = time.monotonic()
        tasks = []
        for index, chat in enumerate(chats):
            due = started + index / rate if rate else started
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(self._post(chat, text, due, outcome)))
        await asyncio.gather(*tasks)
        outcome.elapsed = time.monotonic() - started
        return outcome

    async def _post(self, chat: int, text: str, due: float, outcome: Outcome) -> None:
        data = request("POST", self._path, make_update(chat, f"{text} {chat}"), self._headers)
        connection, idle = await self._pool.acquire()
        outcome.sent[chat] = sent = time.monotonic()
        outcome.slip.append(sent - due)
        try:
            connection[1].write(data)
            answer = await asyncio.wait_for(read_message(connection[0]), self._timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            connection[1].close()
            await self._pool.release(None)
            outcome.results[type(exc).__name__] += 1
            outcome.failures.append((type(exc).__name__, idle is not None, idle or 0.0))
            return
        outcome.latency[chat] = time.monotonic() - sent
        outcome.results[str(answer.status)] += 1
        if not answer.keep_alive:
            connection[1].close()
        await self._pool.release(connection if answer.keep_alive else None)

    def close(self) -> None:
        self._pool.close()
