"""PTB callbacks: translate Telegram updates into plain values, call the domain, hand output back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.conversation import Conversation, TurnRequest
from bot.pacing import Pacer
from bot.streaming import STOP_PREFIX, Cadence, StopButtons, Target, TelegramReplySink

logger = logging.getLogger(__name__)

START_TEXT = (
    "Hi! I'm an AI assistant. Send me a message and I'll answer as I write — you'll see the reply grow.\n\n"
    "I remember our conversation for a while, so you can ask follow-up questions. "
    "Send /help to see what else I can do."
)
HELP_TEXT = (
    "Just write to me — I keep the context of our chat.\n\n"
    "/start — what I can do\n"
    "/help — this list\n"
    "/reset — forget our conversation and start afresh\n"
    "/persona — see or change how I answer\n\n"
    "While I'm answering, tap ⏹ Stop to cut me short."
)
RESET_TEXT = "Done — I've forgotten our conversation. What shall we talk about?"
SORRY_TEXT = "Sorry, something went wrong on my side. Please try again in a moment."


@dataclass(frozen=True)
class Services:
    """What the callbacks need, built once in app.py."""

    conversation: Conversation
    pacer: Pacer
    cadence: Cadence
    stops: StopButtons


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context with typed access to the services."""

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services


BotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def chat_key(chat_id: int, thread_id: int | None = None) -> str:
    """The conversation a message belongs to: a chat, or one forum topic of it."""
    return f"{chat_id}:{thread_id}" if thread_id else str(chat_id)


async def start(update: Update, context: BotContext) -> None:
    """/start: a greeting and what the bot can do."""
    if update.effective_message:
        await update.effective_message.reply_text(START_TEXT)


async def help_command(update: Update, context: BotContext) -> None:
    """/help: the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(HELP_TEXT)


async def reset(update: Update, context: BotContext) -> None:
    """/reset: forget this chat's history (the persona stays)."""
    message = update.effective_message
    if message is None:
        return
    await context.services.conversation.reset(chat_key(message.chat_id, _thread(update)))
    await message.reply_text(RESET_TEXT)


async def text_message(update: Update, context: BotContext) -> None:
    """A text message in a private chat: answer it, streaming."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    target = Target(message.chat_id, thread_id=_thread(update))
    await answer(context, target, user.id, message.text, speaker=None)


async def answer(context: BotContext, target: Target, user_id: int, text: str, speaker: str | None) -> None:
    """Run one turn into a streaming Telegram reply."""
    services = context.services
    request = TurnRequest(chat_key(target.chat_id, target.thread_id), user_id, text, speaker)
    token = services.stops.open(target.chat_id, user_id, request.stop)
    sink = TelegramReplySink(context.bot, target, services.pacer, services.cadence, stop_token=token)
    try:
        result = await services.conversation.reply(request, sink)
        logger.info("turn finished: %s", result.outcome)
    finally:
        services.stops.close(token)


async def stop_button(update: Update, context: BotContext) -> None:
    """The ⏹ Stop button: only the asker (or, in groups, an admin) may stop an answer."""
    query = update.callback_query
    if query is None or not query.data:
        return
    running = context.services.stops.get(query.data.removeprefix(STOP_PREFIX))
    if running is None:
        await query.answer("This answer has already finished.")
        return
    if query.from_user.id != running.user_id and not await _is_admin(context, running.chat_id, query.from_user.id):
        await query.answer("Only the person who asked can stop this answer.", show_alert=True)
        return
    running.event.set()
    await query.answer("Stopped.")


async def _is_admin(context: BotContext, chat_id: int, user_id: int) -> bool:
    if chat_id > 0:
        return False
    admins = await context.bot.get_chat_administrators(chat_id)
    return any(admin.user.id == user_id for admin in admins)


async def on_error(update: object, context: BotContext) -> None:
    """Log what failed (details only at DEBUG) and tell the user briefly."""
    error = context.error
    logger.error("update failed: %s: %s", type(error).__name__, error,
                 exc_info=error if logger.isEnabledFor(logging.DEBUG) else None)
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        try:
            await context.bot.send_message(update.effective_chat.id, SORRY_TEXT,
                                           message_thread_id=_thread(update))
        except Exception as exc:  # Telegram itself may be what failed
            logger.warning("could not tell the user about the failure: %s", type(exc).__name__)


def _thread(update: Update) -> int | None:
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id
