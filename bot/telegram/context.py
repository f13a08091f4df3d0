"""What every callback shares: the services built once at start, the typed context, and a few small rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat, Message, MessageEntity, Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.access import Allowlist
from bot.domain.conversation import Conversation
from bot.domain.images import Painter
from bot.domain.models import ModelCatalog
from bot.domain.personas import PersonaCatalog, PromptLimit
from bot.domain.ports import History
from bot.domain.reminders import ReminderBook
from bot.domain.usage import PriceTable
from bot.metrics import Metrics
from bot.store.access import AccessLists
from bot.store.albums import Albums
from bot.store.gate import Gatekeeper
from bot.store.latest import LatestAnswers
from bot.store.notices import Notices
from bot.store.replies import Replies
from bot.store.stats import StatsBook
from bot.store.usage import UsageLedger
from bot.telegram import texts
from bot.telegram.files import TelegramFiles
from bot.telegram.media import MediaRules
from bot.telegram.pacing import Pacer
from bot.telegram.reader import Reader
from bot.telegram.sink import Cadence
from bot.telegram.triggers import BotIdentity


@dataclass(frozen=True)
class Services:
    """What the callbacks need, built once in app.py."""

    conversation: Conversation
    history: History
    personas: PersonaCatalog
    persona_limit: PromptLimit
    pacer: Pacer
    cadence: Cadence
    replies: Replies
    allowlist: Allowlist
    gatekeeper: Gatekeeper
    group_settings_administrators_only: bool
    ledger: UsageLedger
    prices: PriceTable
    retention: Retention
    messages_per_minute: int
    operators: frozenset[int]  # ADMIN_USER_IDS: the bot's operators (not a group's administrators)
    metrics: Metrics
    models: ModelCatalog
    latest: LatestAnswers
    edit_reanswer_seconds: int
    access: AccessLists
    stats: StatsBook
    reminders: ReminderBook
    default_language: str = "en"  # for users whose Telegram language has no catalog
    clock: Callable[[], float] = time.monotonic  # a turn's time, and its sink's (tests pass virtual time)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    files: TelegramFiles | None = None  # downloads what users send (None: attachments are not read)
    painter: Painter | None = None  # makes images for /image (None: IMAGE_GENERATION is off)
    media: MediaRules | None = None  # recordings and documents (None: they are not read)
    reader: Reader = field(default_factory=lambda: Reader(None, vision=False))  # what the bot makes of attachments
    notices: Notices | None = None  # notes told once a day per chat (None: every time)
    albums: Albums | None = None  # gathers albums across replicas (None: each photo is a turn)


@dataclass(frozen=True)
class Retention:
    """How long each kind of data is kept, in seconds (for /privacy)."""

    history_seconds: int
    settings_seconds: int
    usage_seconds: int


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context with typed access to the services."""

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    @property
    def me(self) -> BotIdentity:
        return BotIdentity(self.bot.id, self.bot.username)


BotApplication = Application[ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


async def may_change_settings(update: Update, context: BotContext) -> bool:
    """In groups (when GROUP_SETTINGS_ADMIN_ONLY), only administrators; refuses others briefly."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == Chat.PRIVATE or not context.services.group_settings_administrators_only:
        return True
    if await context.services.gatekeeper.is_group_administrator(chat.id, user.id):
        return True
    if update.callback_query is not None:
        await update.callback_query.answer(texts.ADMINISTRATORS_ONLY, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(texts.ADMINISTRATORS_ONLY, do_quote=True)
    return False


def arguments(message: Message) -> str:
    """The text after a message's command, with its own line breaks and spacing."""
    text = message.text or ""
    command = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    return text[command.length:] if command else text.partition(" ")[2]  # a command is ASCII: units = chars


def quote(update: Update) -> bool:
    """Quote the command in groups, where several people talk; not in private chats."""
    return update.effective_chat is not None and update.effective_chat.type != Chat.PRIVATE
