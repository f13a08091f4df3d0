"""images.generate through the adapter, against the fake OpenAI server."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from bot.errors import ImageRefused
from bot.model.openai_chat import OpenAIModel, RetryPolicy, build_client
from tests.fake_openai import TINY_PNG, FakeOpenAI


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


@pytest.fixture
async def model(fake: FakeOpenAI) -> OpenAIModel:
    async def no_wait(_: float) -> None:
        return None

    return OpenAIModel(build_client("sk-test", fake.url, 10), RetryPolicy(attempts=1), sleep=no_wait)


async def test_an_image_is_made_and_a_blocked_prompt_refused(fake: FakeOpenAI, model: OpenAIModel) -> None:
    assert await model.draw("a fox", "gpt-image-1", "1024x1024") == TINY_PNG
    fake.refused_image_words = {"forbidden"}
    with pytest.raises(ImageRefused):
        await model.draw("forbidden", "gpt-image-1", "1024x1024")
    assert await model.draw("a cat", "dall-e-3", "1024x1024") == base64.b64decode(base64.b64encode(TINY_PNG))
    assert fake.image_requests()[-1]["response_format"] == "b64_json"
    await model.aclose()
