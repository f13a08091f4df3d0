"""Registering the webhook with Telegram: checked at every start, set when Telegram's differs from ours.

The webhook can go behind the bot's back (the same token long-polled on a laptop deletes it, a deploy job runs
delete-webhook, another URL is set), so at start one replica asks getWebhookInfo and sets the webhook when the
URL or the update types differ, when our configuration changed since it was last set (a fingerprint in
Redis: Telegram never shows the secret), or when Telegram's last delivery was refused with 403 (our URL set by
hand with another secret). A lock makes it one replica per start wave; the others go on serving.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Bot, WebhookInfo
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.store.keys import Keys
from bot.store.script import LuaScript
from bot.telegram.application import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

# The mark only tells a changed secret apart (Telegram never shows it); renewed at every check, and a lost one
# costs one more setWebhook.
MARK_SECONDS = 7 * 24 * 3600
LOCK_SECONDS = 30
MAX_CONNECTIONS = 100

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class WebhookRegistration:
    """setWebhook and deleteWebhook, and the start-up check that keeps Telegram's webhook pointed at us."""

    def __init__(self, bot: Bot, redis: Redis, keys: Keys, settings: Settings) -> None:
        self._bot = bot
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._release = LuaScript(redis, _RELEASE)

    async def ensure(self) -> None:
        """At start: set the webhook unless Telegram already has this configuration (or another replica is
        checking it right now)."""
        token = await self._claim()
        if token is None:
            return
        try:
            await self._reconcile()
        finally:
            await self._unclaim(token)

    async def set(self) -> None:
        """`python -m bot set-webhook`: point Telegram at WEBHOOK_URL."""
        await self._bot.set_webhook(self._url, secret_token=self._settings.webhook_secret,
                                    allowed_updates=ALLOWED_UPDATES, max_connections=MAX_CONNECTIONS)
        await self._remember()
        logger.info("webhook set")

    async def delete(self) -> None:
        """`python -m bot delete-webhook` (and long polling, which Telegram allows only without a webhook)."""
        await self._bot.delete_webhook()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._keys.webhook)
        logger.info("webhook deleted")

    @property
    def _url(self) -> str:
        return self._settings.webhook_url or ""

    async def _claim(self) -> str | None:
        """A token when this replica is to check; None while another replica checks."""
        token = uuid.uuid4().hex
        try:
            claimed = await self._redis.set(self._keys.webhook_lock, token, nx=True, ex=LOCK_SECONDS)
        except (RedisError, OSError):
            return token  # no Redis at start: check anyway, setWebhook is idempotent
        return token if claimed else None

    async def _unclaim(self, token: str) -> None:
        # Released at once, so a restart right after this one (say, after a deleteWebhook) checks again.
        with contextlib.suppress(RedisError, OSError):
            await self._release([self._keys.webhook_lock], [token])

    async def _reconcile(self) -> None:
        info = await self._info()
        if info is not None:
            _report(info)
        reason, level = self._why_set(info, await self._marked_at())
        if reason is None:
            logger.info("webhook already registered with Telegram")
            await self._remember()
        else:
            logger.log(level, "setting the webhook: %s", reason)
            await self.set()

    async def _info(self) -> WebhookInfo | None:
        try:
            return await self._bot.get_webhook_info()
        except InvalidToken:
            raise
        except TelegramError as exc:
            logger.warning("getWebhookInfo failed (%s: %s); setting the webhook without checking",
                           type(exc).__name__, exc)
            return None

    def _why_set(self, info: WebhookInfo | None, marked_at: float | None) -> tuple[str | None, int]:
        """Why the webhook must be set (None: it need not), and how loud to say it; ``marked_at``: when this
        configuration was last set or found set (None: it is not the one recorded)."""
        ours = marked_at is not None
        if info is None:
            return "Telegram's webhook is unknown", logging.INFO
        differs = self._difference(info)
        if differs is not None:
            # Telegram lost what we had set: someone else deleted or changed it, which an operator should know.
            return differs, logging.WARNING if ours else logging.INFO
        if _refused_by_us(info, marked_at or 0.0):  # our URL, set with another secret by hand: we refuse Telegram
            return "Telegram's last delivery was refused with 403: the secret it sends is not ours", logging.WARNING
        if not ours:
            return "this configuration (URL, secret, update types) is not the one recorded as set", logging.INFO
        return None, logging.INFO

    def _difference(self, info: WebhookInfo) -> str | None:
        if not info.url:
            return "Telegram has no webhook (deleted, or the token was used for getUpdates)"
        if info.url != self._url:
            return f"Telegram's webhook points elsewhere ({_where(info.url)})"
        if set(info.allowed_updates or ()) != set(ALLOWED_UPDATES):
            return f"Telegram's webhook takes other update types ({', '.join(info.allowed_updates or ('all',))})"
        return None

    async def _marked_at(self) -> float | None:
        """When this configuration was last set or found set (None: another one was, or unknown without Redis:
        then it is set again)."""
        try:
            mark = str(await self._redis.get(self._keys.webhook) or "")
        except (RedisError, OSError):
            return None
        fingerprint, _, at = mark.partition(" ")
        if fingerprint != self._fingerprint():
            return None
        try:
            return float(at)
        except ValueError:  # a mark written before it held its time
            return 0.0

    async def _remember(self) -> None:
        """Record this configuration as set, and when (Telegram's delivery errors older than that are dealt with)."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.set(self._keys.webhook, f"{self._fingerprint()} {int(time.time())}", ex=MARK_SECONDS)

    def _fingerprint(self) -> str:
        settings = self._settings
        material = f"{settings.webhook_url}|{settings.webhook_secret}|{','.join(ALLOWED_UPDATES)}"
        return hashlib.sha256(material.encode()).hexdigest()


def _report(info: WebhookInfo) -> None:
    """Telegram's word on deliveries: its last failed one, and the updates it is holding for us."""
    problems = []
    if info.pending_update_count > 0:
        problems.append(f"{info.pending_update_count} update(s) waiting for delivery")
    if info.last_error_message:
        when = f" at {info.last_error_date:%Y-%m-%d %H:%M:%S %Z}" if info.last_error_date else ""
        problems.append(f"last delivery failed{when}: {info.last_error_message}")
    if problems:
        logger.warning("Telegram reports on the webhook: %s", "; ".join(problems))


def _refused_by_us(info: WebhookInfo, since: float) -> bool:
    """Telegram's last delivery, after ``since``, got a 403 ("Wrong response from the webhook: 403 Forbidden"): what
    this bot answers a wrong secret with (setting the webhook again costs nothing when something else refused it;
    an older 403 was there when the webhook was last set or checked, and Telegram keeps reporting it)."""
    if not info.last_error_message or "403" not in str(info.last_error_message):
        return False
    return info.last_error_date is None or info.last_error_date.timestamp() > since


def _where(url: str) -> str:
    """Where a foreign webhook points, without its path or credentials (either may hold a secret)."""
    return urlsplit(url).hostname or "an unparsable URL"
