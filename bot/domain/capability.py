"""What a model cannot do (learned from its server's refusals), as values the request is shaped by."""

from __future__ import annotations

import enum


class Limit(enum.Enum):
    """One thing a model was learnt not to take, or (REASONS) to be a reasoning model."""

    IMAGES = "images"
    TOOLS = "tools"
    TEMPERATURE = "temperature"  # sent without a temperature
    MAX_TOKENS = "max_tokens"  # sent max_completion_tokens instead
    REASONS = "reasons"  # thinks before its first token: "💭 Thinking…" meanwhile

    @classmethod
    def of_parameter(cls, name: str) -> Limit | None:
        """The limit a 400 naming this request parameter teaches."""
        return {"temperature": cls.TEMPERATURE, "max_tokens": cls.MAX_TOKENS, "tools": cls.TOOLS,
                "tool_choice": cls.TOOLS}.get(name)


def is_reasoning(limits: frozenset[Limit]) -> bool:
    """A model that refuses a sampling parameter (temperature, or max_tokens for max_completion_tokens: what
    reasoning models refuse), or spent reasoning tokens, thinks before it answers."""
    return bool(limits & {Limit.REASONS, Limit.TEMPERATURE, Limit.MAX_TOKENS})
