"""How a turn ended: an answer that reached the user (Ending), or none at all (Failure)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass


class Ending(enum.Enum):
    """How an answer that reached the user ended."""

    COMPLETE = "complete"
    LENGTH = "length"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"


class Failure(enum.Enum):
    """Why no answer could be given."""

    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    MISCONFIGURED = "misconfigured"
    EMPTY = "empty"
    FLAGGED = "flagged"
    MODERATION_UNAVAILABLE = "moderation_unavailable"
    USER_BUDGET = "user_budget"
    CHAT_BUDGET = "chat_budget"
    NOT_HEARD = "not_heard"  # the transcription failed
    NOTHING_HEARD = "nothing_heard"  # it worked, and heard no words
    FILE_TOO_LARGE = "file_too_large"  # over the Bot API's 20 MB download limit
    FILE_UNAVAILABLE = "file_unavailable"  # Telegram did not give the file


@dataclass(frozen=True)
class Delivery:
    """An answer generated and stored: what the user is to see, exactly, however often it must be shown. ``seen``
    is set when delivering it was given up: the part of the answer the user sees instead ("" for nothing)."""

    text: str
    ending: Ending
    seen: str | None = None

    def to_json(self) -> str:
        data: dict[str, str] = {"text": self.text, "ending": self.ending.value}
        if self.seen is not None:
            data["seen"] = self.seen
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> Delivery | None:
        """The stored delivery; None when there is none (or an older marker without one)."""
        try:
            data = json.loads(raw) if raw else None
            if not isinstance(data, dict):
                return None
            seen = data.get("seen")
            return cls(str(data["text"]), Ending(data["ending"]), None if seen is None else str(seen))
        except (ValueError, KeyError):
            return None
