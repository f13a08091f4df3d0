"""A fake OpenAI-compatible server: SSE streams like the real API, scripted errors, 429s, broken streams, hangs,
odd chunks and pages that are not streams.

Chat completions answer with the scripted behaviours in order, then with ``default``. Runs in the test process on
127.0.0.1 (see ``tests.http_fake``); everything it records is behind one lock, readable from the test thread.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import InitVar, dataclass
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests import fake_openai_wire as wire
from tests.fake_openai_audio import Transcriptions, transcription_body
from tests.http_fake import ThreadedServer


@dataclass(frozen=True)
class Reply:
    """An answer sent ``chunk_size`` characters per chunk, ``delay`` seconds apart; usage counts may be fixed.

    With a ``gate``, the chunks after the first ``gated_after`` wait until the test sets it. ``odd_chunks`` are sent
    as they are after the first piece of text (chunks of shapes a compatible server might send).
    """

    text: str
    chunk_size: int = 4
    delay: float = 0.0
    finish_reason: str = "stop"
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # reported as usage.prompt_tokens_details.cached_tokens
    chunk: InitVar[int | None] = None
    gate: threading.Event | None = None
    gated_after: int = 1
    odd_chunks: tuple[dict[str, Any], ...] = ()
    reasoning_tokens: int | None = None  # reported in usage.completion_tokens_details, as reasoning models do

    def __post_init__(self, chunk: int | None) -> None:
        if chunk is not None:  # the older spelling of chunk_size
            object.__setattr__(self, "chunk_size", chunk)


@dataclass(frozen=True)
class Error:
    """An HTTP error in OpenAI's shape; type, code and message default to what OpenAI sends for the status."""

    status: int
    message: str = ""
    code: str | None = None
    type: str | None = None
    retry_after: float | None = None
    param: str | None = None


@dataclass(frozen=True)
class Break:
    """The first ``after_chunks`` chunks of ``text``, then the connection drops: no finish chunk, no [DONE]."""

    text: str
    after_chunks: int = 3
    chunk_size: int = 4
    delay: float = 0.0
    chunk: InitVar[int | None] = None

    def __post_init__(self, chunk: int | None) -> None:
        if chunk is not None:
            object.__setattr__(self, "chunk_size", chunk)


@dataclass(frozen=True)
class Hang:
    """Accept the request and send nothing for ``seconds``; then answer as the default behaviour would."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Page:
    """A 200 that is not an event stream: what a proxy or captive portal in front of the server answers (or, with
    another ``status``, an error that is not in OpenAI's shape)."""

    body: str = "<html><body><h1>Welcome</h1><p>Please sign in to continue.</p></body></html>"
    media_type: str = "text/html"
    status: int = 200


@dataclass(frozen=True)
class Call:
    """One function call the model asks for; its arguments go out in pieces of ``chunk_size`` characters."""

    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class ToolCalls:
    """A round that asks for tools as OpenAI streams it: optional text first, then each call (its id and name,
    then its JSON arguments split over chunks), finish_reason "tool_calls" and usage."""

    calls: tuple[Call, ...]
    text: str = ""
    chunk_size: int = 7


Behaviour = Reply | Error | Break | Hang | Page | ToolCalls
Fail = Error  # the older name
Default = Behaviour | Callable[[dict[str, Any]], Behaviour]
# A 1x1 PNG: what images.generate answers with.
TINY_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
                            "AAAABJRU5ErkJggg==")
_MODELS = ("gpt-4o-mini", "gpt-4o", "omni-moderation-latest")

class FakeOpenAI:
    """POST /v1/chat/completions and /v1/moderations, GET /v1/models, with the key checked like OpenAI does."""

    def __init__(self, api_key: str = "sk-test", *, models: Sequence[str] | None = None) -> None:
        self.api_key = api_key
        self.models = models
        self.default: Default = _echo
        self.flag_words: set[str] = set()
        self.moderation_status = 200
        self.slow_to_moderate: dict[str, float] = {}  # a word, and how many seconds checking a text with it takes
        self.refused_image_words: set[str] = set()  # prompts with one of these: 400 moderation_blocked, as OpenAI
        self.rejects_tools = False  # answer a request with ``tools`` 400, like a server without function calling
        self.refuse_images = False  # answer requests with image parts as OpenAI does for a model without vision
        # Per model, what its server refuses with a 400 as OpenAI words it: "images", "tools", "temperature",
        # "max_tokens" (a reasoning model refuses the last two).
        self.model_refuses: dict[str, set[str]] = {}
        self._log: list[tuple[str, dict[str, Any]]] = []
        self._script: list[Behaviour] = []
        self._disconnects = 0
        self._finished: list[dict[str, Any]] = []
        # Called (on the server's thread) with the request of each stream the moment its [DONE] went out.
        self.on_finished: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        self.audio = Transcriptions(self._lock)  # /v1/audio/transcriptions: scripted transcripts, the uploads
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._server = ThreadedServer(Starlette(routes=[
            Route("/v1/chat/completions", self._completions, methods=["POST"]),
            Route("/v1/moderations", self._moderations, methods=["POST"]),
            Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
            Route("/v1/images/generations", self._images, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/{path:path}", _unknown_url, methods=["GET", "POST", "PUT", "DELETE"]),
        ]))

    @property
    def url(self) -> str:
        """The base URL, for OPENAI_BASE_URL."""
        return self._server.root + "/v1"

    def __enter__(self) -> Self:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # ends hangs and delays, so the server can stop at once
        self._server.__exit__(None, None, None)

    def script(self, *behaviours: Behaviour) -> None:
        """Answer the next chat completions with ``behaviours``, one each, before falling back to ``default``."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request body received (completions and moderations), oldest first."""
        with self._lock:
            return [body for _, body in self._log]

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self._log if path == "chat/completions"]

    def image_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self._log if path == "images/generations"]

    def moderation_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self._log if path == "moderations"]

    def finished_streams(self) -> list[dict[str, Any]]:
        """The requests whose stream was sent to its end ([DONE] included), in the order they ended."""
        with self._lock:
            return list(self._finished)

    @property
    def disconnects(self) -> int:
        """How many clients closed a response before it ended (a Stop button, a timeout)."""
        with self._lock:
            return self._disconnects

    def clear(self) -> None:
        """Forget recorded requests, pending behaviours and disconnects."""
        with self._lock:
            self._log.clear()
            self._script.clear()
            self._finished.clear()
            self._disconnects = 0

    # --- serving -------------------------------------------------------------------------------------------
    async def _completions(self, request: Request) -> Response:
        body = await self._received(request, "chat/completions")
        problem = (self._refusal(request, body) or _invalid_completion(body, self.models)
                   or _invalid_tool_messages(body) or self._tools_refused(body)
                   or (_IMAGES_REFUSED if self.refuse_images and image_parts(body) else None)
                   or _refused_by_model(body, self.model_refuses.get(str(body.get("model")), set())))
        if problem:
            return self._fail(problem)
        behaviour, wait = self._next_behaviour(body), 0.0
        if isinstance(behaviour, Hang):
            wait, behaviour = behaviour.seconds, self._default_for(body)
        if isinstance(behaviour, Error):
            return self._fail(behaviour, wait)
        if isinstance(behaviour, Page):
            return self._transmit(behaviour.status, behaviour.body.encode(), wait=wait, media_type=behaviour.media_type)
        assert not isinstance(behaviour, Hang)
        if body.get("stream"):
            return self._transmit(200, self._events(body, behaviour), wait=wait, media_type="text/event-stream")
        return self._transmit(200, self._whole(body, behaviour), wait=wait)

    async def _moderations(self, request: Request) -> Response:
        body = await self._received(request, "moderations")
        problem = self._refusal(request, body) or (Error(self.moderation_status)
                                                   if self.moderation_status != 200 else None)
        if problem:
            return self._fail(problem)
        inputs = body.get("input", "")
        texts = [str(i) for i in inputs] if isinstance(inputs, list) else [str(inputs)]
        await self._pause(max((self.slow_to_moderate.get(w, 0.0) for t in texts for w in t.split()), default=0.0))
        results = [wire.moderation(any(w.lower() in t.lower() for w in self.flag_words)) for t in texts]
        answer = {"id": f"modr-{next(self._ids)}", "model": body.get("model", "omni-moderation-latest"),
                  "results": results}
        return self._transmit(200, wire.encoded(answer))

    async def _transcriptions(self, request: Request) -> Response:
        problem = self._refusal(request, {})
        upload = None if problem else await self.audio.receive(request)
        if problem or upload is None:
            return self._fail(problem or Error(400, "Missing required parameter: 'file'.", param="file"))
        with self._lock:
            self._log.append(("audio/transcriptions", {"model": upload.model, "file": upload.filename}))
        answer = self.audio.answer()
        if isinstance(answer, int):
            return self._fail(Error(answer))
        return self._transmit(200, wire.encoded(transcription_body(answer)))

    async def _images(self, request: Request) -> Response:
        """images.generate: one PNG as b64_json, or OpenAI's refusal of a prompt its safety system blocks."""
        body = await self._received(request, "images/generations")
        problem = self._refusal(request, body) or (None if body.get("prompt") else Error(
            400, "Missing required parameter: 'prompt'.", param="prompt"))
        if problem:
            return self._fail(problem)
        if any(word in str(body["prompt"]).lower() for word in self.refused_image_words):
            return self._fail(Error(400, "Your request was rejected as a result of our safety system.",
                                    code="moderation_blocked", type="image_generation_user_error"))
        answer = {"created": 1, "data": [{"b64_json": base64.b64encode(TINY_PNG).decode()}],
                  "usage": {"input_tokens": 10, "output_tokens": 4160, "total_tokens": 4170}}
        return self._transmit(200, wire.encoded(answer))

    async def _models(self, request: Request) -> Response:
        problem = self._refusal(request, {})
        if problem:
            return self._fail(problem)
        return self._transmit(200, wire.encoded(wire.model_list(self.models or _MODELS)))

    async def _received(self, request: Request, path: str) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {"_unparsed": True}
        with self._lock:
            self._log.append((path, body))
        return body

    def _refusal(self, request: Request, body: dict[str, Any]) -> Error | None:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not key:
            return Error(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                              "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        if key != self.api_key:
            return Error(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}. You can find your API key at "
                              "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        if body.get("_unparsed"):
            return Error(400, "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
                              "payload, but what was sent was not valid JSON.")
        return None

    def _tools_refused(self, body: dict[str, Any]) -> Error | None:
        if self.rejects_tools and "tools" in body:
            return Error(400, "tools is not supported in this model. For a list of supported models, refer to "
                              "https://platform.openai.com/docs/guides/function-calling.", param="tools")
        return None

    def _next_behaviour(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        return scripted or self._default_for(body)

    def _default_for(self, body: dict[str, Any]) -> Behaviour:
        behaviour = self.default(body) if callable(self.default) else self.default
        return _echo(body) if isinstance(behaviour, Hang) else behaviour

    async def _events(self, body: dict[str, Any], behaviour: Reply | Break | ToolCalls) -> AsyncIterator[bytes]:
        chunk = wire.chunk_maker(body, f"chatcmpl-fake{next(self._ids)}")
        yield wire.sse(chunk({"role": "assistant", "content": ""}, None))
        if isinstance(behaviour, ToolCalls):
            for event in self._call_events(body, chunk, behaviour):
                yield event
            return
        for index, piece in enumerate(_pieces(behaviour)):
            if isinstance(behaviour, Break) and index >= behaviour.after_chunks:
                raise wire.Cut
            if isinstance(behaviour, Reply) and index == behaviour.gated_after:
                await self._opened(behaviour.gate)
            await self._pause(behaviour.delay)
            yield wire.sse(chunk({"content": piece}, None))
            if isinstance(behaviour, Reply) and index == 0:
                for odd in behaviour.odd_chunks:
                    yield wire.sse(odd)
        if isinstance(behaviour, Break):
            raise wire.Cut
        yield wire.sse(chunk({}, behaviour.finish_reason))
        if wire.wants_usage(body) and behaviour.usage:
            yield wire.sse({**chunk({}, None), "choices": [], "usage": _usage(body, behaviour)})
        yield wire.DONE
        self._stream_ended(body)  # runs once [DONE] was handed to the connection

    def _stream_ended(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._finished.append(body)
        if self.on_finished is not None:
            self.on_finished(body)

    def _call_events(self, body: dict[str, Any], chunk: wire.Chunk, behaviour: ToolCalls) -> list[bytes]:
        events = [wire.sse(chunk({"content": behaviour.text}, None))] if behaviour.text else []
        for index, call in enumerate(behaviour.calls):
            call_id = call.id or f"call_fake{next(self._ids)}"
            events.extend(wire.sse(chunk({"tool_calls": [fragment]}, None))
                          for fragment in wire.call_fragments(index, call_id, call.name, call.arguments,
                                                              behaviour.chunk_size))
        events.append(wire.sse(chunk({}, "tool_calls")))
        if wire.wants_usage(body):
            text = behaviour.text + "".join(c.name + str(c.arguments) for c in behaviour.calls)
            events.append(wire.sse({**chunk({}, None), "choices": [], "usage": wire.usage(body, text)}))
        return [*events, wire.DONE]

    async def _whole(self, body: dict[str, Any], behaviour: Reply | Break | ToolCalls) -> AsyncIterator[bytes]:
        if isinstance(behaviour, ToolCalls):
            behaviour = Reply(behaviour.text)
        await self._pause(behaviour.delay * len(_pieces(behaviour)))
        reply = behaviour if isinstance(behaviour, Reply) else Reply(behaviour.text)
        answer = wire.encoded(wire.completion(body, f"chatcmpl-fake{next(self._ids)}", reply.text,
                                              reply.finish_reason, _usage(body, reply)))
        if isinstance(behaviour, Break):
            yield answer[: len(answer) // 2]
            raise wire.Cut
        yield answer

    async def _pause(self, seconds: float) -> None:
        """Sleep in short steps, so that closing the fake ends every wait."""
        steps = math.ceil(seconds / 0.05)
        for _ in range(steps):
            if self._closing.is_set():
                return
            await asyncio.sleep(seconds / steps)

    async def _opened(self, gate: threading.Event | None) -> None:
        """Wait until the test sets ``gate`` (or the fake closes)."""
        while gate is not None and not gate.is_set() and not self._closing.is_set():  # noqa: ASYNC110 - a thread's Event
            await asyncio.sleep(0.02)

    def _fail(self, error: Error, wait: float = 0.0) -> Response:
        body = wire.error_body(error.status, error.message, error.code, error.type, error.param)
        return self._transmit(error.status, body, wait=wait, headers=wire.retry_headers(error.retry_after))

    def _transmit(self, status: int, body: bytes | AsyncIterator[bytes], *, wait: float = 0.0,
                  media_type: str = "application/json", headers: dict[str, str] | None = None) -> Response:
        pieces = wire.single(body) if isinstance(body, bytes) else body
        headers = {"x-request-id": f"req_{next(self._ids)}", **(headers or {})}
        return wire.Transmission(status, media_type, headers, pieces, wait=wait, pause=self._pause,
                                 on_disconnect=self._count_disconnect)

    def _count_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1


async def _unknown_url(request: Request) -> Response:
    body = wire.error_body(404, f"Invalid URL ({request.method} {request.url.path})")
    return Response(body, status_code=404, media_type="application/json")


def _echo(body: dict[str, Any]) -> Behaviour:
    """The default answer: deterministic and derived from the last user message."""
    users = [m for m in body.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    return Reply("Echo: " + (wire.text_of(users[-1].get("content")) if users else ""))


def _refused_by_model(body: dict[str, Any], refuses: set[str]) -> Error | None:
    """The 400 OpenAI answers when the request has what this model does not take."""
    for parameter in ("temperature", "max_tokens"):
        if parameter in refuses and parameter in body:
            instead = " Use 'max_completion_tokens' instead." if parameter == "max_tokens" else ""
            return Error(400, f"Unsupported parameter: '{parameter}' is not supported with this model.{instead}",
                         code="unsupported_parameter", type="invalid_request_error", param=parameter)
    if "tools" in refuses and body.get("tools"):
        return Error(400, "tools is not supported in this model.", code="unsupported_parameter", param="tools")
    if "images" in refuses and image_parts(body):
        return _IMAGES_REFUSED
    return None


def _invalid_completion(body: dict[str, Any], models: Sequence[str] | None) -> Error | None:
    if "model" not in body:
        return Error(400, "you must provide a model parameter")
    if models is not None and body["model"] not in models:
        return Error(404, f"The model `{body['model']}` does not exist or you do not have access to it.",
                     code="model_not_found")
    if "messages" not in body:
        return Error(400, "Missing required parameter: 'messages'.", code="missing_required_parameter",
                     param="messages")
    if not isinstance(body["messages"], list) or not body["messages"]:
        return Error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                          "empty array instead.", code="empty_array", param="messages")
    return None


def _invalid_tool_messages(body: dict[str, Any]) -> Error | None:
    """OpenAI's 400 for tool messages that do not answer the calls right before them, or calls left unanswered."""
    pending: list[str] = []
    for message in body.get("messages", []):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return Error(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                  "message with 'tool_calls'.", param="messages")
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            return Error(400, "An assistant message with 'tool_calls' must be followed by tool messages responding "
                              "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                              + ", ".join(pending), param="messages")
        if role == "assistant":
            pending = [call.get("id") for call in message.get("tool_calls") or []]
    return None


_IMAGES_REFUSED = Error(400, "Invalid content type. image_url is only supported by certain models.",
                        param="messages.[1].content.[1].type")


def image_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The image_url parts of a chat request's messages, in order (``{"url": …, "detail": …}`` each)."""
    return [part["image_url"] for message in body.get("messages", []) if isinstance(message, dict)
            and isinstance(message.get("content"), list)
            for part in message["content"] if isinstance(part, dict) and part.get("type") == "image_url"]


def _pieces(behaviour: Reply | Break) -> list[str]:
    size = max(behaviour.chunk_size, 1)
    return [behaviour.text[i:i + size] for i in range(0, len(behaviour.text), size)]


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = wire.usage(body, reply.text, reply.prompt_tokens, reply.completion_tokens,
                                       reply.cached_tokens)
    if reply.reasoning_tokens is not None:
        usage["completion_tokens"] += reply.reasoning_tokens
        usage["total_tokens"] += reply.reasoning_tokens
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return usage
