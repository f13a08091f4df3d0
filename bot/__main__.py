"""``python -m bot``: load settings, then serve the webhook (WEBHOOK_URL set) or poll (local development)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from bot.config import Settings, load_settings, read_environment, webhook_problem
from bot.domain.personas import PersonaCatalog, PersonaFileError
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.store.address import secrets_in
from bot.tools.mcp.config import McpFileError, McpServerConfig, load_servers

EXIT_FAILURE = 1
EXIT_CONFIG = 2
COMMANDS = ("run", "set-webhook", "delete-webhook")


def main(argv: list[str]) -> int:
    """Run the bot (or a deploy command); configuration problems end it with exit code 2 and one line."""
    command = argv[0] if argv else "run"
    if command == "--version" and len(argv) == 1:
        from bot.version import commit, version

        print(f"telegram-llm-bot {version()} ({commit()})")
        return 0
    if command not in COMMANDS or len(argv) > 1:
        print(f"usage: python -m bot [{' | '.join(COMMANDS)} | --version]", file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings = load_settings(read_environment())
        personas = PersonaCatalog.load(settings.personas_file)
        mcp_servers = load_servers(settings.mcp_servers_file)
    except ConfigError as exc:
        return _config_error(f"{exc.variable}: {exc.expected}")
    except PersonaFileError as exc:
        return _config_error(f"persona file {exc.path}: {exc.problem}")
    except McpFileError as exc:
        return _config_error(f"MCP servers file {exc.path}: {exc.problem}")
    if command == "set-webhook" and not settings.webhook_url:
        return _config_error("WEBHOOK_URL: is required for set-webhook (the public HTTPS URL of the webhook)")
    configure_logging(settings.log_level, settings.log_format, _secrets(settings, mcp_servers))
    _warn_of_the_webhook(settings)
    return _start(command, settings, personas, mcp_servers)


def _warn_of_the_webhook(settings: Settings) -> None:
    """A WEBHOOK_URL only a non-default Bot API server (TELEGRAM_API_URL) may accept: accepted, with a warning."""
    problem = webhook_problem(settings)
    if problem:
        logging.getLogger("bot").warning(
            "WEBHOOK_URL: %s; accepted because TELEGRAM_API_URL is not api.telegram.org", problem)


def _start(command: str, settings: Settings, personas: PersonaCatalog,
           mcp_servers: tuple[McpServerConfig, ...]) -> int:
    # Imported only now: a configuration error is reported without loading Telegram, Redis and the web server.
    from redis.exceptions import RedisError
    from telegram.error import InvalidToken, TelegramError

    try:
        _run(_serve(command, settings, personas, mcp_servers))
    except ConfigError as exc:  # a value only a client's own parsing refuses (REDIS_URL's ?options)
        return _config_error(f"{exc.variable}: {exc.expected}")
    except InvalidToken:
        return _config_error("TELEGRAM_BOT_TOKEN: rejected by the Bot API (check the token from @BotFather)")
    except TelegramError as exc:
        return _failure(f"the Telegram Bot API failed: {type(exc).__name__}: {exc}", _secrets(settings))
    except (RedisError, OSError) as exc:
        return _failure(f"Redis failed: {type(exc).__name__}: {exc}", _secrets(settings))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(command: str, settings: Settings, personas: PersonaCatalog,
                 mcp_servers: tuple[McpServerConfig, ...]) -> None:
    from bot.ingress import service
    from bot.wiring import build_runtime

    runtime = build_runtime(settings, personas, mcp_servers)
    try:
        if command == "set-webhook":
            await service.set_webhook(runtime)
        elif command == "delete-webhook":
            await service.delete_webhook(runtime)
        else:
            await service.Service(runtime).run(polling=not settings.webhook_url)
    finally:
        await runtime.close()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it exists: less CPU per update than asyncio's own loop (not on Windows)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _secrets(settings: Settings, mcp_servers: tuple[McpServerConfig, ...] = ()) -> list[str]:
    secrets = [settings.telegram_bot_token, settings.openai_api_key, settings.webhook_secret]
    secrets += [secret for server in mcp_servers for secret in server.secrets()]  # MCP headers and env
    return [*secrets, *secrets_in(settings.redis_url or "")]  # REDIS_URL's password, as written and decoded


def _failure(line: str, secrets: list[str]) -> int:
    """A start or deploy command that could not reach Telegram or Redis: one line, exit code 1."""
    for secret in filter(None, secrets):
        line = line.replace(secret, "***")
    print(f"error: {line}", file=sys.stderr)
    return EXIT_FAILURE


def _config_error(line: str) -> int:
    print(f"configuration error: {line}", file=sys.stderr)
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
