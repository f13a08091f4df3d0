"""How the process runs, in start and stop order: the HTTP server (webhook in webhook mode, /healthz and /metrics
in both), the update stream's consumer, the Stop relay, the event-loop watcher, and in polling mode the poller.

SIGTERM drains: /healthz answers 503, no new updates are taken, running turns finish within the grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Generator
from typing import Any

import uvicorn
from redis.exceptions import RedisError
from telegram import Update

from bot.config import Settings
from bot.ingress.poller import Poller
from bot.ingress.runtime import Runtime
from bot.ingress.shape import check_update
from bot.ingress.web import create_web_app
from bot.ingress.webhook import WebhookRegistration
from bot.store.address import describe
from bot.telegram.i18n import language
from bot.telegram.menus import Profile, sync_commands, sync_operator_menus

logger = logging.getLogger(__name__)

COURIER_STOP_SECONDS = 5.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM starts our drain instead of an immediate exit. Its main
    loop wakes once a second (the Date header's resolution), or at once when told to exit, not ten times."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._exiting = asyncio.Event()
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._exiting.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exiting.set()
        else:
            self._exiting.clear()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        while not await self.on_tick(0):  # tick 0 refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exiting.wait(), 1.0 - time.time() % 1.0)


def _profile(settings: Settings) -> Profile:
    return Profile(settings.default_language, settings.bot_description, settings.bot_short_description)


class Service:
    """One process of the bot, in webhook or polling mode; every task it starts, it stops."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._bot = runtime.application.bot
        self._registration = WebhookRegistration(self._bot, runtime.redis, runtime.keys, runtime.settings)
        self._draining = asyncio.Event()
        self._server = self._http_server()
        self._poller: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self._courier: asyncio.Task[None] | None = None

    @property
    def registration(self) -> WebhookRegistration:
        return self._registration

    async def run(self, *, polling: bool) -> None:
        """Serve until SIGTERM/SIGINT (or a fatal polling error), then drain and stop everything."""
        runtime = self._runtime
        language.use(runtime.settings.default_language)  # for texts sent outside an update (due reminders)
        async with runtime.application:
            await (self._registration.delete() if polling else self._registration.ensure())
            await sync_commands(self._bot, _profile(runtime.settings))
            await sync_operator_menus(self._bot, runtime.settings.operator_ids, runtime.settings.default_language)
            await runtime.application.start()
            tasks = [asyncio.create_task(runtime.stream.run(self.process)),
                     asyncio.create_task(runtime.metrics.watch_loop()),
                     asyncio.create_task(runtime.replies.listen())]
            self._courier = asyncio.create_task(runtime.courier.run())
            if polling:
                self._poller = self._watched(asyncio.create_task(Poller(self._bot, self.submit).run()))
                tasks.append(self._poller)
            _on_signals(self._on_signal)
            _freeze_heap()
            self._log_mode(polling)
            runtime.model.load()  # serving first: the model's SDK is imported in the background from now on
            try:
                await runtime.mcp.start()
                await self._server.serve()
            finally:
                await self._stop_courier()
                await _cancel(tasks)
                await runtime.mcp.close()
                await runtime.application.stop()
                await runtime.summarizer.drain()
        if self._failure is not None:
            raise self._failure

    async def submit(self, data: dict[str, Any]) -> bool:
        """An update from the webhook or the poller into the stream; True when new."""
        check_update(data, self._bot)
        return await self._runtime.stream.submit(data)

    async def process(self, data: dict[str, Any], taken_over: bool) -> None:
        """One update from the stream through the handlers (``taken_over``: a dead replica had started it)."""
        update = Update.de_json(data, self._bot)
        replies = self._runtime.replies
        if taken_over:
            replies.taken_over(update.update_id)
        try:
            await self._runtime.application.process_update(update)
        finally:
            replies.close(update.update_id)

    async def healthy(self) -> bool:
        """Ready for traffic: not draining, and Redis answers within a second."""
        if self._draining.is_set():
            return False
        try:
            return bool(await asyncio.wait_for(self._runtime.redis.ping(), timeout=1.0))
        except (RedisError, OSError, TimeoutError):
            return False

    def _http_server(self) -> _Server:
        settings = self._runtime.settings
        web = create_web_app(path=settings.webhook_path if settings.webhook_url else None,
                             secret=settings.webhook_secret, submit=self.submit, healthy=self.healthy,
                             metrics=self._runtime.metrics.render)
        # Keep-alive longer than any client's: a client must never send on a connection the server is closing.
        return _Server(uvicorn.Config(web, host=settings.host, port=settings.port, log_config=None,
                                      access_log=False, lifespan="off", timeout_keep_alive=75))

    def _watched(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        """A task whose failure ends the process (the poller's InvalidToken, say)."""
        def done(finished: asyncio.Task[None]) -> None:
            if not finished.cancelled() and finished.exception() is not None:
                self._failure = finished.exception()
                self._server.should_exit = True
        task.add_done_callback(done)
        return task

    def _on_signal(self) -> None:
        if self._draining.is_set():
            self._server.force_exit = True
            return
        self._draining.set()
        self._drain_task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        stream, grace = self._runtime.stream, self._runtime.settings.shutdown_grace_seconds
        logger.info("shutting down: finishing %d running update(s) within %.0fs", stream.in_flight, grace)
        if self._poller is not None:
            await _cancel([self._poller])
        await asyncio.gather(stream.stop(grace), self._stop_courier())
        self._server.should_exit = True

    async def _stop_courier(self) -> None:
        """Take no more reminders; one being sent is given a moment to finish (else it is retried elsewhere)."""
        if self._courier is None:
            return
        self._runtime.courier.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._courier), COURIER_STOP_SECONDS)
        await _cancel([self._courier])

    def _log_mode(self, polling: bool) -> None:
        """The one start-up line: who, in which mode, with which model and store."""
        settings = self._runtime.settings
        mode = ("polling mode (WEBHOOK_URL is unset: for local development)" if polling
                else f"webhook mode at {settings.webhook_path}")
        privacy = "off" if self._bot.bot.can_read_all_group_messages else "on (groups: mentions and replies)"
        logger.info("started @%s in %s; HTTP on %s:%d; model %s; store %s; group privacy mode %s",
                    self._bot.username, mode, settings.host, settings.port, settings.openai_model,
                    describe(settings.redis_url), privacy)


async def set_webhook(runtime: Runtime) -> None:
    """`python -m bot set-webhook`: point Telegram at WEBHOOK_URL (for a deploy job)."""
    async with runtime.application:
        await Service(runtime).registration.set()


async def delete_webhook(runtime: Runtime) -> None:
    """`python -m bot delete-webhook`."""
    async with runtime.application:
        await Service(runtime).registration.delete()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _freeze_heap() -> None:
    """Keep what start-up built (modules, clients: it lives as long as the process) out of the collector's
    full passes, which otherwise stall the event loop for over 100 ms each (seen with a gc callback under
    bench.load's traffic)."""
    gc.collect()
    gc.freeze()


def _on_signals(handler: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler)
