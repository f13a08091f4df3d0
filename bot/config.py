"""Settings: read once from the environment (and .env) into a frozen dataclass."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.errors import ConfigError

T = TypeVar("T")

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_STREAM_MODES = ("edit", "draft")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be configured with; see .env.example for the meaning of each."""

    telegram_bot_token: str = field(repr=False)
    openai_api_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    openai_base_url: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    redis_url: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    openai_model: str = "gpt-4o-mini"
    temperature: float = 0.7
    max_reply_tokens: int = 1024
    history_ttl_seconds: int = 604800
    stream_edit_interval: float = 1.0
    log_level: str = "INFO"
    context_max_tokens: int = 4000
    summary_model: str = "gpt-4o-mini"
    summary_max_tokens: int = 400
    stream_group_edit_interval: float = 3.0
    stream_mode: str = "edit"
    personas_file: str | None = None
    settings_ttl_seconds: int = 90 * 86400
    group_settings_admin_only: bool = True
    allowed_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    openai_timeout_seconds: float = 60.0
    shutdown_grace_seconds: float = 30.0
    ingress_claim_idle_seconds: float = 30.0
    telegram_messages_per_second: int = 30
    log_format: str = "text"
    model_prices: tuple[tuple[str, float, float], ...] = ()
    daily_token_budget_per_user: int = 0
    daily_token_budget_per_chat: int = 0
    admin_user_ids: frozenset[int] = frozenset()
    user_messages_per_minute: int = 12
    moderation: bool = False
    moderation_fail_closed: bool = False

    @property
    def bot_id(self) -> str:
        """The numeric bot id, the part of the token before the colon (not secret)."""
        return self.telegram_bot_token.split(":", 1)[0]

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook route listens."""
        return urlsplit(self.webhook_url or "").path or "/"


def read_environment(dotenv_path: str | Path = ".env") -> dict[str, str]:
    """The process environment over the values of .env (the environment wins)."""
    from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    return {**from_file, **os.environ}


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse and validate every setting; raise ConfigError naming the first bad variable."""
    reader = _Reader(env)
    token = reader.text("TELEGRAM_BOT_TOKEN", required=True, pattern=_TOKEN, expected="a bot token like 123456:ABC-DEF")
    model = reader.text("OPENAI_MODEL", default="gpt-4o-mini")
    return Settings(
        telegram_bot_token=token,
        openai_api_key=reader.text("OPENAI_API_KEY", required=True),
        webhook_secret=reader.text(
            "WEBHOOK_SECRET", default=derive_webhook_secret(token), pattern=_SECRET,
            expected="1-256 characters of A-Z a-z 0-9 _ -",
        ),
        openai_base_url=reader.url("OPENAI_BASE_URL", ("http", "https")),
        telegram_api_url=reader.url("TELEGRAM_API_URL", ("http", "https")) or "https://api.telegram.org",
        redis_url=reader.url("REDIS_URL", ("redis", "rediss", "unix")),
        webhook_url=reader.url("WEBHOOK_URL", ("http", "https")),
        host=reader.text("HOST", default="0.0.0.0"),
        port=reader.number("PORT", int, 8080, low=1, high=65535),
        openai_model=model,
        temperature=reader.number("TEMPERATURE", float, 0.7, low=0.0, high=2.0),
        max_reply_tokens=reader.number("MAX_REPLY_TOKENS", int, 1024, low=1),
        history_ttl_seconds=reader.number("HISTORY_TTL_SECONDS", int, 604800, low=1),
        stream_edit_interval=reader.number("STREAM_EDIT_INTERVAL", float, 1.0, low=0.05),
        log_level=reader.choice("LOG_LEVEL", _LOG_LEVELS, "INFO"),
        context_max_tokens=reader.number("CONTEXT_MAX_TOKENS", int, 4000, low=1),
        summary_model=reader.text("SUMMARY_MODEL", default=model),
        summary_max_tokens=reader.number("SUMMARY_MAX_TOKENS", int, 400, low=1),
        stream_group_edit_interval=reader.number("STREAM_GROUP_EDIT_INTERVAL", float, 3.0, low=0.05),
        stream_mode=reader.choice("STREAM_MODE", _STREAM_MODES, "edit"),
        personas_file=reader.raw("PERSONAS_FILE"),
        settings_ttl_seconds=reader.number("SETTINGS_TTL_SECONDS", int, 90 * 86400, low=1),
        group_settings_admin_only=reader.flag("GROUP_SETTINGS_ADMIN_ONLY", True),
        allowed_user_ids=reader.ids("ALLOWED_USER_IDS"),
        allowed_chat_ids=reader.ids("ALLOWED_CHAT_IDS"),
        openai_timeout_seconds=reader.number("OPENAI_TIMEOUT_SECONDS", float, 60.0, low=1.0),
        shutdown_grace_seconds=reader.number("SHUTDOWN_GRACE_SECONDS", float, 30.0, low=0.0),
        ingress_claim_idle_seconds=reader.number("INGRESS_CLAIM_IDLE_SECONDS", float, 30.0, low=1.0),
        telegram_messages_per_second=reader.number("TELEGRAM_MESSAGES_PER_SECOND", int, 30, low=1, high=1000),
        log_format=reader.choice("LOG_FORMAT", ("text", "json"), "text"),
        model_prices=reader.prices("MODEL_PRICES"),
        daily_token_budget_per_user=reader.number("DAILY_TOKEN_BUDGET_PER_USER", int, 0, low=0),
        daily_token_budget_per_chat=reader.number("DAILY_TOKEN_BUDGET_PER_CHAT", int, 0, low=0),
        admin_user_ids=reader.ids("ADMIN_USER_IDS"),
        user_messages_per_minute=reader.number("USER_MESSAGES_PER_MINUTE", int, 12, low=0),
        moderation=reader.flag("MODERATION", False),
        moderation_fail_closed=reader.flag("MODERATION_FAIL_CLOSED", False),
    )


def derive_webhook_secret(token: str) -> str:
    """A webhook secret every replica derives alike from the bot token, without revealing it."""
    return hmac.new(token.encode(), b"telegram-webhook-secret", hashlib.sha256).hexdigest()


class _Reader:
    """Typed access to raw variables; empty values count as unset."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def raw(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(
        self, name: str, *, default: str = "", required: bool = False,
        pattern: re.Pattern[str] | None = None, expected: str = "a non-empty value",
    ) -> str:
        value = self.raw(name)
        if value is None:
            if required:
                raise ConfigError(name, f"is required ({expected})")
            return default
        if pattern is not None and not pattern.match(value):
            raise ConfigError(name, f"expected {expected}")
        return value

    def number(self, name: str, kind: Callable[[str], T], default: T, *,
               low: float | None = None, high: float | None = None) -> T:
        value = self.raw(name)
        if value is None:
            return default
        expected = _range_text(kind, low, high)
        try:
            parsed = kind(value)
        except ValueError:
            raise ConfigError(name, f"expected {expected}, got {value!r}") from None
        number = float(parsed)  # type: ignore[arg-type]
        if number != number or (low is not None and number < low) or (high is not None and number > high):
            raise ConfigError(name, f"expected {expected}, got {value!r}")
        return parsed

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.raw(name)
        if value is None:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {value!r}")

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(name, f"expected true or false, got {value!r}")

    def ids(self, name: str) -> frozenset[int]:
        value = self.raw(name) or ""
        try:
            return frozenset(int(part) for part in value.split(",") if part.strip())
        except ValueError:
            raise ConfigError(name, f"expected comma-separated numeric ids, got {value!r}") from None

    def prices(self, name: str) -> tuple[tuple[str, float, float], ...]:
        """{"model": {"input": USD per 1M tokens, "output": USD per 1M tokens}, …}"""
        value = self.raw(name)
        if value is None:
            return ()
        expected = 'JSON like {"gpt-4o-mini": {"input": 0.15, "output": 0.6}} (USD per 1M tokens)'
        try:
            data = json.loads(value)
            return tuple((str(model), float(p["input"]), float(p["output"])) for model, p in data.items())
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ConfigError(name, f"expected {expected}") from None

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.scheme == "unix"):
            raise ConfigError(name, f"expected a {' or '.join(s + '://' for s in schemes)} URL")
        return value.rstrip("/") if parts.scheme in ("http", "https") else value


def _range_text(kind: Callable[[str], object], low: float | None, high: float | None) -> str:
    noun = "an integer" if kind is int else "a number"
    if low is not None and high is not None:
        return f"{noun} from {_fmt(low)} to {_fmt(high)}"
    if low is not None:
        return f"{noun} >= {_fmt(low)}"
    return noun


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
