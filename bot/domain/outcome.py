"""How a turn ended: an answer that reached the user (Ending), or none at all (Failure)."""

from __future__ import annotations

import enum


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
