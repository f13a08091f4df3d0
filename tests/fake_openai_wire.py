"""What the fake OpenAI server puts on the wire: OpenAI's JSON shapes, SSE framing, and a response that can be cut.

Builders take plain values, so the shapes can be read next to OpenAI's API reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

DONE = b"data: [DONE]\n\n"
_ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}
_ERROR_MESSAGES = {
    400: "Invalid request.", 401: "Incorrect API key provided.", 404: "The requested resource does not exist.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}
_CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
               "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
               "violence/graphic")

Chunk = Callable[[dict[str, Any], str | None], dict[str, Any]]


class Cut(Exception):
    """Raised by a body to drop the connection where it stands."""


class Transmission(StreamingResponse):
    """A response sent piece by piece that notices the client leaving and can drop the connection mid-body."""

    def __init__(self, status: int, media_type: str, headers: dict[str, str], pieces: AsyncIterator[bytes], *,
                 wait: float, pause: Callable[[float], Awaitable[None]], on_disconnect: Callable[[], None]) -> None:
        super().__init__(pieces, status, headers, media_type)
        self._pieces, self._wait, self._pause, self._on_disconnect = pieces, wait, pause, on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = asyncio.ensure_future(self._send_all(send))
        leaving = asyncio.ensure_future(_client_gone(receive))
        await asyncio.wait({sending, leaving}, return_when=asyncio.FIRST_COMPLETED)
        leaving.cancel()
        if sending.done():
            sending.result()
            return
        sending.cancel()
        self._on_disconnect()
        with contextlib.suppress(asyncio.CancelledError):
            await sending

    async def _send_all(self, send: Send) -> None:
        await self._pause(self._wait)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for piece in self._pieces:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except Cut:
            return  # an unfinished body makes uvicorn close the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def single(body: bytes) -> AsyncIterator[bytes]:
    yield body


def error_body(status: int, message: str = "", code: str | None = None, kind: str | None = None,
               param: str | None = None) -> bytes:
    """OpenAI's error object, with the type and code OpenAI uses for the status when not given."""
    kind = kind or _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    code = code or ("rate_limit_exceeded" if status == 429 else None)
    param = param or ("messages" if code == "context_length_exceeded" else None)
    message = message or _ERROR_MESSAGES.get(status, "error")
    return encoded({"error": {"message": message, "type": kind, "param": param, "code": code}})


def retry_headers(retry_after: float | None) -> dict[str, str]:
    if retry_after is None:
        return {}
    return {"retry-after": str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)}


def wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def chunk_maker(body: dict[str, Any], chunk_id: str) -> Chunk:
    """Builds the chunks of one stream; ``usage: null`` rides on each when the client asked for usage."""
    created, model, usage = int(time.time()), body.get("model", "fake"), wants_usage(body)

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        made = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_fake", "choices": [choice]}
        return made | {"usage": None} if usage else made

    return chunk


def completion(body: dict[str, Any], completion_id: str, text: str, finish_reason: str,
               usage_counts: dict[str, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"), "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage_counts}


def usage(body: dict[str, Any], text: str, prompt_tokens: int | None = None,
          completion_tokens: int | None = None, cached_tokens: int | None = None) -> dict[str, Any]:
    """About four characters a token, OpenAI's rule of thumb, unless the counts are given; with ``cached_tokens``,
    the prompt tokens OpenAI read from its prompt cache (``prompt_tokens_details``)."""
    chars = sum(len(text_of(m.get("content"))) for m in body.get("messages", []) if isinstance(m, dict))
    prompt = prompt_tokens if prompt_tokens is not None else math.ceil(chars / 4)
    answer = completion_tokens if completion_tokens is not None else math.ceil(len(text) / 4)
    counts: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}
    if cached_tokens is not None:
        counts["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "audio_tokens": 0}
    return counts


def call_fragments(index: int, call_id: str, name: str, arguments: dict[str, Any],
                   size: int) -> list[dict[str, Any]]:
    """The ``delta.tool_calls`` entries of one call as OpenAI streams them: id, type and name with empty
    arguments first, then the arguments' JSON text in pieces, each naming only the call's index."""
    text = json.dumps(arguments)
    first = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    pieces = [text[i:i + size] for i in range(0, len(text), max(size, 1))]
    return [first, *({"index": index, "function": {"arguments": piece}} for piece in pieces)]


def text_of(content: Any) -> str:
    """A message's text, whether content is a string or a list of parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def moderation(flagged: bool) -> dict[str, Any]:
    """One moderation result; a flagged text counts as harassment."""
    hit = {c: flagged and c == "harassment" for c in _CATEGORIES}
    return {"flagged": flagged, "categories": hit, "category_scores": {c: 0.99 if hit[c] else 0.001 for c in hit},
            "category_applied_input_types": {c: ["text"] for c in _CATEGORIES}}


def model_list(ids: Sequence[str]) -> dict[str, Any]:
    data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for m in ids]
    return {"object": "list", "data": data}


def sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
