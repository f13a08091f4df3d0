"""Images users send, made ready for the model: downloaded by file id, decoded and measured with Pillow, and
sent as a base64 ``data:`` URL — a JPEG, PNG, WebP or still GIF as it came, anything else (a GIF's or an animated
WebP's first frame, an image over 2048 px or 4 MB) drawn again as PNG or JPEG.
"""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from bot.domain.attachment import Attachment
from bot.domain.image import Detail, ImagePart, SeenImage, StoredImage
from bot.errors import FileNotFound, ImageUnreadable
from bot.telegram.files import TelegramFiles

MAX_SIDE = 2048
# Larger files are drawn again as JPEG (or PNG): a request carries each image in base64, a third larger.
MAX_AS_IT_IS_BYTES = 4 * 1024 * 1024
_AS_THEY_ARE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_JPEG_QUALITY = 90


@dataclass(frozen=True)
class Prepared:
    """An image as the model is sent it, and its size in pixels as it was sent."""

    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


class Images:
    """Downloads images by file id and prepares them; also the domain's ImageSource for earlier turns' images."""

    def __init__(self, files: TelegramFiles, detail: Detail) -> None:
        self._files = files
        self._detail = detail

    async def seen(self, attachment: Attachment) -> SeenImage:
        """An attachment of the turn being answered (raises FileError or ImageUnreadable)."""
        if attachment.file_id is None:
            raise FileNotFound("the attachment has no file")
        downloaded = await self._files.download(attachment.file_id, attachment.size)
        prepared = await asyncio.to_thread(prepare, downloaded.data)
        stored = StoredImage(attachment.file_id, downloaded.size, prepared.width, prepared.height, attachment.caption)
        return SeenImage(stored, ImagePart(prepared.data_url, self._detail))

    async def part(self, image: StoredImage) -> ImagePart:
        """An earlier turn's image, downloaded again by its file id."""
        downloaded = await self._files.download(image.file_id, image.size)
        prepared = await asyncio.to_thread(prepare, downloaded.data)
        return ImagePart(prepared.data_url, self._detail)


def prepare(data: bytes) -> Prepared:
    """The image the model can read (raises ImageUnreadable for bytes that do not decode as an image)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _as_it_is(data, image) or _redrawn(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise ImageUnreadable(f"not a readable image: {type(exc).__name__}") from exc


def _as_it_is(data: bytes, image: Image.Image) -> Prepared | None:
    mime = _AS_THEY_ARE.get(image.format or "")
    if (mime is None or getattr(image, "is_animated", False) or max(image.size) > MAX_SIDE
            or len(data) > MAX_AS_IT_IS_BYTES):
        return None
    return Prepared(data, mime, *image.size)


def _redrawn(image: Image.Image) -> Prepared:
    """The first frame, fitted into MAX_SIDE: PNG when it has transparency, else JPEG."""
    image.seek(0)
    frame = image.copy()
    frame.thumbnail((MAX_SIDE, MAX_SIDE))
    transparent = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
    out = io.BytesIO()
    if transparent:
        frame.convert("RGBA").save(out, "PNG", optimize=True)
        return Prepared(out.getvalue(), "image/png", *frame.size)
    frame.convert("RGB").save(out, "JPEG", quality=_JPEG_QUALITY)
    return Prepared(out.getvalue(), "image/jpeg", *frame.size)
