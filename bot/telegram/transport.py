"""PTB's Bot API requests over aiohttp: PTB's own HTTPX request class with httpx's transport swapped.

httpx's default transport (httpcore on anyio) spends about 1.4 ms of CPU per Bot API call; aiohttp's C parser
and connection pool about 0.6 ms. A busy replica makes several calls per answer, so this is a large share of
what it spends. PTB still does everything else (timeouts, error mapping to telegram.error, rate limiter).
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from telegram.request import HTTPXRequest


class AiohttpRequest(HTTPXRequest):
    """An HTTPXRequest whose connections are aiohttp's, a fresh pool each time PTB (re)builds its client."""

    __slots__ = ()

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
