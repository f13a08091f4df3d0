"""WebhookRegistration: at start the webhook is checked with Telegram and set when it is not ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import fakeredis
import pytest
from redis.asyncio import Redis
from telegram import Bot, WebhookInfo
from telegram.error import NetworkError, TelegramError

from bot.config import Settings, load_settings
from bot.ingress.webhook import WebhookRegistration
from bot.store.keys import Keys
from bot.telegram.application import ALLOWED_UPDATES

TOKEN = "123456:ABC-def_9"
URL = "https://bot.example.com/tg/hook"
KEYS = Keys("tg:123456")


class WebhookBot:
    """The three webhook methods of the Bot API, holding the webhook as Telegram does."""

    def __init__(self) -> None:
        self.info = WebhookInfo(url="", has_custom_certificate=False, pending_update_count=0)
        self.secret: str | None = None
        self.calls: list[str] = []
        self.failures: dict[str, TelegramError] = {}

    async def set_webhook(self, url: str, *, secret_token: str | None = None,
                          allowed_updates: Sequence[str] | None = None, max_connections: int | None = None) -> bool:
        await self._call("set_webhook")
        self.info = WebhookInfo(url=url, has_custom_certificate=False, pending_update_count=0,
                                allowed_updates=allowed_updates, max_connections=max_connections)
        self.secret = secret_token
        return True

    async def delete_webhook(self) -> bool:
        await self._call("delete_webhook")
        self.info = WebhookInfo(url="", has_custom_certificate=False, pending_update_count=0)
        return True

    async def get_webhook_info(self) -> WebhookInfo:
        await self._call("get_webhook_info")
        return self.info

    async def _call(self, method: str) -> None:
        await asyncio.sleep(0)  # a network round trip: other replicas run meanwhile
        self.calls.append(method)
        if method in self.failures:
            raise self.failures.pop(method)

    def count(self, method: str) -> int:
        return self.calls.count(method)


def settings(**env: str) -> Settings:
    return load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": "sk-test", "WEBHOOK_URL": URL, **env})


def registration(bot: WebhookBot, redis: Redis, config: Settings | None = None) -> WebhookRegistration:
    return WebhookRegistration(cast(Bot, bot), redis, KEYS, config or settings())


@pytest.fixture
def bot() -> WebhookBot:
    return WebhookBot()


async def test_the_first_start_sets_url_secret_and_update_types(bot: WebhookBot, redis: Redis) -> None:
    await registration(bot, redis).ensure()
    assert bot.calls == ["get_webhook_info", "set_webhook"]
    assert (bot.info.url, bot.secret, bot.info.allowed_updates) == (URL, settings().webhook_secret,
                                                                    tuple(ALLOWED_UPDATES))


async def test_a_restart_with_the_webhook_in_place_only_checks(bot: WebhookBot, redis: Redis,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    await registration(bot, redis).ensure()
    caplog.set_level(logging.INFO)
    await registration(bot, redis).ensure()
    assert (bot.count("get_webhook_info"), bot.count("set_webhook")) == (2, 1)
    assert "webhook already registered" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_webhook_deleted_behind_the_bots_back_is_set_again_with_a_warning(
        bot: WebhookBot, redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    await registration(bot, redis).ensure()
    await bot.delete_webhook()  # a laptop long-polling with the same token
    await registration(bot, redis).ensure()
    assert bot.count("set_webhook") == 2 and bot.info.url == URL
    assert warnings(caplog) == ["setting the webhook: Telegram has no webhook (deleted, or the token was used for "
                                "getUpdates)"]


async def test_a_foreign_url_is_replaced_and_logged_by_host_only(bot: WebhookBot, redis: Redis,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    await registration(bot, redis).ensure()
    await bot.set_webhook(f"https://other.example.org/bot{TOKEN}", secret_token="theirs")
    await registration(bot, redis).ensure()
    assert bot.info.url == URL and bot.secret == settings().webhook_secret
    assert warnings(caplog) == ["setting the webhook: Telegram's webhook points elsewhere (other.example.org)"]
    assert TOKEN not in caplog.text and "theirs" not in caplog.text


async def test_other_update_types_are_replaced(bot: WebhookBot, redis: Redis) -> None:
    await registration(bot, redis).ensure()
    await bot.set_webhook(URL, secret_token=settings().webhook_secret, allowed_updates=["message"])
    await registration(bot, redis).ensure()
    assert bot.info.allowed_updates == tuple(ALLOWED_UPDATES)


async def test_a_new_secret_is_set_although_telegram_shows_the_same_url(bot: WebhookBot, redis: Redis,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    await registration(bot, redis).ensure()
    rotated = settings(WEBHOOK_SECRET="rotated_secret-1")
    await registration(bot, redis, rotated).ensure()
    assert bot.secret == "rotated_secret-1"
    assert warnings(caplog) == []  # our own change, nothing went behind our back
    assert "rotated_secret-1" not in caplog.text and settings().webhook_secret not in caplog.text


async def test_replicas_starting_at_once_check_and_set_once(bot: WebhookBot, redis: Redis) -> None:
    await asyncio.gather(*(registration(bot, redis).ensure() for _ in range(3)))
    assert bot.calls == ["get_webhook_info", "set_webhook"]


async def test_the_next_wave_checks_again_at_once(bot: WebhookBot, redis: Redis) -> None:
    await asyncio.gather(*(registration(bot, redis).ensure() for _ in range(3)))
    await bot.delete_webhook()
    await registration(bot, redis).ensure()
    assert bot.info.url == URL


async def test_redis_down_at_start_still_sets_the_webhook(bot: WebhookBot) -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    down: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    bot.info = WebhookInfo(url=URL, has_custom_certificate=False, pending_update_count=0,
                           allowed_updates=ALLOWED_UPDATES)
    await registration(bot, down).ensure()  # the secret may have changed: Telegram never shows it
    assert bot.calls == ["get_webhook_info", "set_webhook"]


async def test_get_webhook_info_failing_still_sets_the_webhook(bot: WebhookBot, redis: Redis,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    bot.failures["get_webhook_info"] = NetworkError("connection reset")
    await registration(bot, redis).ensure()
    assert bot.info.url == URL
    assert warnings(caplog) == ["getWebhookInfo failed (NetworkError: connection reset); setting the webhook "
                                "without checking"]


async def test_a_failed_set_webhook_frees_the_next_start_to_try(bot: WebhookBot, redis: Redis) -> None:
    bot.failures["set_webhook"] = NetworkError("connection reset")
    with pytest.raises(NetworkError):
        await registration(bot, redis).ensure()
    await registration(bot, redis).ensure()
    assert bot.info.url == URL


async def test_telegrams_delivery_troubles_are_warnings(bot: WebhookBot, redis: Redis,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    failed = datetime(2025, 3, 1, 12, 30, 5, tzinfo=UTC)
    bot.info = WebhookInfo(url=URL, has_custom_certificate=False, pending_update_count=7,
                           allowed_updates=ALLOWED_UPDATES, last_error_date=failed,
                           last_error_message="Wrong response from the webhook: 503 Service Unavailable")
    await registration(bot, redis).ensure()
    assert warnings(caplog)[0] == ("Telegram reports on the webhook: 7 update(s) waiting for delivery; last delivery "
                                   "failed at 2025-03-01 12:30:05 UTC: Wrong response from the webhook: 503 Service "
                                   "Unavailable")


async def test_a_backlog_alone_is_a_warning_and_none_is_quiet(bot: WebhookBot, redis: Redis,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    await registration(bot, redis).ensure()
    assert warnings(caplog) == []
    bot.info = WebhookInfo(url=URL, has_custom_certificate=False, pending_update_count=2,
                           allowed_updates=ALLOWED_UPDATES)
    await registration(bot, redis).ensure()
    assert warnings(caplog) == ["Telegram reports on the webhook: 2 update(s) waiting for delivery"]


async def test_delete_forgets_the_configuration(bot: WebhookBot, redis: Redis) -> None:
    await registration(bot, redis).ensure()
    await registration(bot, redis).delete()
    bot.info = WebhookInfo(url=URL, has_custom_certificate=False, pending_update_count=0,
                           allowed_updates=ALLOWED_UPDATES)
    await registration(bot, redis).ensure()
    assert bot.count("set_webhook") == 2


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_after_set_webhook_from_a_deploy_job_replicas_only_check(bot: WebhookBot, redis: Redis) -> None:
    await registration(bot, redis).set()
    await registration(bot, redis).ensure()
    assert bot.calls == ["set_webhook", "get_webhook_info"]
