"""Settings: each environment variable declared once, as a field of the frozen Settings, and read once.

README's configuration table and .env.example are checked against ``declared()`` (tests/test_settings_docs.py).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.store.address import SCHEMES, SENTINEL_FORM, SentinelAddress, is_sentinel
from bot.telegram.i18n.language import SUPPORTED
from bot.variable import (
    Choice,
    Flag,
    Ids,
    Integer,
    Kind,
    ModelList,
    Number,
    PriceJSON,
    Text,
    Url,
    Variable,
    derived,
    required,
    setting,
    variables,
)

_DESCRIPTION = re.compile(r"^.{1,512}$", re.DOTALL)
_SHORT_DESCRIPTION = re.compile(r"^.{1,120}$", re.DOTALL)
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_HTTP = ("http", "https")
TELEGRAM_API = "https://api.telegram.org"
DEFAULT_MODEL = "gpt-4o-mini"
# The ports the Bot API posts webhooks to (https only): https://core.telegram.org/bots/api#setwebhook
WEBHOOK_PORTS = (443, 80, 88, 8443)
# The built-in tools TOOLS may name ("time" is current_time; "reminders" set/list/cancel).
TOOL_NAMES = ("time", "reminders", "web_search", "fetch_url", "generate_image")


class ToolNames(Kind[tuple[str, ...]]):
    """A comma list of built-in tools, or ``none``."""

    def expected(self) -> str:
        return f"none or a comma list of {', '.join(TOOL_NAMES)}"

    def parse(self, value: str) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
        if names == ("none",):
            return ()
        if not names or any(name not in TOOL_NAMES for name in names):
            raise ValueError(value)
        return names

    def format(self, value: Any) -> str:
        return ",".join(value) or "none"


def default_tools(earlier: Mapping[str, Any]) -> tuple[str, ...]:
    """The built-ins whose backend is configured: web_search only with a SearXNG instance, generate_image only with
    IMAGE_GENERATION on."""
    return ("time", "reminders", *(("web_search",) if earlier["searxng_url"] else ()), "fetch_url",
            *(("generate_image",) if earlier["image_generation"] else ()))


class RedisUrl(Url):
    """A redis://, rediss:// or unix:// URL (its port and database checked), or the Sentinel form (its sentinels,
    service and database checked); the ?options are checked where redis-py reads them (bot/store/connection.py)."""

    def expected(self) -> str:
        return f"a redis://, rediss:// or unix:// URL, or {SENTINEL_FORM}"

    def parse(self, value: str) -> str:
        if is_sentinel(value):
            SentinelAddress.parse(value)
            return value
        parts = urlsplit(super().parse(value))
        database = parts.path.removeprefix("/")
        if parts.scheme != "unix" and database and not (database.isascii() and database.isdigit()):
            raise ValueError(value)  # redis-py would quietly use database 0 for a path like /zero
        return value


def derive_webhook_secret(token: str) -> str:
    """A webhook secret every replica derives alike from the bot token, without revealing it."""
    return hmac.new(token.encode(), b"telegram-webhook-secret", hashlib.sha256).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the bot can be configured with: one declaration per environment variable, read in this order."""

    telegram_bot_token: str = required(
        "TELEGRAM_BOT_TOKEN", Text(_TOKEN, "a bot token like 123456:ABC-DEF"), "bot token from @BotFather",
        secret=True)
    openai_api_key: str = required("OPENAI_API_KEY", Text(), "API key of the model server", secret=True)
    webhook_secret: str = derived(
        "WEBHOOK_SECRET", Text(_SECRET, "1-256 characters of A-Z a-z 0-9 _ -"),
        lambda earlier: derive_webhook_secret(earlier["telegram_bot_token"]),
        "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token",
        described_default="HMAC of the bot token, so replicas agree", secret=True)
    openai_base_url: str | None = setting(
        "OPENAI_BASE_URL", Url(_HTTP), None, "OpenAI-compatible server root", described_default="OpenAI")
    telegram_api_url: str = setting(
        "TELEGRAM_API_URL", Url(_HTTP), TELEGRAM_API, "Bot API server root")
    redis_url: str | None = setting(
        "REDIS_URL", RedisUrl(SCHEMES), None, "URL of the Redis shared by the replicas",
        described_default="in-process store (not for production)", secret=True)
    webhook_url: str | None = setting(
        "WEBHOOK_URL", Url(_HTTP), None, "public HTTPS URL Telegram posts updates to; set = webhook mode",
        described_default="unset: long polling")
    host: str = setting("HOST", Text(), "0.0.0.0", "listen address of the webhook server")
    port: int = setting("PORT", Integer(1, 65535), 8080, "listen port of the webhook server")
    models: tuple[tuple[str, str], ...] = setting(
        "MODELS", ModelList(), (), "model ids users may choose from with /model, each optionally id=Label",
        described_default="only `OPENAI_MODEL`")
    openai_model: str = derived(
        "OPENAI_MODEL", Text(), lambda earlier: earlier["models"][0][0] if earlier["models"] else DEFAULT_MODEL,
        "chat model", described_default=f"`{DEFAULT_MODEL}`, or the first of `MODELS` when only that is set")
    temperature: float = setting("TEMPERATURE", Number(0.0, 2.0), 0.7, "sampling temperature")
    max_reply_tokens: int = setting("MAX_REPLY_TOKENS", Integer(1), 1024, "most tokens of one reply")
    history_ttl_seconds: int = setting(
        "HISTORY_TTL_SECONDS", Integer(1), 604800, "idle seconds after which a chat's history expires")
    stream_edit_interval: float = setting(
        "STREAM_EDIT_INTERVAL", Number(0.05), 1.0, "seconds between edits of a streaming reply in a private chat")
    log_level: str = setting(
        "LOG_LEVEL", Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")), "INFO", "logging level")
    context_max_tokens: int = setting(
        "CONTEXT_MAX_TOKENS", Integer(1), 4000, "most tokens of history (summary + earlier turns) per request")
    summary_model: str = derived(
        "SUMMARY_MODEL", Text(), lambda earlier: earlier["openai_model"], "model that writes the rolling summary",
        described_default="`OPENAI_MODEL`")
    summary_max_tokens: int = setting("SUMMARY_MAX_TOKENS", Integer(1), 400, "most tokens of one summary")
    stream_group_edit_interval: float = setting(
        "STREAM_GROUP_EDIT_INTERVAL", Number(0.05), 3.0, "seconds between edits of a streaming reply in a group")
    stream_mode: str = setting(
        "STREAM_MODE", Choice(("edit", "draft")), "edit", "edit, or draft to stream private chats as drafts")
    personas_file: str | None = setting(
        "PERSONAS_FILE", Text(), None, "an operator's TOML file of personas", described_default="unset")
    persona_max_tokens: int = setting(
        "PERSONA_MAX_TOKENS", Integer(1), 500, "most tokens of a custom persona's prompt (/persona <instructions>)")
    settings_ttl_seconds: int = setting(
        "SETTINGS_TTL_SECONDS", Integer(1), 90 * 86400, "seconds an unused persona choice is kept")
    group_settings_administrators_only: bool = setting(
        "GROUP_SETTINGS_ADMIN_ONLY", Flag(), True,
        "in groups, only the group's administrators may /reset and change /persona and /model")
    allowed_user_ids: frozenset[int] = setting(
        "ALLOWED_USER_IDS", Ids(), frozenset(), "users who may use the bot anywhere", described_default="empty")
    allowed_chat_ids: frozenset[int] = setting(
        "ALLOWED_CHAT_IDS", Ids(), frozenset(), "chats where everyone may use the bot", described_default="empty")
    openai_timeout_seconds: float = setting(
        "OPENAI_TIMEOUT_SECONDS", Number(1.0), 60.0, "seconds before a model request is abandoned")
    shutdown_grace_seconds: float = setting(
        "SHUTDOWN_GRACE_SECONDS", Number(0.0), 30.0, "seconds on SIGTERM to finish running answers")
    ingress_claim_idle_seconds: float = setting(
        "INGRESS_CLAIM_IDLE_SECONDS", Number(1.0), 10.0, "idle seconds before another replica takes over an update")
    delivery_give_up_seconds: float = setting(
        "DELIVERY_GIVE_UP_SECONDS", Number(0.0), 600.0,
        "seconds a generated answer's final text (and its commit) is retried through outages")
    telegram_messages_per_second: int = setting(
        "TELEGRAM_MESSAGES_PER_SECOND", Integer(1, 1000), 30, "messages per second to Telegram, for all replicas")
    log_format: str = setting(
        "LOG_FORMAT", Choice(("text", "json")), "text", "text, or json for one JSON object per line")
    model_prices: tuple[tuple[str, float, float, float | None], ...] = setting(
        "MODEL_PRICES", PriceJSON(), (), "USD per 1M tokens (input, output, cached input) over the built-in table",
        described_default="built-in")
    daily_token_budget_per_user: int = setting(
        "DAILY_TOKEN_BUDGET_PER_USER", Integer(0), 0, "tokens a user may use a day (0 = unlimited)")
    daily_token_budget_per_chat: int = setting(
        "DAILY_TOKEN_BUDGET_PER_CHAT", Integer(0), 0, "tokens a chat may use a day (0 = unlimited)")
    operator_ids: frozenset[int] = setting(
        "ADMIN_USER_IDS", Ids(), frozenset(), "operators: exempt from budgets and the rate; /stats, /ban, /allow",
        described_default="empty")
    user_messages_per_minute: int = setting(
        "USER_MESSAGES_PER_MINUTE", Integer(0), 12, "messages a user may send in any 60 seconds (0 = no limit)")
    default_language: str = setting(
        "DEFAULT_LANGUAGE", Choice(SUPPORTED), "en",
        "the bot's language for users whose Telegram language has no translation")
    bot_description: str | None = setting(
        "BOT_DESCRIPTION", Text(_DESCRIPTION, "at most 512 characters"), None,
        "the English 'What can this bot do?' text new users see", described_default="built-in")
    bot_short_description: str | None = setting(
        "BOT_SHORT_DESCRIPTION", Text(_SHORT_DESCRIPTION, "at most 120 characters"), None,
        "the English profile line (and link preview) of the bot", described_default="built-in")
    moderation: bool = setting("MODERATION", Flag(), False, "check messages with the moderation endpoint")
    moderation_fail_closed: bool = setting(
        "MODERATION_FAIL_CLOSED", Flag(), False, "refuse messages when the moderation endpoint fails")
    image_generation: bool = setting("IMAGE_GENERATION", Flag(), True, "let users make images with /image")
    image_model: str = setting("IMAGE_MODEL", Text(), "gpt-image-1", "model that makes images (images.generate)")
    image_size: str = setting(
        "IMAGE_SIZE", Text(re.compile(r"^(\d{2,5}x\d{2,5}|auto)$"), "WIDTHxHEIGHT like 1024x1024, or auto"),
        "1024x1024", "size of the images made")
    daily_images_per_user: int = setting(
        "DAILY_IMAGES_PER_USER", Integer(0), 10, "images a user may make a day (0 = unlimited; operators exempt)")
    edit_reanswer_seconds: int = setting(
        "EDIT_REANSWER_SECONDS", Integer(0), 3600, "seconds after sending in which an edited message is answered again")
    transcription: bool = setting(
        "TRANSCRIPTION", Flag(), True, "transcribe voice messages, audio files and video notes, and answer them")
    transcription_model: str = setting(
        "TRANSCRIPTION_MODEL", Text(), "gpt-4o-mini-transcribe", "speech-to-text model (POST /audio/transcriptions)")
    voice_max_seconds: int = setting(
        "VOICE_MAX_SECONDS", Integer(1), 600, "longest recording transcribed, in seconds (Telegram's duration)")
    document_max_tokens: int = setting(
        "DOCUMENT_MAX_TOKENS", Integer(1), 8000, "most tokens of a document's text read into a turn")
    searxng_url: str | None = setting(
        "SEARXNG_URL", Url(_HTTP), None, "root of a SearXNG instance for the web_search tool",
        described_default="unset: no web_search")
    tools: tuple[str, ...] = derived(
        "TOOLS", ToolNames(), default_tools, "built-in tools the model may call (none = no tools)",
        described_default="`time,reminders,fetch_url,generate_image` (`generate_image` only when `IMAGE_GENERATION` "
                          "is on), and `web_search` when `SEARXNG_URL` is set")
    tool_timeout_seconds: float = setting(
        "TOOL_TIMEOUT_SECONDS", Number(0.1), 20.0, "seconds one tool call may take before it fails")
    tool_max_rounds: int = setting(
        "TOOL_MAX_ROUNDS", Integer(1), 5, "rounds of tool calls per answer before the model must answer")
    tool_result_max_tokens: int = setting(
        "TOOL_RESULT_MAX_TOKENS", Integer(1), 3000, "most tokens of one tool result the model gets")
    tools_allow_private_networks: bool = setting(
        "TOOLS_ALLOW_PRIVATE_NETWORKS", Flag(), False,
        "let fetch_url read private, loopback and link-local addresses (tests, intranets)")
    reminders_per_chat: int = setting(
        "REMINDERS_PER_CHAT", Integer(1, 1000), 20, "most reminders a chat may have pending")
    mcp_servers_file: str | None = setting(
        "MCP_SERVERS_FILE", Text(), None, "an operator's TOML file of MCP servers whose tools the model may use",
        described_default="unset")

    def __post_init__(self) -> None:
        if "web_search" in self.tools and not self.searxng_url:
            raise ConfigError("TOOLS", "web_search needs SEARXNG_URL")

    vision: bool = setting(
        "VISION", Flag(), True, "read photos and image files (false: a note that images are not read)")
    image_detail: str = setting(
        "IMAGE_DETAIL", Choice(("low", "high", "auto")), "auto", "the detail images are sent at (low: 85 tokens each)")
    vision_history_images: int = setting(
        "VISION_HISTORY_IMAGES", Integer(0), 2, "newest earlier images sent again with later turns (older: stand-ins)")
    album_window_seconds: float = setting(
        "ALBUM_WINDOW_SECONDS", Number(0.1, 10.0), 1.0, "an album's photos are gathered until none came for this long")

    @property
    def model_choices(self) -> tuple[tuple[str, str], ...]:
        """The models /model offers, (id, label) each: MODELS, or only OPENAI_MODEL when MODELS is unset."""
        return self.models or ((self.openai_model, self.openai_model),)

    @property
    def bot_id(self) -> str:
        """The numeric bot id, the part of the token before the colon (not secret)."""
        return self.telegram_bot_token.split(":", 1)[0]

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook route listens."""
        return urlsplit(self.webhook_url or "").path or "/"


def declared() -> tuple[Variable, ...]:
    """Every variable the bot reads, in the order it reads them."""
    return tuple(variable for _, variable in variables(Settings))


def read_environment(dotenv_path: str | Path = ".env") -> dict[str, str]:
    """The process environment over the values of .env (the environment wins)."""
    from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    return {**from_file, **os.environ}


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse and validate every setting; raise ConfigError naming the first bad variable."""
    values: dict[str, Any] = {}
    for attribute, variable in variables(Settings):
        values[attribute] = variable.read(env, values)
    settings = Settings(**values)
    problem = webhook_problem(settings)
    if problem and is_telegrams_api(settings.telegram_api_url):
        raise ConfigError("WEBHOOK_URL", problem)
    _check_models(settings)
    return settings


def _check_models(settings: Settings) -> None:
    """OPENAI_MODEL, every chat's model until it picks another, must be one users may choose."""
    offered = [model for model, _ in settings.model_choices]
    if settings.openai_model not in offered:
        raise ConfigError("OPENAI_MODEL",
                          f"must be one of MODELS ({', '.join(offered)}), got {settings.openai_model!r}")


def is_telegrams_api(url: str) -> bool:
    """TELEGRAM_API_URL is Telegram's own server, however written ("https://API.telegram.org:443")."""
    return urlsplit(url).hostname == urlsplit(TELEGRAM_API).hostname


def webhook_problem(settings: Settings) -> str | None:
    """Why api.telegram.org would refuse WEBHOOK_URL (not https, or a port it does not post to); None if it would
    not. A local Bot API server or a test server may accept more, so only the default API makes it an error."""
    if not settings.webhook_url:
        return None
    parts = urlsplit(settings.webhook_url)
    try:
        port = parts.port or 443
    except ValueError:
        port = -1
    if parts.scheme != "https" or port not in WEBHOOK_PORTS:
        return "expected an https:// URL on port 443, 80, 88 or 8443 (the only ones Telegram posts webhooks to)"
    return None
