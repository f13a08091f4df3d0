"""/stats as operators read it: each model's tokens, or images, and their cost as billed."""

from __future__ import annotations

from bot.domain.stats import BotStats, PeriodStats
from bot.domain.usage import ModelTokens, PriceTable
from bot.telegram.operators import stats_text


def test_stats_prices_images_by_the_image_and_tokens_by_the_million() -> None:
    today = PeriodStats(1, 1, {"complete": 1}, (ModelTokens("gpt-4o-mini", 1_000_000, 10, cached=800_000),
                                                 ModelTokens("gpt-image-1", 0, 0, images=2)))
    text = stats_text(BotStats(today, today), PriceTable())
    assert text.startswith("Today (UTC): 1 user · 1 chat\nTurns: 1 — answered 1\n")
    assert "• gpt-4o-mini: 1,000,000 in (800,000 cached) · 10 out · ≈ $0.09\n" in text
    assert "• gpt-image-1: 2 images · ≈ $0.08\n" in text
