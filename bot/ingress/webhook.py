"""Registering the webhook with Telegram: once per configuration, however many replicas start at once."""

from __future__ import annotations

import contextlib
import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Bot

from bot.config import Settings
from bot.store.keys import Keys
from bot.telegram.application import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

MARK_SECONDS = 3600
LOCK_SECONDS = 30


class WebhookRegistration:
    """setWebhook and deleteWebhook, with a fingerprint in Redis so replicas skip what is already set."""

    def __init__(self, bot: Bot, redis: Redis, keys: Keys, settings: Settings) -> None:
        self._bot = bot
        self._redis = redis
        self._keys = keys
        self._settings = settings

    async def ensure(self) -> None:
        """Set the webhook unless this configuration is already set (or another replica is setting it)."""
        try:
            if await self._redis.get(self._keys.webhook) == self._fingerprint():
                return
            if not await self._redis.set(self._keys.webhook_lock, 1, nx=True, ex=LOCK_SECONDS):
                return
        except (RedisError, OSError):
            pass  # no Redis at start: set it anyway, it is idempotent
        await self.set()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.set(self._keys.webhook, self._fingerprint(), ex=MARK_SECONDS)

    async def set(self) -> None:
        """`python -m bot set-webhook`: point Telegram at WEBHOOK_URL."""
        await self._bot.set_webhook(self._settings.webhook_url or "", secret_token=self._settings.webhook_secret,
                                    allowed_updates=ALLOWED_UPDATES, max_connections=100)
        logger.info("webhook set")

    async def delete(self) -> None:
        """`python -m bot delete-webhook` (and long polling, which Telegram allows only without a webhook)."""
        await self._bot.delete_webhook()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._keys.webhook)
        logger.info("webhook deleted")

    def _fingerprint(self) -> str:
        settings = self._settings
        material = f"{settings.webhook_url}|{settings.webhook_secret}|{','.join(ALLOWED_UPDATES)}"
        return hashlib.sha256(material.encode()).hexdigest()
