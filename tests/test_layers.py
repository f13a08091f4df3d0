"""The direction of imports between bot's packages (../shared/DESIGN.md): top may import below, never the reverse."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
ADAPTERS = ("telegram", "starlette", "redis", "openai", "httpx", "httpx2", "aiohttp", "uvicorn", "fakeredis",
            "prometheus_client")
# What each package must not import: foreign libraries, and bot packages above it.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": (*ADAPTERS, "bot.store", "bot.telegram", "bot.ingress", "bot.model", "bot.wiring", "bot.config",
               "bot.metrics", "bot.logs"),
    "store": ("telegram", "starlette", "openai", "bot.telegram", "bot.ingress", "bot.model", "bot.wiring",
              "bot.config"),
    "model": ("telegram", "redis", "starlette", "bot.store", "bot.telegram", "bot.ingress", "bot.wiring"),
    "telegram": ("starlette", "openai", "bot.ingress", "bot.model", "bot.wiring"),
    "ingress": ("bot.wiring",),
    "documents": (*ADAPTERS, "bot.store", "bot.telegram", "bot.ingress", "bot.model", "bot.wiring", "bot.config"),
    "tools": ("telegram", "starlette", "openai", "bot.telegram", "bot.ingress", "bot.model", "bot.wiring",
              "bot.config"),
}


def imported(path: Path) -> Iterator[str]:
    """Every module a file imports, also inside functions (``from x import y`` yields x and x.y)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((BOT / package).rglob("*.py")):
        for module in imported(path):
            if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[package]):
                found.append(f"{path.relative_to(BOT.parent)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "late.py"
    source.write_text("def f() -> None:\n    import redis.asyncio\n    from telegram import Bot\n")
    assert set(imported(source)) >= {"redis.asyncio", "telegram", "telegram.Bot"}


def test_every_package_is_checked() -> None:
    packages = {p.name for p in BOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(FORBIDDEN)
