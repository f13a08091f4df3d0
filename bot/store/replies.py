"""Answers in flight, across all replicas: their Stop buttons and the messages they have sent so far.

A Stop press may reach any replica, not the one streaming the answer: it is relayed through Redis pub/sub
(and kept on the answer's record, for a replica that takes the answer over later). A replica that takes over
an update abandoned by a dead one finds the messages already sent and edits them instead of sending new ones,
so the user still sees a single answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.store.keys import Keys

logger = logging.getLogger(__name__)

RECORD_TTL_SECONDS = 3600  # longer than a claim-idle wait plus the longest answer
_RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class Owner:
    """Who may stop an answer: the asker, or an administrator of its group."""

    chat_id: int
    user_id: int


@dataclass(frozen=True)
class Record(Owner):
    """What Redis knows of an answer: its messages so far and whether someone pressed Stop."""

    message_ids: tuple[int, ...] = ()
    stopped: bool = False


class Replies:
    """Running answers: local ones by update id, and their shared records in Redis."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._channel = keys.stops
        self._local: dict[int, tuple[Owner, asyncio.Event]] = {}
        self._taken_over: set[int] = set()

    def open(self, update_id: int, owner: Owner, stop: asyncio.Event) -> None:
        """Register an answer streaming in this process."""
        self._local[update_id] = (owner, stop)

    def close(self, update_id: int) -> None:
        """Forget an update once handled, however it ended (answered, refused, a command, an error)."""
        self._local.pop(update_id, None)
        self._taken_over.discard(update_id)

    def taken_over(self, update_id: int) -> None:
        """Mark an update another replica started: its answer will continue the messages already sent."""
        self._taken_over.add(update_id)

    def resumed(self, update_id: int) -> bool:
        """Whether another replica had started this update (and died): its answer may be generated already."""
        return update_id in self._taken_over

    async def adopt(self, update_id: int) -> Record | None:
        """The record of an answer another replica started (None for a fresh update: no round trip)."""
        if update_id not in self._taken_over:
            return None
        return await self.find(update_id)

    async def find(self, update_id: int) -> Record | None:
        """A running answer on any replica, or None when it has finished (or never showed a message)."""
        local = self._local.get(update_id)
        if local is not None:
            return Record(local[0].chat_id, local[0].user_id)
        try:
            fields = await self._redis.hgetall(self.key(update_id))
        except (RedisError, OSError) as exc:
            logger.warning("could not read an answer's record (%s)", type(exc).__name__)
            return None
        return _parse(fields)

    async def remember(self, update_id: int, owner: Owner, message_ids: list[int]) -> None:
        """Keep the messages an answer has sent so far, for a replica that may have to take over."""
        fields = {"chat": owner.chat_id, "user": owner.user_id, "messages": ",".join(map(str, message_ids))}
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self.key(update_id), mapping=fields)  # type: ignore[arg-type]
        pipe.expire(self.key(update_id), RECORD_TTL_SECONDS)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:  # the answer goes on; only a takeover would miss its messages
            logger.warning("could not record an answer's messages (%s)", type(exc).__name__)

    async def stop(self, update_id: int) -> None:
        """Stop an answer wherever it runs (or, if no replica runs it yet, whoever takes it over)."""
        local = self._local.get(update_id)
        if local is not None:
            local[1].set()
            return
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self.key(update_id), "stopped", 1)
        pipe.expire(self.key(update_id), RECORD_TTL_SECONDS)
        pipe.publish(self._channel, str(update_id))
        await pipe.execute()

    async def listen(self) -> None:
        """Relay Stop presses from other replicas to the answers running here, until cancelled."""
        while True:
            try:
                await self._relay_stops()
            except (RedisError, OSError) as exc:
                logger.warning("stop channel unavailable (%s); resubscribing", type(exc).__name__)
                await asyncio.sleep(_RECONNECT_SECONDS)

    async def _relay_stops(self) -> None:
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._channel)
            async for message in pubsub.listen():
                local = self._local.get(_as_int(message.get("data")))
                if local is not None:
                    local[1].set()

    def key(self, update_id: int) -> str:
        """The record's key; the ingress deletes it with the acknowledgement of the update."""
        return self._keys.reply(update_id)


def _parse(raw: dict[bytes | str, bytes | str]) -> Record | None:
    fields = {str(key): str(value) for key, value in raw.items()}  # the client decodes responses
    if "chat" not in fields or "user" not in fields:
        return None
    messages = tuple(int(part) for part in fields.get("messages", "").split(",") if part)
    return Record(int(fields["chat"]), int(fields["user"]), messages, fields.get("stopped") == "1")


def _as_int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
