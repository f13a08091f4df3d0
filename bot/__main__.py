"""``python -m bot``: load settings, then serve the webhook (WEBHOOK_URL set) or poll (local development)."""

from __future__ import annotations

import asyncio
import sys

from telegram.error import InvalidToken

from bot.app import build_runtime, run_polling, run_webhook
from bot.config import Settings, load_settings, read_environment
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.personas import PersonaCatalog, PersonaFileError

EXIT_CONFIG = 2


def main(argv: list[str]) -> int:
    """Run the bot; configuration problems end it with exit code 2 and one line on stderr."""
    try:
        settings = load_settings(read_environment())
        personas = PersonaCatalog.load(settings.personas_file)
    except ConfigError as exc:
        return _config_error(f"{exc.variable}: {exc.expected}")
    except PersonaFileError as exc:
        return _config_error(f"persona file {exc.path}: {exc.problem}")
    configure_logging(settings.log_level, [settings.telegram_bot_token, settings.openai_api_key])
    try:
        asyncio.run(_serve(settings, personas))
    except InvalidToken:
        return _config_error("TELEGRAM_BOT_TOKEN: rejected by the Bot API (check the token from @BotFather)")
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(settings: Settings, personas: PersonaCatalog) -> None:
    runtime = build_runtime(settings, personas)
    if settings.webhook_url:
        await run_webhook(runtime)
    else:
        await run_polling(runtime)


def _config_error(line: str) -> int:
    print(f"configuration error: {line}", file=sys.stderr)
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
