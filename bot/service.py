"""How the process runs: the webhook service (or long polling), in start and stop order, with a graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import signal
from collections.abc import Generator
from typing import Any

import uvicorn
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Update

from bot.app import ALLOWED_UPDATES, Runtime, sync_commands
from bot.web import UpdateRejected, create_web_app

logger = logging.getLogger(__name__)

WEBHOOK_MARK_SECONDS = 3600


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM starts our drain instead of an immediate exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_webhook(runtime: Runtime) -> None:
    """Serve the webhook until SIGTERM/SIGINT, then drain: /healthz 503, no new updates, running turns finish."""
    settings = runtime.settings
    draining = asyncio.Event()
    web = create_web_app(
        path=settings.webhook_path, secret=settings.webhook_secret,
        submit=lambda data: _submit(runtime, data),
        healthy=lambda: _healthy(runtime.redis, draining),
        metrics=runtime.metrics.render,
    )
    # Keep-alive longer than any client's: a client must never send on a connection the server is closing.
    server = _Server(uvicorn.Config(web, host=settings.host, port=settings.port, log_config=None,
                                    access_log=False, lifespan="off", timeout_keep_alive=75))
    async with runtime.application:
        await _register_webhook(runtime)
        await sync_commands(runtime.application.bot)
        await runtime.application.start()
        consumer = asyncio.create_task(runtime.stream.run(lambda data, taken: _process(runtime, data, taken)))
        watcher = asyncio.create_task(runtime.metrics.watch_loop())
        stops = asyncio.create_task(runtime.replies.listen())
        _on_signals(lambda: asyncio.ensure_future(_drain(runtime, server, draining)))
        _freeze_heap()
        logger.info("webhook mode: listening on %s:%d%s", settings.host, settings.port, settings.webhook_path)
        try:
            await server.serve()
        finally:
            for task in (consumer, watcher, stops):
                task.cancel()
            await _shutdown(runtime)


async def run_polling(runtime: Runtime) -> None:
    """Long polling for local development, until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    _on_signals(stop.set)
    async with runtime.application:
        updater = runtime.application.updater
        assert updater is not None
        await sync_commands(runtime.application.bot)
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await runtime.application.start()
        _freeze_heap()
        logger.info("polling mode (WEBHOOK_URL is unset): for local development")
        try:
            await stop.wait()
        finally:
            await updater.stop()
            await _shutdown(runtime)


async def set_webhook(runtime: Runtime) -> None:
    """`python -m bot set-webhook`: point Telegram at WEBHOOK_URL (for a deploy job)."""
    async with runtime.application:
        await _set_webhook(runtime)


async def delete_webhook(runtime: Runtime) -> None:
    """`python -m bot delete-webhook`."""
    async with runtime.application:
        await runtime.application.bot.delete_webhook()
        with contextlib.suppress(RedisError, OSError):
            await runtime.redis.delete(_webhook_mark(runtime))
        logger.info("webhook deleted")


async def _submit(runtime: Runtime, data: dict[str, Any]) -> bool:
    try:
        Update.de_json(data, runtime.application.bot)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UpdateRejected(type(exc).__name__) from exc
    return await runtime.stream.submit(data)


async def _process(runtime: Runtime, data: dict[str, Any], taken_over: bool) -> None:
    update = Update.de_json(data, runtime.application.bot)
    if taken_over:
        runtime.replies.taken_over(update.update_id)
    await runtime.application.process_update(update)


async def _healthy(redis: Redis, draining: asyncio.Event) -> bool:
    if draining.is_set():
        return False
    try:
        return bool(await asyncio.wait_for(redis.ping(), timeout=1.0))
    except (RedisError, OSError, TimeoutError):
        return False


async def _drain(runtime: Runtime, server: uvicorn.Server, draining: asyncio.Event) -> None:
    if draining.is_set():
        server.force_exit = True
        return
    draining.set()
    grace = runtime.settings.shutdown_grace_seconds
    logger.info("shutting down: finishing %d running update(s) within %.0fs", runtime.stream.in_flight, grace)
    await runtime.stream.stop(grace)
    server.should_exit = True


async def _register_webhook(runtime: Runtime) -> None:
    """setWebhook once per configuration, however many replicas start at the same time."""
    mark, fingerprint = _webhook_mark(runtime), _fingerprint(runtime)
    try:
        if await runtime.redis.get(mark) == fingerprint:
            return
        if not await runtime.redis.set(f"{mark}:lock", 1, nx=True, ex=30):
            return  # another replica is setting it right now
    except (RedisError, OSError):
        pass  # no Redis at start: set it anyway, it is idempotent
    await _set_webhook(runtime)
    with contextlib.suppress(RedisError, OSError):
        await runtime.redis.set(mark, fingerprint, ex=WEBHOOK_MARK_SECONDS)


async def _set_webhook(runtime: Runtime) -> None:
    settings = runtime.settings
    await runtime.application.bot.set_webhook(settings.webhook_url or "", secret_token=settings.webhook_secret,
                                              allowed_updates=ALLOWED_UPDATES, max_connections=100)
    logger.info("webhook set")


def _webhook_mark(runtime: Runtime) -> str:
    return f"{runtime.keys.prefix}:webhook"


def _fingerprint(runtime: Runtime) -> str:
    settings = runtime.settings
    material = f"{settings.webhook_url}|{settings.webhook_secret}|{','.join(ALLOWED_UPDATES)}"
    return hashlib.sha256(material.encode()).hexdigest()


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


async def _shutdown(runtime: Runtime) -> None:
    await runtime.application.stop()
    await runtime.summarizer.drain()
