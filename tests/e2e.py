"""Shared set-up of end-to-end tests: fake Bot API + fake OpenAI + real redis-server + the real bot process."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from redis import Redis
from redis.sentinel import Sentinel

from bot.store.address import SentinelAddress, is_sentinel
from bot.store.keys import Keys
from tests.bot_process import API_KEY, TOKEN, WEBHOOK_PATH, BotProcess
from tests.fake_openai import FakeOpenAI
from tests.fake_telegram import FakeTelegram

KEYS = Keys(f"tg:{TOKEN.split(':')[0]}")  # the bot's own prefix (tg:<bot id>)


@dataclass
class World:
    """Everything a user's message passes through."""

    telegram: FakeTelegram
    model: FakeOpenAI
    redis_url: str
    store: Redis = field(init=False)

    def __post_init__(self) -> None:
        self.store = store_client(self.redis_url)

    def env(self, **overrides: str) -> dict[str, str]:
        return {"TELEGRAM_API_URL": self.telegram.url, "OPENAI_BASE_URL": self.model.url,
                "REDIS_URL": self.redis_url, "STREAM_EDIT_INTERVAL": "0.3", "STREAM_GROUP_EDIT_INTERVAL": "0.6",
                **overrides}

    @contextmanager
    def bot(self, **overrides: str) -> Iterator[BotProcess]:
        with BotProcess(self.env(**overrides)) as process:
            yield process

    @contextmanager
    def bots(self, count: int, **overrides: str) -> Iterator[list[BotProcess]]:
        """``count`` replicas started at the same moment (all launched, then all waited for)."""
        replicas = [BotProcess(self.env(**overrides)) for _ in range(count)]
        with ExitStack() as stack:
            for replica in replicas:
                stack.push(replica.__exit__)
                replica.launch()
            for replica in replicas:
                replica.wait_healthy()
            stack.callback(_stop_together, replicas)
            yield replicas

    def unacknowledged(self) -> int:
        """Updates in the stream not yet fully handled (an acknowledged entry is deleted)."""
        return int(self.store.xlen(KEYS.stream))

    def recorded_messages(self, update_id: int) -> str:
        """The message ids Redis holds for an answer in flight (what a replica taking it over would edit)."""
        return str(self.store.hget(KEYS.reply(update_id), "messages") or "")


def store_client(url: str) -> Redis:
    """The test's own client of the bot's store: the master, when REDIS_URL names Sentinel."""
    if not is_sentinel(url):
        return Redis.from_url(url, decode_responses=True)
    address = SentinelAddress.parse(url)
    sentinel = Sentinel(address.sentinels, socket_timeout=1)  # type: ignore[no-untyped-call]
    master: Redis = sentinel.master_for(address.service, db=address.db,  # type: ignore[no-untyped-call]
                                        decode_responses=True)
    return master


def _stop_together(replicas: list[BotProcess]) -> None:
    """SIGTERM to every replica at once, then wait for each (as an orchestrator stops a deployment)."""
    running = [r.process for r in replicas if r.process is not None and r.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    for process in running:
        process.wait(timeout=30)


class Connection:
    """One keep-alive connection to the webhook, as Telegram holds it; fails the test if it is ever replaced."""

    def __init__(self, bot: BotProcess) -> None:
        self._client = httpx.Client(base_url=f"http://127.0.0.1:{bot.port}", timeout=10,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": bot.secret,
                                             "Content-Type": "application/json"})
        self._local: object = None

    def post(self, body: dict[str, Any] | str | bytes) -> int:
        content = json.dumps(body) if isinstance(body, dict) else body
        response = self._client.post(WEBHOOK_PATH, content=content)
        local = response.extensions["network_stream"].get_extra_info("client_addr")
        assert self._local in (None, local), "the server closed the connection"
        self._local = local
        return response.status_code

    def close(self) -> None:
        self._client.close()


@contextmanager
def world(redis_url: str) -> Iterator[World]:
    with FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        w = World(telegram, model, redis_url)
        try:
            yield w
        finally:
            w.store.close()
