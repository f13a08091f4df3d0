"""The model adapter loaded after start-up: the start path never imports the SDK, the first call waits for it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.domain.ports import ChatMessage, ModelRequest
from bot.metrics import Metrics
from bot.model.deferred import DeferredModel
from tests.bot_process import base_environment
from tests.fake_openai import FakeOpenAI, Reply

ASK = ModelRequest((ChatMessage("user", "hello"),), "gpt-4o-mini", 0.5, 100)

# Builds everything `python -m bot` builds before it serves, then says which heavy modules are loaded.
_START_PATH = """
import asyncio, sys
from bot.wiring import build_runtime
from bot.config import load_settings
from bot.domain.personas import PersonaCatalog

env = {"TELEGRAM_BOT_TOKEN": "123456:TEST-token_abcdefghijklmnop", "OPENAI_API_KEY": "sk-test",
       "REDIS_URL": "redis://127.0.0.1:9/0", "WEBHOOK_URL": "https://bot.example.test/hook"}

async def main():
    runtime = build_runtime(load_settings(env), PersonaCatalog.load())
    print(" ".join(name for name in ("openai", "bot.model.openai_chat") if name in sys.modules))
    runtime.model.load()
    await runtime.model.aclose()
    print(" ".join(name for name in ("openai", "bot.model.openai_chat") if name in sys.modules))

asyncio.run(main())
"""


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


def deferred(fake: FakeOpenAI, preloaded: list[str]) -> DeferredModel:
    return DeferredModel("sk-test", fake.url, 10, Metrics(), preload=lambda: preloaded.append("encoding"))


def test_building_the_process_does_not_import_the_sdk_until_load() -> None:
    done = subprocess.run([sys.executable, "-c", _START_PATH], env=base_environment(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["", "openai bot.model.openai_chat"]


async def test_a_call_before_load_loads_the_adapter_and_answers(fake: FakeOpenAI) -> None:
    fake.script(Reply("Hello there"))
    preloaded: list[str] = []
    model = deferred(fake, preloaded)
    stream = await model.stream(ASK)
    assert "".join([piece async for piece in stream]) == "Hello there"
    assert preloaded == ["encoding"]
    await model.aclose()


async def test_calls_share_one_load_and_a_cancelled_caller_does_not_cancel_it(fake: FakeOpenAI) -> None:
    fake.script(Reply("one"), Reply("two"))
    preloaded: list[str] = []
    model = deferred(fake, preloaded)
    model.load()
    cancelled = asyncio.create_task(model.complete(ASK))
    await asyncio.sleep(0)
    cancelled.cancel()
    text, _ = await model.complete(ASK)
    assert cancelled.cancelled()
    assert (text, len(fake.chat_requests())) == ("one", 1)
    assert preloaded == ["encoding"]
    await model.aclose()


async def test_closing_a_model_never_loaded_loads_nothing(fake: FakeOpenAI) -> None:
    preloaded: list[str] = []
    model = deferred(fake, preloaded)
    await model.aclose()
    assert preloaded == []
    assert fake.chat_requests() == []


async def test_a_load_that_fails_fails_every_call_is_logged_once_and_closing_still_works(
        fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("no encoding")

    model = DeferredModel("sk-test", fake.url, 10, Metrics(), preload=broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await model.complete(ASK)
    await model.aclose()
    assert [r.levelname for r in caplog.records if "could not be loaded" in r.getMessage()] == ["ERROR"]
    assert fake.chat_requests() == []
