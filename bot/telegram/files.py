"""Telegram files by file id: getFile, then ``{TELEGRAM_API_URL}/file/bot<token>/<file_path>``, at most 20 MB.

The download URL holds the bot token, so it stays inside this module: errors name what failed, never the URL,
and are raised without the foreign exception as their cause (aiohttp's messages quote the URL).
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass

import aiohttp
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.errors import FileNotFound, FileTooLarge, FileUnavailable

logger = logging.getLogger(__name__)

# The Bot API lets bots download files of up to 20 MB (larger ones need a local Bot API server).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 60.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file: its bytes, the path Telegram stores it under (no token in it), its type by extension."""

    data: bytes
    file_path: str
    mime_type: str | None

    @property
    def size(self) -> int:
        return len(self.data)


class TelegramFiles:
    """Downloads files the bot was sent; one HTTP session for the life of the process (``aclose`` ends it)."""

    def __init__(self, bot: Bot, *, limit: int = MAX_DOWNLOAD_BYTES,
                 timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS) -> None:
        self._bot = bot
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=min(10.0, timeout_seconds))
        self._session: aiohttp.ClientSession | None = None

    @property
    def limit(self) -> int:
        return self._limit

    async def download(self, file_id: str, size: int | None = None) -> Downloaded:
        """The file's bytes; ``size`` (as the message reported it) lets an oversized file be refused at once."""
        self._check_size(size)
        file_path, reported = await self._locate(file_id)
        self._check_size(reported)
        data = await self._fetch(file_path)
        return Downloaded(data, file_path, mimetypes.guess_type(file_path)[0])

    async def aclose(self) -> None:
        """Close the download session (safe to call more than once)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _check_size(self, size: int | None) -> None:
        if size is not None and size > self._limit:
            raise FileTooLarge(size, self._limit)

    async def _locate(self, file_id: str) -> tuple[str, int | None]:
        """getFile: the file's path on the Bot API's file server and its size."""
        try:
            found = await self._bot.get_file(file_id)
        except BadRequest as exc:
            raise _refusal(exc.message, self._limit) from None
        except TelegramError as exc:
            raise FileUnavailable(f"getFile failed: {type(exc).__name__}") from None
        prefix = f"{self._bot.base_file_url}/"
        if not found.file_path or not found.file_path.startswith(prefix):
            raise FileUnavailable("getFile gave no downloadable path")
        return found.file_path.removeprefix(prefix), found.file_size

    async def _fetch(self, file_path: str) -> bytes:
        session = self._session = self._session or aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with session.get(f"{self._bot.base_file_url}/{file_path}", allow_redirects=False) as response:
                if response.status == 404:
                    raise FileNotFound("the file server does not have the file")
                if response.status != 200:
                    raise FileUnavailable(f"the file server answered HTTP {response.status}")
                self._check_size(response.content_length)
                return await self._read(response.content)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise FileUnavailable(f"the download failed: {type(exc).__name__}") from None

    async def _read(self, body: aiohttp.StreamReader) -> bytes:
        """The body, given up as soon as it passes the limit (a server may not say the size beforehand)."""
        data = bytearray()
        async for chunk in body.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > self._limit:
                raise FileTooLarge(None, self._limit)
        return bytes(data)


def _refusal(description: str, limit: int) -> FileTooLarge | FileNotFound | FileUnavailable:
    """getFile's 400s: "file is too big", "invalid file_id", "wrong file_id or the file is temporarily unavailable"."""
    lowered = description.lower()
    if "too big" in lowered:
        return FileTooLarge(None, limit)
    if "file_id" in lowered or "file id" in lowered:
        return FileNotFound("getFile does not know the file id")
    return FileUnavailable("getFile refused the file")
