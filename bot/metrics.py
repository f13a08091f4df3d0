"""Prometheus metrics of one process, in their own registry (built in app.py and passed down)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from bot.domain.outcome import Ending, Failure
from bot.domain.usage import ModelTokens, PriceTable, UsageRecord
from bot.version import build

__all__ = ["CONTENT_TYPE", "Metrics"]

# Over this event-loop lag a replica takes no new updates until it catches up (the p99 target of bench.load).
BUSY_LOOP_LAG_SECONDS = 0.05
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)
_API_LATENCY = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# "declined": an attachment the bot does not take (the user was told why).
OUTCOMES = tuple(e.value for e in Ending) + tuple(f"failed:{f.value}" for f in Failure) + ("declined",)
DIRECTIONS = ("in", "cached", "out")  # cached: the part of "in" read from the provider's prompt cache
# The Bot API methods the bot calls, so their series exist (at zero) before the first call.
TELEGRAM_METHODS = ("getMe", "getUpdates", "setWebhook", "getWebhookInfo", "deleteWebhook", "setMyCommands",
                    "getMyCommands", "getMyDescription", "setMyDescription", "getMyShortDescription",
                    "setMyShortDescription", "sendMessage", "editMessageText", "editMessageReplyMarkup",
                    "deleteMessage", "sendChatAction", "answerCallbackQuery", "getChatAdministrators",
                    "sendMessageDraft", "getFile", "sendPhoto")
TELEGRAM_OUTCOMES = ("ok", "flood_wait", "error")
REMINDER_OUTCOMES = ("sent", "retried", "dropped")
# The usual kinds of failed model calls (bot/model/openai_chat.py labels others as they come).
MODEL_ERROR_KINDS = ("ModelRejected", "ContextTooLong", "ModelAccessDenied", "ModelUnavailable", "HTTP_429",
                     "HTTP_500", "HTTP_502", "HTTP_503", "APITimeoutError", "APIConnectionError")


class Metrics:
    """Every metric the bot exposes on /metrics."""

    def __init__(self, prices: PriceTable | None = None, models: tuple[str, ...] = ()) -> None:
        self.registry = registry = CollectorRegistry()
        self._prices = prices or PriceTable()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
        Info("bot_build", "The running version and commit", registry=registry).info(build())
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
        self.tokens = Counter("bot_tokens", "Model tokens by model and direction (in, cached of in, out)",
                              ["model", "direction"], registry=registry)
        self.cost = Counter("bot_cost_usd", "Model cost as billed, in USD (priced models only)", ["model"],
                            registry=registry)
        self.telegram_calls = Counter("bot_telegram_api_calls", "Bot API calls by method and outcome",
                                      ["method", "outcome"], registry=registry)
        self.telegram_latency = Histogram("bot_telegram_api_seconds", "Bot API call latency by method", ["method"],
                                          buckets=_API_LATENCY, registry=registry)
        self.redis_errors = Counter("bot_redis_errors", "Failed Redis calls: ingress (updates in), stream (read, ack)",
                                    ["where"], registry=registry)
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
        self._initialise(models)

    def _initialise(self, models: tuple[str, ...]) -> None:
        """Every labelled series known in advance, at zero: a rate over a series that appears late misses its start."""
        for outcome in OUTCOMES:
            self.turns.labels(outcome)
        for model in models:
            for direction in DIRECTIONS:
                self.tokens.labels(model, direction)
            self.cost.labels(model)
        for method in TELEGRAM_METHODS:
            self.telegram_latency.labels(method)
            for outcome in TELEGRAM_OUTCOMES:
                self.telegram_calls.labels(method, outcome)
        for where in ("ingress", "stream"):
            self.redis_errors.labels(where)
        for result in ("stored", "dropped", "failed"):
            self.summaries.labels(result)
        for kind in MODEL_ERROR_KINDS:
            self.model_errors.labels(kind)
        for outcome in REMINDER_OUTCOMES:
            self.reminders.labels(outcome)

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

    def tokens_used(self, record: UsageRecord) -> None:
        """A turn's model tokens, and their cost as billed (TurnObserver)."""
        self.tokens.labels(record.model, "in").inc(record.prompt_tokens)
        self.tokens.labels(record.model, "cached").inc(record.cached_tokens)
        self.tokens.labels(record.model, "out").inc(record.completion_tokens)
        cost = self._prices.cost([ModelTokens(record.model, record.prompt_tokens, record.completion_tokens,
                                              seconds=record.seconds, images=record.images,
                                              cached=record.cached_tokens)])
        if cost is not None:
            self.cost.labels(record.model).inc(cost)

    def telegram_call(self, method: str, outcome: str, seconds: float) -> None:
        """One Bot API call finished: ok, a flood wait (429), or another error."""
        self.telegram_calls.labels(method, outcome).inc()
        self.telegram_latency.labels(method).observe(seconds)

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
