"""Tool calls assembled from a stream's ``delta.tool_calls`` fragments, as OpenAI sends them.

The first fragment of a call carries its ``index``, ``id`` and function ``name``; later ones carry the same
index and a piece of the ``arguments`` JSON text. Several calls are told apart by index (servers that send each
call whole, without an index, are told apart by id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.domain.tools import ToolCall


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects the fragments of one stream's tool calls; ``calls()`` gives them whole, in index order."""

    def __init__(self) -> None:
        self._partials: dict[int, _Partial] = {}

    def add(self, fragments: Any) -> bool:
        """Take one delta's ``tool_calls``; False when they are not of the expected shape (nothing is taken)."""
        if not isinstance(fragments, list) or not all(_is_fragment(f) for f in fragments):
            return False
        for fragment in fragments:
            self._take(fragment)
        return True

    def calls(self) -> tuple[ToolCall, ...]:
        """The calls with a name; a call the server gave no id gets one (the reply must name it)."""
        return tuple(ToolCall(p.id or f"call_{uuid.uuid4().hex[:24]}", p.name, "".join(p.arguments) or "{}")
                     for _, p in sorted(self._partials.items()) if p.name)

    def _take(self, fragment: dict[str, Any]) -> None:
        partial = self._partials.setdefault(self._index(fragment), _Partial())
        function = fragment.get("function") or {}
        partial.id = partial.id or fragment.get("id") or ""
        partial.name = partial.name or function.get("name") or ""
        if function.get("arguments"):
            partial.arguments.append(function["arguments"])

    def _index(self, fragment: dict[str, Any]) -> int:
        index = fragment.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        known = [i for i, p in self._partials.items() if fragment.get("id") and p.id == fragment.get("id")]
        return known[0] if known else len(self._partials)


def _is_fragment(fragment: Any) -> bool:
    if not isinstance(fragment, dict):
        return False
    function = fragment.get("function")
    if function is None:
        return isinstance(fragment.get("id"), str | None)
    return (isinstance(function, dict) and isinstance(fragment.get("id"), str | None)
            and all(isinstance(function.get(key), str | None) for key in ("name", "arguments")))
