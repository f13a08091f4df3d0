"""Small images made by code, for tests of what the bot does with pictures."""

from __future__ import annotations

import base64
import io

from PIL import Image


def picture(width: int = 64, height: int = 48, fmt: str = "JPEG", color: tuple[int, int, int] = (200, 30, 30),
            frames: int = 1) -> bytes:
    """An image of one colour (``frames`` > 1: an animated GIF whose frames get darker)."""
    out = io.BytesIO()
    first = Image.new("RGB", (width, height), color)
    if frames > 1:
        rest = [Image.new("RGB", (width, height), tuple(c // (n + 2) for c in color)) for n in range(frames - 1)]
        first.save(out, "GIF", save_all=True, append_images=rest, duration=100, loop=0)
    else:
        first.save(out, fmt)
    return out.getvalue()


def data_url(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def decoded(url: str) -> Image.Image:
    """The image a data: URL holds."""
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
