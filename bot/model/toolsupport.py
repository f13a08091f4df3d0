"""Whether a model's server takes ``tools``: learnt from its first refusal (a 400 naming tools or functions).

A small seam: this process remembers it per model; a store-backed one may share it between replicas.
"""

from __future__ import annotations

import logging
from typing import Protocol

logger = logging.getLogger(__name__)


class ToolSupport(Protocol):
    """What the adapter knows of a model's tool support."""

    async def accepts(self, model: str) -> bool: ...
    async def refused(self, model: str) -> None: ...


class RememberedToolSupport:
    """Every model takes tools until its server refuses them once; then it is asked without, and the operator
    is warned once per model."""

    def __init__(self) -> None:
        self._refused: set[str] = set()

    async def accepts(self, model: str) -> bool:
        """False once the model's server refused tools."""
        return model not in self._refused

    async def refused(self, model: str) -> None:
        """The server refused a request's tools (a 400 naming them)."""
        if model not in self._refused:
            self._refused.add(model)
            logger.warning("the model server refused a request with tools for %s (HTTP 400); asking without "
                           "tools from now on (set TOOLS=none to silence this)", model)


class ToolMemory(Protocol):
    """Where replicas share what a model refuses (store/capabilities.py)."""

    async def refuses_tools(self, model: str) -> bool: ...
    async def refused_tools(self, model: str) -> None: ...


class SharedToolSupport(RememberedToolSupport):
    """RememberedToolSupport whose refusals are shared between replicas for a day, through the store."""

    def __init__(self, memory: ToolMemory) -> None:
        super().__init__()
        self._memory = memory

    async def accepts(self, model: str) -> bool:
        return await super().accepts(model) and not await self._memory.refuses_tools(model)

    async def refused(self, model: str) -> None:
        await super().refused(model)
        await self._memory.refused_tools(model)
