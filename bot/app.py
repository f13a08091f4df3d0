"""Wiring: builds the clients and the PTB Application, registers handlers, owns start and stop order."""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError
from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import commands, handlers
from bot.access import Allowlist, Gatekeeper
from bot.config import Settings
from bot.context import TokenCounter
from bot.conversation import Conversation, ReplyOptions
from bot.handlers import BotApplication, BotContext, Retention, Services
from bot.history import Keys, RedisHistory
from bot.ingress import UpdateStream
from bot.llm import OpenAIModel, build_client
from bot.lock import ChatLock
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.personas import PersonaCatalog
from bot.ratelimit import RedisRateLimiter
from bot.replies import Replies
from bot.streaming import STOP_PREFIX, Cadence
from bot.summary import Summarizer
from bot.telegram_http import AiohttpRequest
from bot.usage import USAGE_TTL_SECONDS, Budgets, PriceTable, UsageLedger

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
# Updates one replica handles at once; most of a turn is waiting on the model, so this can be large.
INGRESS_CONCURRENCY = 1000
# Over this event-loop lag a replica takes no new updates until it catches up (the p99 target).
BUSY_LOOP_LAG_SECONDS = 0.05
REDIS_CONNECTIONS = 128
TELEGRAM_CONNECTIONS = 32


@dataclass
class Runtime:
    """Everything one process runs; service.py starts and stops it in order."""

    settings: Settings
    redis: Redis
    keys: Keys
    application: BotApplication
    summarizer: Summarizer
    metrics: Metrics
    stream: UpdateStream
    replies: Replies
    model: OpenAIModel
    requests: tuple[BaseRequest, ...]

    async def close(self) -> None:
        """Close every client's connections (each close may run more than once)."""
        await self.model.aclose()
        for request in self.requests:
            await request.shutdown()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()


def build_runtime(settings: Settings, personas: PersonaCatalog) -> Runtime:
    """Build clients, domain and the PTB Application; nothing is connected yet."""
    redis = _redis(settings)
    keys = Keys(f"tg:{settings.bot_id}")
    metrics = Metrics()
    budgets = Budgets(settings.daily_token_budget_per_user, settings.daily_token_budget_per_chat,
                      settings.admin_user_ids)
    ledger = UsageLedger(redis, keys.prefix, budgets)
    history = RedisHistory(redis, keys, ledger, settings.history_ttl_seconds, settings.settings_ttl_seconds)
    client = build_client(settings.openai_api_key, settings.openai_base_url, settings.openai_timeout_seconds)
    model = OpenAIModel(client, metrics=metrics)
    counter = TokenCounter(settings.openai_model)
    summarizer = Summarizer(history, ledger, model, counter, model_name=settings.summary_model,
                            budget=settings.context_max_tokens, max_tokens=settings.summary_max_tokens,
                            metrics=metrics)
    options = ReplyOptions(settings.openai_model, settings.temperature, settings.max_reply_tokens,
                           settings.context_max_tokens, settings.moderation_fail_closed)
    conversation = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, lambda chat: keys.chat(chat, "lock")),
        counter=counter, summarizer=summarizer, personas=personas, options=options,
        moderator=model if settings.moderation else None, metrics=metrics,
    )
    cadence = Cadence(settings.stream_edit_interval, settings.stream_group_edit_interval, settings.stream_mode)
    requests = (AiohttpRequest(connection_pool_size=TELEGRAM_CONNECTIONS, pool_timeout=10.0),
                AiohttpRequest(connection_pool_size=1))
    application = _application(settings, redis, keys.prefix, requests)
    replies = Replies(redis, keys.prefix)
    application.bot_data["services"] = Services(
        conversation=conversation, history=history, personas=personas, pacer=Pacer(), cadence=cadence,
        replies=replies, allowlist=Allowlist(settings.allowed_user_ids, settings.allowed_chat_ids),
        gatekeeper=Gatekeeper(redis, keys.prefix, lambda chat_id: _admin_ids(application, chat_id)),
        group_settings_admin_only=settings.group_settings_admin_only, ledger=ledger,
        prices=PriceTable(settings.model_prices),
        retention=Retention(settings.history_ttl_seconds, settings.settings_ttl_seconds, USAGE_TTL_SECONDS),
        messages_per_minute=settings.user_messages_per_minute, admins=settings.admin_user_ids, metrics=metrics,
    )
    _register(application)
    consumer = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    stream = UpdateStream(redis, keys.prefix, consumer, metrics, concurrency=INGRESS_CONCURRENCY,
                          claim_idle_ms=int(settings.ingress_claim_idle_seconds * 1000),
                          finished_keys=lambda update_id: [replies.key(update_id)],
                          chat_of=_chat_of, busy=lambda: metrics.latest_loop_lag > BUSY_LOOP_LAG_SECONDS)
    return Runtime(settings, redis, keys, application, summarizer, metrics, stream, replies, model, requests)


def _chat_of(data: dict[str, Any]) -> str | None:
    """The conversation of a new message, which waits for its earlier ones (button presses never wait)."""
    message = data.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    thread = message.get("message_thread_id") if message.get("is_topic_message") else None
    return handlers.chat_key(int(message["chat"]["id"]), thread)


def _redis(settings: Settings) -> Redis:
    if settings.redis_url:
        # Blocking: under a burst, a command waits for a free connection instead of failing at the limit.
        pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=20,
                                               decode_responses=True, socket_connect_timeout=5, socket_timeout=15,
                                               health_check_interval=30)
        return Redis.from_pool(pool)
    import fakeredis

    logger.warning("REDIS_URL is not set: using an in-process store. History is LOST on restart and NOT "
                   "shared between replicas. Set REDIS_URL for anything but local development.")
    embedded: Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    return embedded


def _application(settings: Settings, redis: Redis, prefix: str,
                 requests: tuple[BaseRequest, BaseRequest]) -> BotApplication:
    api = settings.telegram_api_url
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(RedisRateLimiter(redis, prefix, per_second=settings.telegram_messages_per_second,
                                       max_in_flight=TELEGRAM_CONNECTIONS))
        .concurrent_updates(512)
        .request(requests[0])
        .get_updates_request(requests[1])
    )
    if settings.webhook_url:
        builder = builder.updater(None)
    application: BotApplication = builder.build()
    return application


def _register(application: BotApplication) -> None:
    """Every handler, in one place; the gate runs first for every update."""
    private, groups, fresh = filters.ChatType.PRIVATE, filters.ChatType.GROUPS, filters.UpdateType.MESSAGE
    words = filters.TEXT | filters.CAPTION
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handler(CommandHandler("start", commands.start, filters=fresh))
    application.add_handler(CommandHandler("help", commands.help_command, filters=fresh))
    application.add_handler(CommandHandler("reset", commands.reset, filters=fresh))
    application.add_handler(CommandHandler("persona", commands.persona, filters=fresh))
    application.add_handler(CommandHandler("usage", commands.usage, filters=fresh))
    application.add_handler(CommandHandler("privacy", commands.privacy, filters=fresh))
    application.add_handler(CallbackQueryHandler(handlers.stop_button, pattern=f"^{STOP_PREFIX}"))
    application.add_handler(CallbackQueryHandler(commands.persona_button, pattern=f"^{handlers.PERSONA_PREFIX}"))
    application.add_handler(MessageHandler(fresh & private & words & ~filters.COMMAND, handlers.text_message))
    application.add_handler(MessageHandler(fresh & groups & words & ~filters.COMMAND, handlers.group_message))
    application.add_handler(MessageHandler(
        fresh & private & ~words & ~filters.StatusUpdate.ALL & ~filters.COMMAND, handlers.not_text))
    application.add_error_handler(handlers.on_error)


async def _admin_ids(application: BotApplication, chat_id: int) -> list[int]:
    return [member.user.id for member in await application.bot.get_chat_administrators(chat_id)]


PRIVATE_COMMANDS = [
    BotCommand("start", "What I can do"),
    BotCommand("help", "The commands"),
    BotCommand("reset", "Forget our conversation"),
    BotCommand("persona", "See or change how I answer"),
    BotCommand("usage", "Tokens used today and this month"),
    BotCommand("privacy", "What I store and for how long"),
]
GROUP_COMMANDS = [
    BotCommand("help", "The commands"),
    BotCommand("reset", "Forget this chat's conversation (admins)"),
    BotCommand("persona", "See or change how I answer (admins)"),
    BotCommand("usage", "Tokens used today and this month"),
]


async def sync_commands(bot: Bot) -> None:
    """Register the command menus for private chats and groups, skipping those already current."""
    for scope, menu in ((BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
                        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS)):
        try:
            current = await bot.get_my_commands(scope=scope)
            if [(c.command, c.description) for c in current] != [(c.command, c.description) for c in menu]:
                await bot.set_my_commands(menu, scope=scope)
        except TelegramError as exc:  # a missing menu must not keep the bot from answering
            logger.warning("could not register the command menu: %s", exc)
