"""/image <prompt>: a picture made by the image model, sent as a photo with the prompt as its caption."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from telegram import Bot, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot import lifetime
from bot.domain.chat import ChatKey
from bot.domain.usage import next_midnight
from bot.telegram import texts
from bot.telegram.context import BotContext, arguments, quote

CAPTION_LIMIT = 1024
UPLOAD_ACTION_SECONDS = 4.5  # Telegram shows a chat action for 5 seconds


async def image(update: Update, context: BotContext) -> None:
    """/image <prompt>: ``upload_photo`` while it is made, then the photo in the chat (or topic)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    painter, prompt = context.services.painter, arguments(message).strip()
    if painter is None:
        await message.reply_text(texts.IMAGES_OFF, do_quote=quote(update))
        return
    if not prompt:
        await message.reply_text(texts.IMAGE_HOW, do_quote=quote(update))
        return
    chat = ChatKey.of(message)
    async with _uploading(context.bot, chat):
        drawing = await painter.draw(user.id, chat, prompt)
    if drawing.picture is None:
        failure = texts.failure(drawing.failure, _until_midnight()) if drawing.failure else texts.SORRY
        await message.reply_text(failure, do_quote=quote(update))
        return
    reply = ReplyParameters(message.message_id, allow_sending_without_reply=True) if quote(update) else None
    await context.bot.send_photo(chat.chat_id, drawing.picture, caption=prompt[:CAPTION_LIMIT],
                                 message_thread_id=chat.thread_id, reply_parameters=reply)


@contextlib.asynccontextmanager
async def _uploading(bot: Bot, chat: ChatKey) -> AsyncIterator[None]:
    """``upload_photo`` every few seconds while the picture is made; stopped however that ends."""
    task = asyncio.create_task(_show_upload(bot, chat))
    try:
        yield
    finally:
        await lifetime.stop(task)


async def _show_upload(bot: Bot, chat: ChatKey) -> None:
    while True:
        with contextlib.suppress(TelegramError):  # only an indicator: the picture matters
            await bot.send_chat_action(chat.chat_id, ChatAction.UPLOAD_PHOTO, message_thread_id=chat.thread_id)
        await asyncio.sleep(UPLOAD_ACTION_SECONDS)


def _until_midnight() -> str:
    now = datetime.now(UTC)
    hours, minutes = divmod(max(60, int((next_midnight(now) - now).total_seconds())) // 60, 60)
    return texts.until(hours, minutes)
