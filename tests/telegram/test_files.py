"""Files by file id from the fake Bot API: getFile, then the download; limits and errors as our own types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot

from bot.errors import FileNotFound, FileTooLarge, FileUnavailable
from bot.telegram.files import TelegramFiles
from tests.fake_telegram import FakeTelegram

TOKEN = "4242:FILES-token_abcdefghij"


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, base_url=f"{telegram.url}/bot", base_file_url=f"{telegram.url}/file/bot")
    async with bot:
        yield bot


async def downloaded(bot: Bot, file_id: str, size: int | None = None, limit: int | None = None) -> bytes:
    files = TelegramFiles(bot) if limit is None else TelegramFiles(bot, limit=limit)
    try:
        return (await files.download(file_id, size)).data
    finally:
        await files.aclose()


async def test_a_file_is_downloaded_by_its_id(telegram: FakeTelegram, bot: Bot) -> None:
    file_id = telegram.add_file(b"\x89PNG fake bytes", file_path="photos/file_7.png")
    files = TelegramFiles(bot)
    try:
        got = await files.download(file_id)
    finally:
        await files.aclose()
    assert (got.data, got.file_path, got.mime_type, got.size) == (b"\x89PNG fake bytes", "photos/file_7.png",
                                                                   "image/png", 15)
    assert "photos/file_7.png" in telegram.downloads


async def test_an_unknown_file_id_is_a_clear_error_without_the_token(bot: Bot) -> None:
    with pytest.raises(FileNotFound) as caught:
        await downloaded(bot, "no-such-file")
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None


async def test_a_file_over_the_limit_is_refused_before_downloading(telegram: FakeTelegram, bot: Bot) -> None:
    stated = telegram.add_file(b"small", file_path="documents/stated.bin")
    with pytest.raises(FileTooLarge):
        await downloaded(bot, stated, size=21 * 1024 * 1024)
    reported = telegram.add_file(b"x" * 100, file_path="documents/reported.bin", file_size=30 * 1024 * 1024)
    with pytest.raises(FileTooLarge):  # getFile itself refuses files over 20 MB
        await downloaded(bot, reported)
    assert not {"documents/stated.bin", "documents/reported.bin"} & set(telegram.downloads)


async def test_a_body_longer_than_the_limit_is_cut_off_while_reading(telegram: FakeTelegram, bot: Bot) -> None:
    unsized = telegram.add_file(b"y" * 5000, file_path="documents/unsized.bin", file_size=None)
    with pytest.raises(FileTooLarge):
        await downloaded(bot, unsized, limit=1000)
    assert await downloaded(bot, unsized, limit=5000) == b"y" * 5000


async def test_a_file_server_that_cannot_be_reached_is_unavailable_without_the_url(telegram: FakeTelegram) -> None:
    file_id = telegram.add_file(b"data")
    bot = Bot(TOKEN, base_url=f"{telegram.url}/bot", base_file_url="http://127.0.0.1:9/file/bot")
    async with bot:
        with pytest.raises(FileUnavailable) as caught:
            await downloaded(bot, file_id)
    assert TOKEN not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
