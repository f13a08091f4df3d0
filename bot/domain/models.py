"""The models users may choose from (MODELS), and the resolution of a chat's stored choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelChoice:
    """A model id users may pick, with the label they see."""

    id: str
    label: str


class ModelCatalog:
    """The offered models in the operator's order; the default is OPENAI_MODEL."""

    def __init__(self, choices: Sequence[tuple[str, str]], default: str) -> None:
        self._choices = tuple(ModelChoice(model, label) for model, label in choices)
        if default not in (c.id for c in self._choices):
            raise ValueError(f"the default model {default!r} is not offered")
        self.default = default

    def __iter__(self) -> Iterator[ModelChoice]:
        return iter(self._choices)

    def __len__(self) -> int:
        return len(self._choices)

    def find(self, text: str) -> ModelChoice | None:
        """An offered model by its id or label, case-insensitively."""
        wanted = text.strip().lower()
        return next((c for c in self._choices if wanted in (c.id.lower(), c.label.lower())), None)

    def choice(self, model: str) -> ModelChoice:
        """The offered model with this id (the default's for an id no longer offered)."""
        return next((c for c in self._choices if c.id == model), None) or self.choice(self.default)

    def resolve(self, stored: str | None) -> str:
        """The model a chat's stored choice stands for: a model no longer offered means the default."""
        return stored if stored is not None and any(c.id == stored for c in self._choices) else self.default
