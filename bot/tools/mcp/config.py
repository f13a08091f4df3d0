"""MCP_SERVERS_FILE: the operator's MCP servers, one ``[servers.NAME]`` table each, read and checked at start.

A Streamable HTTP server has ``url`` (and optional ``headers``); a stdio server has ``command`` (and optional
``args`` and ``env``). Either may narrow its tools with ``allow = [...]`` or ``deny = [...]``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# The model sees ``<server>__<tool>``, and a function name may have at most 64 of [A-Za-z0-9_-].
_NAME = re.compile(r"^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$")
MAX_NAME_CHARS = 24
_KEYS = {"url", "headers", "command", "args", "env", "allow", "deny"}


class McpFileError(Exception):
    """The MCP servers file cannot be read or has an invalid entry."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server: how to reach it, and which of its tools to offer."""

    name: str
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    def offers(self, tool: str) -> bool:
        """Whether a tool of this server is offered to the model (``allow`` / ``deny``)."""
        return (self.allow is None or tool in self.allow) and tool not in self.deny

    def secrets(self) -> list[str]:
        """Header and environment values: they may hold tokens, so logs never show them."""
        return [value for _, value in (*self.headers, *self.env) if len(value) >= 8]


def load_servers(path: str | None) -> tuple[McpServerConfig, ...]:
    """The servers of the file (none without one); McpFileError naming the first problem."""
    if path is None:
        return ()
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise McpFileError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise McpFileError(path, f"is not valid TOML ({exc})") from None
    servers = data.get("servers")
    if set(data) - {"servers"} or not isinstance(servers, dict):
        raise McpFileError(path, "must hold only [servers.NAME] tables")
    try:
        return tuple(_server(name, table) for name, table in servers.items())
    except ValueError as exc:
        raise McpFileError(path, str(exc)) from None


def _server(name: str, table: Any) -> McpServerConfig:
    where = f"servers.{name}"
    if not _NAME.match(name) or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"{where}: a server name is 1-{MAX_NAME_CHARS} of A-Z a-z 0-9 - and single _")
    if not isinstance(table, dict):
        raise ValueError(f"{where}: must be a table")
    if unknown := sorted(set(table) - _KEYS):
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(sorted(_KEYS))})")
    if ("url" in table) == ("command" in table):
        raise ValueError(f"{where}: needs either url (Streamable HTTP) or command (stdio)")
    if "allow" in table and "deny" in table:
        raise ValueError(f"{where}: has both allow and deny; use one")
    if "url" in table:
        return _http(name, where, table)
    return _stdio(name, where, table)


def _http(name: str, where: str, table: dict[str, Any]) -> McpServerConfig:
    url = _string(table["url"], f"{where}.url")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"{where}.url: must be an http:// or https:// URL")
    for key in ("args", "env"):
        if key in table:
            raise ValueError(f"{where}.{key}: is for stdio servers (command), not url ones")
    return McpServerConfig(name, url=url, headers=_pairs(table.get("headers", {}), f"{where}.headers"),
                           **_filters(table, where))


def _stdio(name: str, where: str, table: dict[str, Any]) -> McpServerConfig:
    if "headers" in table:
        raise ValueError(f"{where}.headers: is for url servers, not command ones")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ValueError(f"{where}.args: must be a list of strings")
    return McpServerConfig(name, command=_string(table["command"], f"{where}.command"), args=tuple(args),
                           env=_pairs(table.get("env", {}), f"{where}.env"), **_filters(table, where))


def _filters(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    if "allow" in table:
        return {"allow": frozenset(_names(table["allow"], f"{where}.allow"))}
    return {"deny": frozenset(_names(table.get("deny", []), f"{where}.deny"))}


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: must be a list of tool names")
    return list(value)


def _pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{where}: must be a table of strings, like {{ Name = \"value\" }}")
    return tuple(value.items())


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: must be a non-empty string")
    return value
