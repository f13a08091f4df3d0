"""What /stats shows operators: the whole bot's users, chats, turns, tokens and errors over a day or a month."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.outcome import Failure
from bot.domain.usage import ModelTokens

BUDGET_FAILURES = (Failure.USER_BUDGET, Failure.CHAT_BUDGET)
MODEL_FAILURES = (Failure.UNAVAILABLE, Failure.REJECTED, Failure.MISCONFIGURED, Failure.EMPTY)


def failed(failure: Failure) -> str:
    """The outcome of a turn that failed so (as TurnResult.outcome names it)."""
    return f"failed:{failure.value}"


@dataclass(frozen=True)
class PeriodStats:
    """One day's or month's counts."""

    users: int = 0
    chats: int = 0
    turns: Mapping[str, int] = field(default_factory=dict)  # by outcome: "complete", "failed:user_budget", …
    tokens: tuple[ModelTokens, ...] = ()
    errors: int = 0  # updates whose handling raised

    @property
    def budget_refusals(self) -> int:
        return sum(self.turns.get(failed(f), 0) for f in BUDGET_FAILURES)

    @property
    def model_errors(self) -> int:
        return sum(self.turns.get(failed(f), 0) for f in MODEL_FAILURES)


@dataclass(frozen=True)
class BotStats:
    """Today and this month (UTC)."""

    today: PeriodStats
    month: PeriodStats
