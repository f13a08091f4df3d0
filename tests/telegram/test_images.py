"""Images made ready for the model: kept as they came when the model reads them so, else drawn again."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.errors import ImageUnreadable
from bot.telegram.images import prepare
from tests.pictures import picture


def test_a_jpeg_png_or_webp_within_2048_px_goes_as_it_came() -> None:
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
        data = picture(300, 200, fmt)
        prepared = prepare(data)
        assert (prepared.data, prepared.mime_type, prepared.width, prepared.height) == (data, mime, 300, 200)


def test_an_animated_gif_goes_as_its_first_frame() -> None:
    prepared = prepare(picture(40, 30, frames=4, color=(250, 250, 250)))
    image = Image.open(io.BytesIO(prepared.data))
    assert getattr(image, "n_frames", 1) == 1 and image.size == (40, 30)
    red, _, _ = image.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
    assert red > 200  # the first, brightest frame


def test_a_large_image_is_scaled_to_fit_2048_px() -> None:
    prepared = prepare(picture(4096, 1024, "PNG"))
    assert (prepared.width, prepared.height, prepared.mime_type) == (2048, 512, "image/jpeg")
    assert prepared.data_url.startswith("data:image/jpeg;base64,")


def test_bytes_that_are_no_image_are_unreadable() -> None:
    for data in (b"", b"GIF89a not really", picture(50, 50, "PNG")[:60]):
        with pytest.raises(ImageUnreadable):
            prepare(data)
