"""Shared set-up of end-to-end tests: fake Bot API + fake OpenAI + real redis-server + the real bot process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.bot_process import API_KEY, TOKEN, BotProcess
from tests.fake_openai import FakeOpenAI
from tests.fake_telegram import FakeTelegram


@dataclass
class World:
    """Everything a user's message passes through."""

    telegram: FakeTelegram
    model: FakeOpenAI
    redis_url: str

    def env(self, **overrides: str) -> dict[str, str]:
        return {"TELEGRAM_API_URL": self.telegram.url, "OPENAI_BASE_URL": self.model.url,
                "REDIS_URL": self.redis_url, "STREAM_EDIT_INTERVAL": "0.3", "STREAM_GROUP_EDIT_INTERVAL": "0.6",
                **overrides}

    @contextmanager
    def bot(self, **overrides: str) -> Iterator[BotProcess]:
        with BotProcess(self.env(**overrides)) as process:
            yield process


@contextmanager
def world(redis_url: str) -> Iterator[World]:
    with FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        yield World(telegram, model, redis_url)
