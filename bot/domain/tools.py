"""Tools the model may call: plain values for specs, calls and results, the ``Tool`` port, and the ``Toolbox``.

A tool is anything with a ``spec`` (what the model is told), ``progress`` (what the user is shown while it runs)
and an async ``run``. Built-in tools live in ``bot/tools/``; MCP servers add theirs to the Toolbox when they come
up. The loop that runs calls for a turn is ``domain/toolloop.py``.

Errors: a tool raises ``ToolError`` with a message meant for the model ("no such reminder"); anything else it
raises is logged and reported to the model as a failure without details. Neither ever reaches the user.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.chat import ChatKey

logger = logging.getLogger(__name__)

JSONObject = Mapping[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: its name, what it does, and its parameters as a JSON Schema object."""

    name: str
    description: str
    parameters: JSONObject = field(default_factory=lambda: {"type": "object", "properties": {}})
    title: str = ""  # a short human name for progress lines (MCP tools have one); the name when empty
    seconds: float | None = None  # this tool's own time limit instead of TOOL_TIMEOUT_SECONDS (making an image)

    def as_openai(self) -> dict[str, Any]:
        """The entry of a chat request's ``tools`` list."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: the id it gave, the function's name and its arguments as JSON text."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed(self) -> dict[str, Any]:
        """The arguments as an object; ToolError when they are not a JSON object."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            raise ToolError("the arguments are not valid JSON") from None
        if not isinstance(value, dict):
            raise ToolError("the arguments must be a JSON object")
        return value


class Outcome(enum.Enum):
    """How a call ended, as metrics count it."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"  # the model named a tool we do not offer


@dataclass(frozen=True)
class ToolResult:
    """What a call returned to the model (``content``, sent as the ``role: "tool"`` message) and how it ended."""

    call_id: str
    content: str
    outcome: Outcome = Outcome.OK


@dataclass(frozen=True)
class Progress:
    """What the user sees while a call runs: a kind of line (its text is in telegram/texts.py) and its subject.

    Kinds: "search" (subject: the query), "read" (the site), "time", "reminder", "image" (the prompt), "tool" (the
    tool's title).
    """

    kind: str
    subject: str = ""


@dataclass(frozen=True)
class ToolContext:
    """Whose turn a call belongs to: tools act only for this chat (reminders are kept per chat)."""

    chat: ChatKey
    user_id: int
    message_id: int | None = None  # the message that asked, for answers that reply to it later
    turn_id: str | None = None


@dataclass(frozen=True)
class ToolLimits:
    """TOOL_TIMEOUT_SECONDS, TOOL_MAX_ROUNDS and TOOL_RESULT_MAX_TOKENS."""

    timeout_seconds: float = 20.0
    max_rounds: int = 5
    result_max_tokens: int = 3000


class ToolError(Exception):
    """A call failed; the message is shown to the model (never to the user), so it holds no secrets."""


class Tool(Protocol):
    """One function the model may call."""

    @property
    def spec(self) -> ToolSpec: ...

    def progress(self, arguments: JSONObject) -> Progress: ...

    async def run(self, arguments: JSONObject, context: ToolContext) -> str: ...


class Toolbox:
    """The tools offered to the model, by name; tools may be added while the bot runs (an MCP server coming up)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Offer a tool from the next request on; a name can be offered once."""
        if tool.spec.name in self._tools:
            raise ValueError(f"a tool named {tool.spec.name!r} is offered already")
        self._tools[tool.spec.name] = tool

    def remove(self, name: str) -> None:
        """Stop offering a tool (its server went away)."""
        self._tools.pop(name, None)

    def __len__(self) -> int:
        return len(self._tools)

    def __bool__(self) -> bool:
        return True  # an empty toolbox is still the one MCP servers add their tools to when they come up

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def specs(self) -> tuple[ToolSpec, ...]:
        """What the model is told, in the order the tools were added."""
        return tuple(tool.spec for tool in self._tools.values())

    def progress(self, call: ToolCall) -> Progress:
        """The line the user sees while ``call`` runs."""
        tool = self._tools.get(call.name)
        if tool is None:
            return Progress("tool", call.name)
        try:
            return tool.progress(call.parsed())
        except ToolError:
            return Progress("tool", tool.spec.title or call.name)

    async def run(self, call: ToolCall, context: ToolContext, seconds: float) -> ToolResult:
        """Run one call within ``seconds``; every failure becomes an error result for the model."""
        tool = self._tools.get(call.name)
        if tool is None:
            return ToolResult(call.id, f"Error: there is no tool named {call.name!r}.", Outcome.UNKNOWN)
        seconds = tool.spec.seconds or seconds
        try:
            async with asyncio.timeout(seconds):
                content = await tool.run(call.parsed(), context)
        except TimeoutError:
            return ToolResult(call.id, f"Error: the tool did not finish within {seconds:g} seconds.", Outcome.TIMEOUT)
        except ToolError as exc:
            return ToolResult(call.id, f"Error: {exc}", Outcome.ERROR)
        except Exception as exc:  # a tool's bug or a backend's odd failure: the model hears only that it failed
            logger.warning("tool %s failed: %s", call.name, type(exc).__name__, exc_info=exc)
            return ToolResult(call.id, "Error: the tool failed unexpectedly.", Outcome.ERROR)
        return ToolResult(call.id, content)
