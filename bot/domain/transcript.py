"""What a conversation consists of: turns with their token counts, the summary, the persona and model choices."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.domain.image import StoredImage, stand_in

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    """One stored message of a conversation, with its token count measured once when it was stored.

    A user turn may carry images (references, never bytes); ``tokens`` counts its text as ``plain`` has it, the
    images' own cost is counted where they are sent again (domain/context.py).
    """

    role: Role
    content: str
    tokens: int
    name: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    images: tuple[StoredImage, ...] = ()

    @property
    def plain(self) -> str:
        """The turn as text alone: its images as stand-ins like ``[photo: caption]``."""
        return stand_in(self.images, self.content) if self.images else self.content

    def to_json(self) -> str:
        data = asdict(self)
        data["images"] = [image.to_dict() for image in self.images]
        if not data["images"]:
            del data["images"]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Turn:
        data: dict[str, Any] = json.loads(raw)
        images = tuple(StoredImage.from_dict(image) for image in data.get("images") or ())
        return cls(role=data["role"], content=data["content"], tokens=int(data["tokens"]),
                   name=data.get("name"), id=data["id"], images=images)


@dataclass(frozen=True)
class Summary:
    """The running summary of the turns folded out of the history."""

    text: str
    tokens: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> Summary | None:
        if raw is None:
            return None
        data = json.loads(raw)
        return cls(text=data["text"], tokens=int(data["tokens"]))


@dataclass(frozen=True)
class Transcript:
    """What the store knows of one chat."""

    turns: tuple[Turn, ...] = ()
    summary: Summary | None = None
    persona: str | None = None
    model: str | None = None  # the chat's /model choice, if it made one

    @property
    def history_tokens(self) -> int:
        return sum(t.tokens for t in self.turns) + (self.summary.tokens if self.summary else 0)
