"""The OpenAI adapter, loaded once the process serves: importing the SDK takes over half a second of start-up.

The import runs in a worker thread, so the event loop keeps answering meanwhile (it gets the GIL back every few
milliseconds); the client is then built in the loop, which its connections belong to. A call that comes before
the adapter is ready waits for it, so no answer starts later than it would have with the import at start-up.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import Protocol

from bot.domain.ports import Heard, ModelRequest, Recording, ReplyStream, Usage
from bot.metrics import Metrics
from bot.model.toolsupport import ToolSupport

logger = logging.getLogger(__name__)


class Model(Protocol):
    """What the adapter does for the domain: streams, summaries, moderation, transcription."""

    async def stream(self, request: ModelRequest) -> ReplyStream: ...
    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]: ...
    async def flagged(self, text: str) -> bool: ...
    async def transcribe(self, recording: Recording, model: str) -> Heard: ...
    async def draw(self, prompt: str, model: str, size: str) -> bytes: ...
    async def aclose(self) -> None: ...


class DeferredModel:
    """ChatModel, Moderator and Transcriber whose OpenAI adapter is imported in the background after ``load`` (or
    on first use)."""

    def __init__(self, api_key: str, base_url: str | None, timeout_seconds: float, metrics: Metrics, *,
                 preload: Callable[[], object] = lambda: None, tool_support: ToolSupport | None = None) -> None:
        self._client_options = (api_key, base_url, timeout_seconds)
        self._tool_support = tool_support
        self._metrics = metrics
        self._preload = preload
        self._ready: asyncio.Task[Model] | None = None

    def load(self) -> None:
        """Start loading (once): ``preload`` and the SDK's import in a worker thread, then the client."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_task(self._build())

    async def stream(self, request: ModelRequest) -> ReplyStream:
        """An answer's stream (ChatModel)."""
        return await (await self._model()).stream(request)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        """A whole answer at once (ChatModel)."""
        return await (await self._model()).complete(request)

    async def flagged(self, text: str) -> bool:
        """Whether moderation flags the text (Moderator)."""
        return await (await self._model()).flagged(text)

    async def transcribe(self, recording: Recording, model: str) -> Heard:
        """Speech to text (Transcriber)."""
        return await (await self._model()).transcribe(recording, model)

    async def draw(self, prompt: str, model: str, size: str) -> bytes:
        """An image of the prompt (ImageModel)."""
        return await (await self._model()).draw(prompt, model, size)

    async def aclose(self) -> None:
        """Close the client's connections, once it is built (may run more than once)."""
        if self._ready is not None:
            try:
                model = await self._ready
            except Exception:  # already raised to every caller; nothing to close
                return
            await model.aclose()

    async def _model(self) -> Model:
        self.load()
        assert self._ready is not None
        return await asyncio.shield(self._ready)  # a cancelled turn must not cancel the load for the others

    async def _build(self) -> Model:
        try:
            await asyncio.to_thread(self._prepare)
        except Exception:
            logger.exception("the model adapter could not be loaded; every model call will fail")
            raise
        from bot.model.openai_chat import OpenAIModel, build_client  # imported by now: a lookup in sys.modules

        model = OpenAIModel(build_client(*self._client_options), metrics=self._metrics,
                            tool_support=self._tool_support)
        # What the import built lives as long as the process: out of the collector's full passes with the rest
        # of start-up (see ingress/service.py's _freeze_heap).
        gc.freeze()
        logger.debug("model adapter loaded")
        return model

    def _prepare(self) -> None:
        self._preload()
        import bot.model.openai_chat  # noqa: F401  (importing it is the work)
