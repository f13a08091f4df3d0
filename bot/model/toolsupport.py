"""Whether a model's server takes ``tools``: learnt from its first refusal (a 400 to a request with tools).

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
        """The server answered 400 to a request with tools."""
        if model not in self._refused:
            self._refused.add(model)
            logger.warning("the model server refused a request with tools for %s (HTTP 400); asking without "
                           "tools from now on (set TOOLS=none to silence this)", model)
