"""A fake OpenAI-compatible server: SSE streams like the real API, scripted errors, 429s, broken streams."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.http_fake import ThreadedServer


@dataclass(frozen=True)
class Reply:
    """A streamed answer, ``chunk`` characters at a time, ``delay`` seconds apart."""

    text: str
    chunk: int = 4
    delay: float = 0.0
    finish_reason: str = "stop"
    usage: bool = True


@dataclass(frozen=True)
class Fail:
    """An HTTP error answer in OpenAI's error shape."""

    status: int
    message: str = "error"
    code: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Break:
    """Some chunks of ``text``, then the connection drops without a finish chunk or [DONE]."""

    text: str
    after_chunks: int = 3
    chunk: int = 4
    delay: float = 0.0


Behaviour = Reply | Fail | Break


class FakeOpenAI:
    """POST /v1/chat/completions and /v1/moderations; behaviours are consumed in order, then the default."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.default: Callable[[dict[str, Any]], Behaviour] = lambda body: Reply("Echo: " + _last_user(body))
        self.flag_words: set[str] = set()
        self.moderation_status = 200
        self.disconnects = 0
        self._script: list[Behaviour] = []
        self._lock = threading.Lock()
        self._server = ThreadedServer(Starlette(routes=[
            Route("/v1/chat/completions", self._completions, methods=["POST"]),
            Route("/v1/moderations", self._moderations, methods=["POST"]),
        ]))

    @property
    def url(self) -> str:
        return self._server.root + "/v1"

    def __enter__(self) -> Self:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if "messages" in r]

    async def _completions(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(Fail(401, "Incorrect API key provided", "invalid_api_key"))
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            behaviour = self._script.pop(0) if self._script else self.default(body)
        if isinstance(behaviour, Fail):
            return _error(behaviour)
        if not body.get("stream"):
            assert isinstance(behaviour, Reply)
            return JSONResponse(_completion(body, behaviour.text))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(self._events(body, behaviour, include_usage, request),
                                 media_type="text/event-stream")

    async def _events(self, body: dict[str, Any], behaviour: Reply | Break, include_usage: bool,
                      request: Request) -> AsyncIterator[str]:
        pieces = [behaviour.text[i:i + behaviour.chunk] for i in range(0, len(behaviour.text), behaviour.chunk)]
        yield _sse(_chunk(body, {"role": "assistant", "content": ""}))
        try:
            for index, piece in enumerate(pieces):
                if isinstance(behaviour, Break) and index >= behaviour.after_chunks:
                    raise ConnectionAbortedError("scripted break")
                await asyncio.sleep(behaviour.delay)
                if await request.is_disconnected():
                    self.disconnects += 1
                    return
                yield _sse(_chunk(body, {"content": piece}))
        except asyncio.CancelledError:
            self.disconnects += 1
            raise
        assert isinstance(behaviour, Reply)
        yield _sse(_chunk(body, {}, behaviour.finish_reason))
        if include_usage and behaviour.usage:
            prompt = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
            usage = {"prompt_tokens": prompt, "completion_tokens": len(behaviour.text) // 4 + 1,
                     "total_tokens": prompt + len(behaviour.text) // 4 + 1}
            yield _sse({**_chunk(body, {}), "choices": [], "usage": usage})
        yield "data: [DONE]\n\n"

    async def _moderations(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
        if self.moderation_status != 200:
            return _error(Fail(self.moderation_status, "moderation unavailable"))
        text = str(body.get("input", ""))
        flagged = any(word in text for word in self.flag_words)
        result = {"flagged": flagged, "categories": {"harassment": flagged},
                  "category_scores": {"harassment": 0.99 if flagged else 0.01}}
        return JSONResponse({"id": "modr-1", "model": "omni-moderation-latest", "results": [result]})


def _last_user(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[-1]["content"]) if users else ""


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "fake"), "usage": None,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text) // 4 + 1,
                      "total_tokens": 10 + len(text) // 4 + 1}}


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _error(fail: Fail) -> JSONResponse:
    headers = {"retry-after": str(fail.retry_after)} if fail.retry_after is not None else {}
    error_type = "rate_limit_error" if fail.status == 429 else "invalid_request_error"
    body = {"error": {"message": fail.message, "type": error_type, "param": None, "code": fail.code}}
    return JSONResponse(body, status_code=fail.status, headers=headers)
