"""Images in a conversation: what history keeps of one (a reference), what the model is sent (a data URL part),
and what an image costs in tokens by OpenAI's rule.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

NO_CAPTION = "no caption"
# OpenAI's image pricing: a flat cost, plus a cost per 512-px tile of the scaled image at high detail.
BASE_TOKENS = 85
TILE_TOKENS = 170
_FIT_SIDE, _SHORT_SIDE, _TILE = 2048, 768, 512


class Detail(enum.Enum):
    """IMAGE_DETAIL: how closely the model looks (and what an image costs)."""

    LOW = "low"
    HIGH = "high"
    AUTO = "auto"


@dataclass(frozen=True)
class StoredImage:
    """An image as history keeps it: the Telegram file id and size to download it again, never its bytes."""

    file_id: str
    size: int  # bytes
    width: int
    height: int
    caption: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredImage:
        return cls(str(data["file_id"]), int(data["size"]), int(data["width"]), int(data["height"]),
                   data.get("caption"))


@dataclass(frozen=True)
class ImagePart:
    """An image as the model is sent it: a ``data:`` URL (never a Telegram URL, which holds the bot token)."""

    url: str
    detail: Detail = Detail.AUTO


@dataclass(frozen=True)
class SeenImage:
    """An image of the turn being answered, downloaded and checked: its reference and its part."""

    stored: StoredImage
    part: ImagePart


def image_tokens(width: int, height: int, detail: Detail) -> int:
    """OpenAI's rule: low is 85 tokens; high (and auto, counted as high) 85 + 170 per 512-px tile once the image
    is scaled to fit 2048×2048 and then its short side to 768."""
    if detail is Detail.LOW or width <= 0 or height <= 0:
        return BASE_TOKENS
    scale = min(1.0, _FIT_SIDE / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, _SHORT_SIDE / min(w, h))
    w, h = w * scale, h * scale
    return BASE_TOKENS + TILE_TOKENS * math.ceil(w / _TILE) * math.ceil(h / _TILE)


def stand_in(images: Sequence[StoredImage], text: str) -> str:
    """A turn's images as text, like ``[photo: <caption or "no caption">]``, followed by the turn's text unless
    the captions already say it."""
    labels = " ".join(f"[photo: {image.caption or NO_CAPTION}]" for image in images)
    captions = "\n".join(image.caption for image in images if image.caption)
    if not text.strip() or text.strip() == captions.strip():
        return labels
    return f"{labels}\n{text}"


UNSEEN_HINT = "(You were not shown the image(s) above: if the question needs them, say that you could not see them.)"


def unseen(caption: str | None) -> str:
    """An image the model is not shown (vision off, too large, not decodable), as the model is told of it."""
    return f"[photo not shown to you: {caption}]" if caption else "[photo not shown to you]"
