"""The PhotoOutbox of the generate_image tool: a picture sent into a chat (or topic) as a photo with a caption."""

from __future__ import annotations

import logging

from telegram import Bot, ReplyParameters
from telegram.error import TelegramError

from bot.domain.chat import ChatKey
from bot.telegram.image_command import CAPTION_LIMIT

logger = logging.getLogger(__name__)


class TelegramPhotos:
    """Sends photos with the bot; a photo Telegram would not take is logged and reported as not sent."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_photo(self, chat: ChatKey, picture: bytes, caption: str, reply_to: int | None = None) -> bool:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to is not None else None
        try:
            await self._bot.send_photo(chat.chat_id, picture, caption=caption[:CAPTION_LIMIT],
                                       message_thread_id=chat.thread_id, reply_parameters=reply)
        except TelegramError as exc:
            logger.warning("a generated image could not be sent: %s", type(exc).__name__)
            return False
        return True
