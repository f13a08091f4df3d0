"""Speech to text against the fake model server over real HTTP: the multipart upload, usage, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.domain.ports import Recording, Usage
from bot.errors import ModelRejected, ModelUnavailable
from bot.model.openai_chat import OpenAIModel, RetryPolicy, build_client
from bot.model.transcription import content_type
from tests.fake_openai import FakeOpenAI
from tests.fake_openai_audio import Transcript

VOICE = Recording(b"OggS\x00fake-opus", "voice.ogg", 3)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-test") as server:
        yield server


@pytest.fixture
async def model(fake: FakeOpenAI) -> AsyncIterator[OpenAIModel]:
    async def no_wait(_: float) -> None:
        return None

    adapter = OpenAIModel(build_client("sk-test", fake.url, 10), RetryPolicy(attempts=2), sleep=no_wait)
    yield adapter
    await adapter.aclose()


async def test_the_recording_is_uploaded_as_a_file_named_for_its_format_with_the_model(
        fake: FakeOpenAI, model: OpenAIModel) -> None:
    fake.audio.script("Buy milk and eggs.")
    heard = await model.transcribe(VOICE, "gpt-4o-mini-transcribe")
    assert (heard.text, heard.usage) == ("Buy milk and eggs.", None)
    (upload,) = fake.audio.uploads
    assert (upload.filename, upload.content_type, upload.data, upload.model) == (
        "voice.ogg", "audio/ogg", VOICE.data, "gpt-4o-mini-transcribe")


async def test_token_usage_is_read_when_the_server_reports_it(fake: FakeOpenAI, model: OpenAIModel) -> None:
    fake.audio.script(Transcript("Hi.", input_tokens=52, output_tokens=3))
    heard = await model.transcribe(VOICE, "gpt-4o-transcribe")
    assert heard.usage == Usage(52, 3)


async def test_the_length_is_read_when_the_server_reports_it(fake: FakeOpenAI, model: OpenAIModel) -> None:
    fake.audio.script(Transcript("Hi.", seconds=12.6), "No usage.")
    heard = await model.transcribe(VOICE, "whisper-1")
    assert (heard.usage, heard.seconds) == (None, 12.6)
    assert (await model.transcribe(VOICE, "whisper-1")).seconds is None


async def test_a_server_error_is_retried_then_becomes_our_error(fake: FakeOpenAI, model: OpenAIModel) -> None:
    fake.audio.script(500, "Second time lucky.")
    assert (await model.transcribe(VOICE, "whisper-1")).text == "Second time lucky."
    fake.audio.script(503, 503)
    with pytest.raises(ModelUnavailable):
        await model.transcribe(VOICE, "whisper-1")
    fake.audio.script(400)
    with pytest.raises(ModelRejected):
        await model.transcribe(VOICE, "whisper-1")
    assert len(fake.audio.uploads) == 5  # a 400 is not retried


@pytest.mark.parametrize(("name", "expected"), [
    ("voice.ogg", "audio/ogg"), ("song.MP3", "audio/mpeg"), ("memo.m4a", "audio/mp4"), ("note.mp4", "video/mp4"),
    ("take.flac", "audio/flac"), ("clip.webm", "audio/webm"), ("a.wav", "audio/wav"),
    ("noextension", "application/octet-stream"),
])
def test_the_content_type_follows_the_extension(name: str, expected: str) -> None:
    assert content_type(name) == expected
