"""Asking a model the way it takes it: what it was learnt to refuse is left out, and a 400 naming a parameter
is learnt (for all replicas, a day) and the call made again without it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.domain.capability import Limit, is_reasoning
from bot.domain.ports import ChatModel, ModelLimits, ModelRequest, ReplyStream, Usage
from bot.errors import ParameterRejected

logger = logging.getLogger(__name__)


async def _unseen() -> None:
    """No one watches a summary being written: nothing to show while the model thinks."""


class Learner:
    """Asks for streams and whole answers shaped by what each model refuses; remembers reasoning models by
    their reasoning tokens."""

    def __init__(self, model: ChatModel, limits: ModelLimits | None = None) -> None:
        self._model = model
        self._limits = limits

    async def stream(self, request: ModelRequest, thinking: Callable[[], Awaitable[None]]) -> ReplyStream:
        """The model's stream; ``thinking`` is awaited (once) before a reasoning model is asked."""
        limits = await self._known(request.model)
        told = False
        while True:
            if is_reasoning(limits) and not told:
                told = True
                await thinking()
            try:
                return await self._model.stream(replace(request, limits=limits))
            except ParameterRejected as exc:
                limits = await self._learnt(request.model, exc, limits)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        """The model's whole answer (a summary), asked the same way: without what it refuses."""
        limits = await self._known(request.model)
        while True:
            try:
                return await self._model.complete(replace(request, limits=limits))
            except ParameterRejected as exc:
                limits = await self._learnt(request.model, exc, limits)

    def asking(self, thinking: Callable[[], Awaitable[None]] = _unseen) -> ChatModel:
        """This learner as a ChatModel (for the tool loop and the summary); ``thinking`` as for ``stream``."""
        return _Asking(self, thinking)

    async def used(self, model: str, usage: Usage | None) -> None:
        """A model that spent reasoning tokens is a reasoning model: its next answers show that it thinks."""
        if usage is not None and usage.reasoning_tokens and self._limits is not None:
            await self._limits.learn(model, Limit.REASONS)

    async def _known(self, model: str) -> frozenset[Limit]:
        return await self._limits.limits(model) if self._limits is not None else frozenset()

    async def _learnt(self, model: str, exc: ParameterRejected, limits: frozenset[Limit]) -> frozenset[Limit]:
        limit = Limit.of_parameter(exc.parameter)
        if limit is None or limit in limits or self._limits is None:
            raise exc
        logger.info("the model refuses %r; asking again without it (remembered for a day)", exc.parameter)
        await self._limits.learn(model, limit)
        return limits | {limit}


class _Asking:
    """A ChatModel whose streams and whole answers go through a Learner."""

    def __init__(self, learner: Learner, thinking: Callable[[], Awaitable[None]]) -> None:
        self._learner = learner
        self._thinking = thinking

    async def stream(self, request: ModelRequest) -> ReplyStream:
        return await self._learner.stream(request, self._thinking)

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        return await self._learner.complete(request)
