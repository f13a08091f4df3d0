"""PTB's Bot API requests over aiohttp: PTB's own HTTPX request class with httpx's transport swapped.

httpx's default transport (httpcore on anyio) spends about 1.4 ms of CPU per Bot API call; aiohttp's C parser
and connection pool about 0.6 ms. A busy replica makes several calls per answer, so this is a large share of
what it spends. PTB still does everything else (timeouts, error mapping to telegram.error, rate limiter).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from telegram.request import HTTPXRequest

# (Bot API method, "ok" | "flood_wait" | "error", seconds): one call, for bot_telegram_api_calls and its latency.
CallObserver = Callable[[str, str, float], None]


class AiohttpRequest(HTTPXRequest):
    """An HTTPXRequest whose connections are aiohttp's, a fresh pool each time PTB (re)builds its client."""

    __slots__ = ("_observe",)

    def __init__(self, *args: Any, observe: CallObserver | None = None, **kwargs: Any) -> None:
        self._observe = observe
        super().__init__(*args, **kwargs)

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self._observe is None:
            return await super().do_request(url, method, *args, **kwargs)
        started, outcome = time.perf_counter(), "error"
        try:
            status, body = await super().do_request(url, method, *args, **kwargs)
            outcome = "ok" if status == 200 else "flood_wait" if status == 429 else "error"
            return status, body
        finally:  # the method is the URL's last part; the token is in the part before it
            self._observe(url.rsplit("/", 1)[-1], outcome, time.perf_counter() - started)

    def _build_client(self) -> httpx.AsyncClient:
        kwargs = self._client_kwargs | {"transport": _Transport(limits=self._client_kwargs["limits"])}
        return httpx.AsyncClient(**kwargs)


class _Transport(AiohttpTransport):
    """httpx-aiohttp reports a refused connection as a connect timeout; say what happened instead."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(cause, TimeoutError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise
