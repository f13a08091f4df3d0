"""The chat model: a small interface and its OpenAI-compatible adapter (streaming, retries, error mapping)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx2
import openai

from bot.domain.ports import Heard, ModelRequest, Recording, Usage
from bot.errors import (
    ContextTooLong,
    ImageRefused,
    ImagesRejected,
    ModelAccessDenied,
    ModelError,
    ModelRejected,
    ModelUnavailable,
    ParameterRejected,
)
from bot.metrics import Metrics
from bot.model.images import NoImage, generate
from bot.model.request import chat_arguments
from bot.model.stream import BadStream, OpenAIStream, server_sent_events
from bot.model.toolsupport import RememberedToolSupport, ToolSupport
from bot.model.transcription import transcribe

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Refused credentials fail every request alike: one ERROR a minute tells the operator without flooding the log.
ACCESS_ALARM_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries within ``deadline`` seconds, exponential backoff with full jitter."""

    attempts: int = 3
    deadline: float = 90.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        jittered = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        return max(jittered, retry_after or 0.0)


class _ToolsRefused(ModelRejected):
    """A 400 naming tools or functions: what a server without function calling answers a request with tools."""


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class OpenAIModel:
    """ChatModel on the OpenAI API or any compatible server; owns the only retry loop."""

    def __init__(self, client: openai.AsyncOpenAI, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic, metrics: Metrics | None = None,
                 tool_support: ToolSupport | None = None) -> None:
        self._client = client
        self._tool_support = tool_support or RememberedToolSupport()
        self._metrics = metrics or Metrics()
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._access_alarm_at: float | None = None

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.close()

    async def stream(self, request: ModelRequest) -> OpenAIStream:
        """Open a stream, retrying transient failures until its first text arrives; a server that refuses
        tools is asked again without them (and from then on)."""
        if request.tools and not await self._tool_support.accepts(request.model):
            request = request.without_tools()
        images = _has_images(request)
        try:
            return await self._retrying(lambda: self._open(request), images=images)
        except _ToolsRefused:
            if not request.tools:
                raise
            if request.tool_choice != "none":  # told to answer now, it sent no tools: nothing was refused
                await self._tool_support.refused(request.model)
        plain = request.without_tools()
        return await self._retrying(lambda: self._open(plain), images=images)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        """A whole answer at once (used for summaries)."""
        return await self._retrying(lambda: self._complete(request))

    async def flagged(self, text: str) -> bool:
        """Whether the moderation endpoint flags the text (raises ModelError when it cannot tell)."""
        return await self._retrying(lambda: self._moderate(text))

    async def draw(self, prompt: str, model: str, size: str) -> bytes:
        """An image of the prompt (ImageModel)."""
        return await self._retrying(lambda: generate(self._client, prompt, model, size))

    async def transcribe(self, recording: Recording, model: str) -> Heard:
        """Speech to text (Transcriber), retried like every call."""
        return await self._retrying(lambda: transcribe(self._client, recording, model))

    async def _moderate(self, text: str) -> bool:
        response = await self._client.moderations.create(input=text)
        return any(result.flagged for result in response.results)

    async def _open(self, request: ModelRequest) -> OpenAIStream:
        response_context = self._client.chat.completions.with_streaming_response.create(
            **chat_arguments(request), stream=True, stream_options={"include_usage": True},
        )
        exits = contextlib.AsyncExitStack()
        response = await exits.enter_async_context(response_context)
        events = server_sent_events(response.iter_lines(), response.headers.get("content-type"))
        stream = OpenAIStream(events, exits.aclose)
        try:
            await stream.prime()
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def _complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        response = await self._client.chat.completions.create(**chat_arguments(request))
        text = response.choices[0].message.content or "" if response.choices else ""
        usage = response.usage
        if usage is None:
            return text, None
        details = usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details else 0
        return text, Usage(usage.prompt_tokens, usage.completion_tokens,
                           cached_tokens=min(cached, usage.prompt_tokens))

    async def _retrying(self, call: Callable[[], Awaitable[T]], images: bool = False) -> T:
        started = self._clock()
        for attempt in range(self._policy.attempts):
            try:
                return await _translated(call, images)
            except ModelError as exc:
                self._metrics.model_errors.labels(type(exc).__name__).inc()
                self._alarm(exc)
                raise
            except _Retryable as exc:
                self._metrics.model_errors.labels(str(exc).replace(" ", "_")).inc()
                delay = self._policy.backoff(attempt, exc.retry_after)
                last = attempt + 1 == self._policy.attempts
                if last or self._clock() - started + delay > self._policy.deadline:
                    raise ModelUnavailable(f"gave up after {attempt + 1} attempt(s): {exc}") from exc
                logger.warning("model call failed (%s); retry %d in %.1fs", exc, attempt + 1, delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    def _alarm(self, exc: ModelError) -> None:
        """An ERROR when the server refuses our credentials, at most once every ACCESS_ALARM_SECONDS."""
        now = self._clock()
        if not isinstance(exc, ModelAccessDenied) or (
                self._access_alarm_at is not None and now - self._access_alarm_at < ACCESS_ALARM_SECONDS):
            return
        self._access_alarm_at = now
        logger.error("the model server refused the bot's credentials (%s): check OPENAI_API_KEY and the key's "
                     "access to the model; every answer fails until then", exc)


def _has_images(request: ModelRequest) -> bool:
    return any(message.images for message in request.messages)


async def _translated(call: Callable[[], Awaitable[T]], images: bool = False) -> T:
    """Run a call, turning SDK errors into ours: transient ones into _Retryable."""
    try:
        return await call()
    except openai.APIStatusError as exc:
        if images and _is_image_refusal(exc):
            raise ImagesRejected(f"HTTP {exc.status_code}: the model refused image input") from exc
        raise _status_error(exc) from exc
    except (openai.APIConnectionError, openai.APIError, httpx2.HTTPError, BadStream, NoImage, OSError) as exc:
        raise _Retryable(type(exc).__name__) from exc


def _status_error(exc: openai.APIStatusError) -> Exception:
    status = exc.status_code
    if status == 400 and _is_tool_refusal(exc):  # the adapter asks again without them (ToolSupport)
        return _ToolsRefused(f"HTTP {status}: tools refused")
    parameter = _rejected_parameter(exc)
    if parameter is not None:
        return ParameterRejected(parameter)
    if status == 429 or status >= 500 or status == 408:
        return _Retryable(f"HTTP {status}", _retry_after(exc))
    if status in (401, 403):
        return ModelAccessDenied(f"HTTP {status}: {exc.code or type(exc).__name__}")
    if status == 400 and (exc.code in _IMAGE_REFUSALS or "safety system" in str(exc.message).lower()):
        return ImageRefused(f"HTTP {status}: {exc.code or 'content policy'}")
    if status == 400 and _is_context_length(exc):
        return ContextTooLong(f"HTTP {status}: context length exceeded")
    return ModelRejected(f"HTTP {status}: {exc.code or type(exc).__name__}")


# What OpenAI's image models answer a prompt their content policy declines with.
_IMAGE_REFUSALS = ("content_policy_violation", "moderation_blocked")


def _is_image_refusal(exc: openai.APIStatusError) -> bool:
    """A 400 naming images or content parts (OpenAI: "Invalid content type. image_url is only supported by
    certain models."; other servers: "not a multimodal model", "At most 0 image(s) may be provided")."""
    if exc.status_code != 400 or _is_context_length(exc):
        return False
    said = " ".join(str(part or "") for part in (exc.message, exc.code, getattr(exc, "param", None), _body(exc)))
    return any(word in said.lower() for word in ("image", "content", "multimodal", "vision"))


# Parameters a model may not take, which a request can do without (or send another way).
_OPTIONAL_PARAMETERS = ("temperature", "max_tokens", "tools", "tool_choice")


def _rejected_parameter(exc: openai.APIStatusError) -> str | None:
    """The parameter a 400 says the model does not take (OpenAI: "Unsupported parameter: 'max_tokens' is not
    supported with this model.", code unsupported_parameter/unsupported_value, param named; other servers name it
    unquoted: "temperature is not supported", "does not accept max_tokens", in a body of any shape)."""
    said = f"{exc.message} {_body(exc)}".lower()
    refusal = any(word in said for word in _REFUSING) or exc.code in ("unsupported_parameter", "unsupported_value")
    if exc.status_code != 400 or not refusal:
        return None
    named = [str(getattr(exc, "param", None) or ""), *re.findall(r"'([a-z_]+)'", said), *re.findall(r"[a-z_]+", said)]
    return next((name for name in named if name in _OPTIONAL_PARAMETERS), None)


# How a 400 says a parameter is not taken at all (not that its value is out of range).
_REFUSING = ("support", "not allowed", "accept")


def _is_tool_refusal(exc: openai.APIStatusError) -> bool:
    """A 400 naming tools or functions (OpenAI: "tools is not supported in this model"; others: "Unrecognized
    request argument supplied: tools", "does not support tools", "tool choice requires --enable-auto-tool-choice")."""
    if getattr(exc, "param", None) == "messages":  # about the messages (a tool result without its call, say)
        return False
    said = " ".join(str(part or "") for part in (exc.message, exc.code, getattr(exc, "param", None), _body(exc)))
    return "tool" in said.lower() or "function" in said.lower()


def _body(exc: openai.APIStatusError) -> str:
    """What an error's body says in words, but not a web page's (its scripts say "function"): the SDK's message is
    only "Error code: 400" for a body not in OpenAI's shape ({"detail": …}, plain text). Only its text fields count:
    a body that echoes the request (``"input": {…}``) names every parameter sent."""
    if isinstance(exc.body, str):
        text = exc.body[:2000]
        return "" if text.lstrip().startswith("<") else text
    return " ".join(_text_fields(exc.body))[:2000]


# The fields in which error bodies of any shape say what went wrong (OpenAI, FastAPI/pydantic, vLLM, Ollama…).
_TEXT_FIELDS = ("message", "msg", "detail", "error", "code", "param", "type")


def _text_fields(value: object, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, dict):
        return [text for key in _TEXT_FIELDS if key in value for text in _text_fields(value[key], depth + 1)]
    if isinstance(value, list):
        return [text for item in value[:10] for text in _text_fields(item, depth + 1)]
    return []


def _is_context_length(exc: openai.APIStatusError) -> bool:
    return exc.code == "context_length_exceeded" or "context length" in str(exc.message).lower()


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def build_client(api_key: str, base_url: str | None, timeout_seconds: float) -> openai.AsyncOpenAI:
    """The SDK client with its own retries off: OpenAIModel is the only place that retries."""
    timeout = openai.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
    # The SDK's aiohttp transport: half the CPU per request of its default one (see bot/telegram_http.py).
    return openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout,
                              http_client=openai.DefaultAioHttpClient(timeout=timeout))
