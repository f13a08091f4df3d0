"""The HTTP side: Telegram's webhook, /healthz and /metrics, as a Starlette app."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.errors import StoreUnavailable
from bot.ingress.shape import UpdateRejected
from bot.metrics import CONTENT_TYPE

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Submit = Callable[[dict[str, Any]], Awaitable[bool]]
Probe = Callable[[], Awaitable[bool]]


class _TooLarge(Exception):
    pass


def create_web_app(*, path: str | None, secret: str, submit: Submit, healthy: Probe,
                   metrics: Callable[[], bytes] | None = None) -> Starlette:
    """Routes: POST {path} for Telegram (none when polling), GET /healthz for load balancers, GET /metrics."""

    async def webhook(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = json.loads(await _read_body(request))
        except _TooLarge:
            return PlainTextResponse("request body too large", status_code=413)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            return _rejected(f"not JSON ({type(exc).__name__})", "body is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return _rejected("not an object with an update_id", "body is not a Telegram update")
        try:
            await submit(data)
        except UpdateRejected as exc:
            return _rejected(str(exc), "body is not a Telegram update")
        except StoreUnavailable:
            logger.warning("store unavailable; Telegram will deliver the update again")
            return PlainTextResponse("temporarily unavailable", status_code=503)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        ok = await healthy()
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    async def exposition(request: Request) -> Response:
        return Response(metrics() if metrics else b"", media_type=CONTENT_TYPE)

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", exposition, methods=["GET"])]
    if path is not None:
        routes.append(Route(path, webhook, methods=["POST"]))
    return Starlette(routes=routes)


def _rejected(reason: str, answer: str) -> Response:
    """400, and a warning that says why but not what was sent (it may be a user's message)."""
    logger.warning("webhook body rejected: %s", reason)
    return PlainTextResponse(answer, status_code=400)


async def _read_body(request: Request) -> bytes:
    """The body, refusing more than MAX_BODY_BYTES whatever Content-Length claims."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
