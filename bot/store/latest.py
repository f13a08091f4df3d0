"""Each chat's newest finished answer: who asked, in which message, and the messages that show the answer.

The 🔄 button, /retry and an edit of the asker's message answer it again, in those same messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.store.keys import Keys

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LatestAnswer:
    """The newest answer of a chat: the asker, their message, and the answer's messages (oldest first)."""

    asker: int
    asked: int
    messages: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps({"asker": self.asker, "asked": self.asked, "messages": list(self.messages)})

    @classmethod
    def from_json(cls, raw: str | None) -> LatestAnswer | None:
        try:
            data = json.loads(raw) if raw else {}
            return cls(int(data["asker"]), int(data["asked"]), tuple(int(m) for m in data["messages"]))
        except (TypeError, ValueError, KeyError):
            return None


class LatestAnswers:
    """The newest answer per chat in Redis, kept as long as the chat's history."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_seconds = ttl_seconds

    async def get(self, chat: ChatKey) -> LatestAnswer | None:
        """The chat's newest answer, if it has one."""
        raw = await self._redis.get(self._keys.latest(chat))
        return LatestAnswer.from_json(None if raw is None else str(raw))

    async def replace(self, chat: ChatKey, answer: LatestAnswer) -> LatestAnswer | None:
        """Make ``answer`` the chat's newest; the one it replaces, if any. The answer is delivered already: a store
        outage only costs its 🔄 (and the previous one's removal)."""
        try:
            raw = await self._redis.set(self._keys.latest(chat), answer.to_json(), ex=self._ttl_seconds, get=True)
        except (RedisError, OSError) as exc:
            logger.warning("could not record a chat's newest answer (%s)", type(exc).__name__)
            return None
        return LatestAnswer.from_json(None if raw is None else str(raw))

    async def first_edit_note(self, chat: ChatKey) -> bool:
        """Whether the chat has not yet been told that only its newest message is answered again after an edit."""
        return bool(await self._redis.set(self._keys.edit_note(chat), 1, nx=True, ex=self._ttl_seconds))
