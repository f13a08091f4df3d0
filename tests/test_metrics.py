"""The process's metrics: the event-loop lag probe samples only while updates are handled; cost as billed."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.usage import UsageRecord
from bot.metrics import Metrics


def samples(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("bot_event_loop_lag_seconds_count") or 0.0


async def turns(count: int) -> None:
    """Let the event loop run ``count`` times round."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_the_loop_lag_probe_wakes_and_samples_only_while_updates_are_handled() -> None:
    metrics, wakes = Metrics(), []

    async def sleep(seconds: float) -> None:
        wakes.append(seconds)
        await asyncio.sleep(seconds)

    probe = asyncio.create_task(metrics.watch_loop(every=0, sleep=sleep))
    try:
        await turns(20)
        assert (samples(metrics), len(wakes)) == (0, 0)  # idle: the probe does not wake up
        metrics.handling(3)
        await turns(20)
        busy = samples(metrics)
        assert busy >= 5
        metrics.handling(0)
        woken = len(wakes)
        await turns(20)
        assert (samples(metrics), len(wakes)) == (busy, woken)
    finally:
        probe.cancel()


def test_an_idle_process_reports_no_lag_from_its_last_busy_moment() -> None:
    metrics = Metrics()
    metrics.handling(1)
    metrics.latest_loop_lag = 0.5
    assert metrics.lagging()
    metrics.handling(0)
    assert not metrics.lagging()


def test_the_cost_counter_bills_cached_tokens_at_the_cached_price() -> None:
    metrics = Metrics(models=("gpt-4o-mini",))
    metrics.tokens_used(UsageRecord(1_000_000, 0, "gpt-4o-mini", 1, cached_tokens=800_000))
    cost = metrics.registry.get_sample_value("bot_cost_usd_total", {"model": "gpt-4o-mini"})
    assert cost == pytest.approx(0.09)  # 200k at $0.15 + 800k at $0.075 per 1M, as /usage bills them
    cached = metrics.registry.get_sample_value("bot_tokens_total", {"model": "gpt-4o-mini", "direction": "cached"})
    assert cached == 800_000
