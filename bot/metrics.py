"""Prometheus metrics of one process, in their own registry (built in app.py and passed down)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

# Over this event-loop lag a replica takes no new updates until it catches up (the p99 target of bench.load).
BUSY_LOOP_LAG_SECONDS = 0.05
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)


class Metrics:
    """Every metric the bot exposes on /metrics."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.updates_received = Counter("bot_updates_received", "Updates received (webhook or polling)",
                                        registry=registry)
        self.updates_duplicate = Counter("bot_updates_duplicate", "Updates dropped as already seen",
                                         registry=registry)
        self.turns = Counter("bot_turns", "Turns by outcome", ["outcome"], registry=registry)
        self.first_text = Histogram("bot_first_text_seconds", "Time from the turn's start to the first visible text",
                                    buckets=_LATENCY, registry=registry)
        self.turn_duration = Histogram("bot_turn_seconds", "Duration of a whole turn", buckets=_LATENCY,
                                       registry=registry)
        self.model_errors = Counter("bot_model_errors", "Failed model calls by kind", ["kind"], registry=registry)
        self.telegram_429 = Counter("bot_telegram_flood_waits", "Telegram 429 (RetryAfter) answers",
                                    registry=registry)
        self.tokens = Counter("bot_tokens", "Model tokens", ["direction"], registry=registry)
        self.summaries = Counter("bot_summaries", "Summaries by result", ["result"], registry=registry)
        self.tool_calls = Counter("bot_tool_calls", "Tool calls by tool and outcome (ok, error, timeout, unknown)",
                                  ["tool", "outcome"], registry=registry)
        self.tool_latency = Histogram("bot_tool_seconds", "Duration of a tool call", ["tool"], buckets=_LATENCY,
                                      registry=registry)
        self.streams_in_flight = Gauge("bot_streams_in_flight", "Answers being streamed now", registry=registry)
        self.ingress_lag = Histogram("bot_ingress_lag_seconds", "Time an update waited in the stream",
                                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60),
                                     registry=registry)
        self.ingress_pending = Gauge("bot_ingress_pending", "Updates read but not yet acknowledged (all replicas)",
                                     registry=registry)
        self.reminders = Counter("bot_reminders", "Due reminders by outcome (sent, retried, dropped)", ["outcome"],
                                 registry=registry)

        self.loop_lag = Histogram("bot_event_loop_lag_seconds",
                                  "How late the event loop runs a timer (sampled while updates are handled)",
                                  buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1), registry=registry)
        self.latest_loop_lag = 0.0
        self._handling = asyncio.Event()

    def handling(self, updates: int) -> None:
        """How many updates this process is handling now: the loop-lag probe runs only while there are any."""
        if updates:
            self._handling.set()
        else:
            self._handling.clear()
            self.latest_loop_lag = 0.0  # an idle loop is late for nothing; a stale figure must not hold back work

    async def watch_loop(self, every: float = 0.1,
                         sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Measure event-loop lag while updates are handled: how much later than asked a short sleep wakes up."""
        loop = asyncio.get_running_loop()
        while True:
            await self._handling.wait()
            started = loop.time()
            await sleep(every)
            if self._handling.is_set():
                self.latest_loop_lag = max(0.0, loop.time() - started - every)
                self.loop_lag.observe(self.latest_loop_lag)

    def lagging(self) -> bool:
        """Whether the event loop runs late: a replica then leaves new updates to idler ones."""
        return self.latest_loop_lag > BUSY_LOOP_LAG_SECONDS

    def tokens_used(self, prompt: int, completion: int) -> None:
        """A turn's model tokens (TurnObserver)."""
        self.tokens.labels("in").inc(prompt)
        self.tokens.labels("out").inc(completion)

    def summary_finished(self, result: str) -> None:
        """A summary stored, dropped or failed (TurnObserver)."""
        self.summaries.labels(result).inc()

    def tool_called(self, tool: str, outcome: str, seconds: float) -> None:
        """One tool call ended (TurnObserver)."""
        self.tool_calls.labels(tool, outcome).inc()
        self.tool_latency.labels(tool).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
