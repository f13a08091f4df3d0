"""What a conversation consists of: turns with their token counts, the summary, the persona and model choices."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.domain.image import StoredImage, stand_in
from bot.domain.tools import ToolCall

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class ToolRound:
    """One round of tool calls inside an answer: the calls the model asked for and what each returned to it."""

    calls: tuple[ToolCall, ...]
    results: tuple[str, ...]  # one per call, in the same order

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [asdict(call) for call in self.calls], "results": list(self.results)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolRound:
        calls = tuple(ToolCall(str(c["id"]), str(c["name"]), str(c.get("arguments") or "{}")) for c in data["calls"])
        return cls(calls, tuple(str(r) for r in data["results"]))


@dataclass(frozen=True)
class Turn:
    """One stored message of a conversation, with its token count measured once when it was stored.

    A user turn may carry images (references, never bytes); ``tokens`` counts its text as ``plain`` has it, the
    images' own cost is counted where they are sent again (domain/context.py). An answer that used tools keeps
    its rounds of calls and results beside its text (``tools``, counted in its tokens); code that knows nothing
    of tools reads such a turn as the plain answer it also is.
    """

    role: Role
    content: str
    tokens: int
    name: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    images: tuple[StoredImage, ...] = ()
    tools: tuple[ToolRound, ...] = ()

    @property
    def plain(self) -> str:
        """The turn as text alone: its images as stand-ins like ``[photo: caption]``."""
        return stand_in(self.images, self.content) if self.images else self.content

    def to_json(self) -> str:
        data: dict[str, Any] = {"role": self.role, "content": self.content, "tokens": self.tokens,
                                "name": self.name, "id": self.id}
        if self.images:
            data["images"] = [image.to_dict() for image in self.images]
        if self.tools:
            data["tools"] = [step.to_dict() for step in self.tools]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Turn:
        data: dict[str, Any] = json.loads(raw)
        images = tuple(StoredImage.from_dict(image) for image in data.get("images") or ())
        return cls(role=data["role"], content=data["content"], tokens=int(data["tokens"]),
                   name=data.get("name"), id=data["id"], images=images,
                   tools=tuple(ToolRound.from_dict(step) for step in data.get("tools") or ()))


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
