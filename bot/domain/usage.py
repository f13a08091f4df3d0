"""Token accounting in plain values: usage records, daily budgets, reservations, spending and prices."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.transcript import Turn


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens: input, output, and input read from the provider's prompt cache."""

    input: float
    output: float
    cached_input: float


# USD per 1M tokens (input, output, cached input) from OpenAI's pricing page, https://openai.com/api/pricing/,
# as of 2025-08-07. Cached input is a repeated prompt prefix the provider bills at a fraction of the input price;
# models without prompt caching bill it as input.
PRICES_AS_OF = "2025-08-07"
BUILTIN_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "gpt-4-turbo": Price(10.00, 30.00, 10.00),
    "gpt-3.5-turbo": Price(0.50, 1.50, 0.50),
}
# USD per minute of audio, as OpenAI publishes it for its transcription models.
BUILTIN_MINUTE_PRICES: dict[str, float] = {
    "gpt-4o-mini-transcribe": 0.003,
    "gpt-4o-transcribe": 0.006,
    "whisper-1": 0.006,
}

# MODEL_PRICES entries: model, input, output, cached input (None: billed as input).
PriceOverride = tuple[str, float, float, float | None]


@dataclass(frozen=True)
class UsageRecord:
    """Tokens one model call used, charged to a chat and (unless a summary) a user."""

    prompt_tokens: int
    completion_tokens: int
    model: str
    user_id: int | None = None
    seconds: int = 0  # of audio, for transcriptions
    cached_tokens: int = 0  # of prompt_tokens, read from the provider's prompt cache

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Budgets:
    """Daily token budgets (0 = unlimited) and who is exempt."""

    per_user: int = 0
    per_chat: int = 0
    exempt_users: frozenset[int] = frozenset()


@dataclass(frozen=True)
class BudgetLeft:
    """A daily budget that holds a user or chat: its limit and what is spent of it today."""

    kind: str  # "user" or "chat"
    budget: int
    spent: int

    @property
    def left(self) -> int:
        return max(0, self.budget - self.spent)


# How many of a chat's latest replies predict the next one's length.
RECENT_REPLIES = 3


@dataclass
class Reservation:
    """A turn's estimated tokens, counted as running on the budgets that apply to it until it is settled."""

    tokens: int
    keys: list[str] = field(default_factory=list)
    refused: str | None = None  # "user" or "chat" when the budget has no room for the estimate
    turn: str = field(default_factory=lambda: uuid.uuid4().hex)  # a replica taking the turn over reuses it


@dataclass(frozen=True)
class ModelTokens:
    """Tokens in and out of one model over a period (and seconds of audio, for transcription models)."""

    model: str
    prompt: int
    completion: int
    seconds: int = 0
    cached: int = 0  # of prompt


@dataclass(frozen=True)
class Spending:
    """Usage of one user or chat today and this month."""

    today: tuple[ModelTokens, ...]
    month: tuple[ModelTokens, ...]


class PriceTable:
    """USD per 1M tokens by model, the built-in table overridden by MODEL_PRICES; USD per minute of audio for
    transcription models (they are priced by the minute, whatever tokens they report)."""

    def __init__(self, overrides: Iterable[PriceOverride] = (),
                 minute_overrides: Iterable[tuple[str, float]] = ()) -> None:
        self._prices = dict(BUILTIN_PRICES) | {
            model: Price(i, o, i if cached is None else cached) for model, i, o, cached in overrides}
        self._minute_prices = dict(BUILTIN_MINUTE_PRICES) | dict(minute_overrides)

    def cost(self, usage: Sequence[ModelTokens]) -> float | None:
        """USD as billed (cached input at its own price); None when a model of the usage has no price."""
        total = 0.0
        for item in usage:
            cost = self._cost(item)
            if cost is None:
                return None
            total += cost
        return total

    def _cost(self, item: ModelTokens) -> float | None:
        if item.model in self._minute_prices:
            return item.seconds / 60 * self._minute_prices[item.model]
        price = self.price(item.model)
        if price is None:
            return None
        cached = min(item.cached, item.prompt)
        return ((item.prompt - cached) * price.input + cached * price.cached_input
                + item.completion * price.output) / 1_000_000

    def price(self, model: str) -> Price | None:
        """The model's price, a dated name ("gpt-4o-mini-2024-07-18") priced as its base model."""
        if model in self._prices:
            return self._prices[model]
        dated = model.rsplit("-", 3)[0]
        return self._prices.get(dated)


def reply_estimate(turns: Sequence[Turn], max_tokens: int) -> int:
    """Tokens the next reply will likely take: the longest of the chat's latest replies, at most MAX_REPLY_TOKENS.

    A chat without replies yet is assumed to need the most a reply may take.
    """
    recent: list[int] = []
    for turn in reversed(turns):
        if turn.role == "assistant":
            recent.append(turn.tokens)
            if len(recent) == RECENT_REPLIES:
                break
    return min(max(recent, default=max_tokens), max_tokens)


def next_midnight(now: datetime) -> datetime:
    """When the daily budgets start afresh: the UTC midnight after ``now``."""
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
