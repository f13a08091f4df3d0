"""/reminders: the chat's pending reminders, each with a Cancel button (the one who set it, or an admin, may)."""

from __future__ import annotations

import logging
import re

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.domain.chat import ChatKey
from bot.domain.reminders import Cancellation, Reminder
from bot.telegram import texts
from bot.telegram.context import BotContext, quote

logger = logging.getLogger(__name__)

REMINDER_PREFIX = "reminder:"
# Our buttons carry a reminder id (hex); other data starting alike is not ours and stays with foreign_button.
PATTERN = re.compile(rf"^{REMINDER_PREFIX}([0-9a-f]{{1,32}})$")
# Names in texts, looked up per update (texts.X is in the update's language; a value read here would be English).
_ANSWERS = {Cancellation.CANCELLED: "REMINDER_CANCELLED", Cancellation.DELIVERING: "REMINDER_SENDING",
            Cancellation.UNKNOWN: "REMINDER_GONE"}


async def reminders(update: Update, context: BotContext) -> None:
    """/reminders: list this chat's (topic's) pending reminders, soonest first."""
    message = update.effective_message
    if message is None:
        return
    pending = await context.services.reminders.pending(ChatKey.of(message))
    text, keyboard = listing(pending)
    await message.reply_text(text, reply_markup=keyboard, do_quote=quote(update))


async def cancel_button(update: Update, context: BotContext) -> None:
    """A Cancel button under /reminders: cancel that reminder (unless it is being sent) and refresh the list."""
    query = update.callback_query
    match = PATTERN.match(query.data or "") if query else None
    if query is None or match is None:
        return
    if not isinstance(query.message, Message) or not query.message.is_accessible:  # deleted or too old
        await query.answer()
        return
    chat, book = ChatKey.of(query.message), context.services.reminders
    pending = await book.pending(chat)
    wanted = next((r for r in pending if r.id == match.group(1)), None)
    if wanted is not None and not await _may_cancel(update, context, wanted):
        await query.answer(texts.ONLY_SETTER_CANCELS, show_alert=True)
        return
    outcome = await book.cancel(chat, wanted.id) if wanted else Cancellation.UNKNOWN
    await query.answer(str(getattr(texts, _ANSWERS[outcome])))
    await _refresh(query.message, await book.pending(chat))


def listing(pending: list[Reminder]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /reminders message and its keyboard: one Cancel button per reminder."""
    if not pending:
        return texts.NO_REMINDERS, None
    text = texts.reminder_list([(texts.reminder_time(r.due), r.text) for r in pending])
    buttons = [InlineKeyboardButton(texts.cancel_reminder_button(number), callback_data=REMINDER_PREFIX + r.id)
               for number, r in enumerate(pending, 1)]
    return text, InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])


async def _may_cancel(update: Update, context: BotContext, reminder: Reminder) -> bool:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return False
    if user.id == reminder.user_id or chat.type == Chat.PRIVATE:
        return True
    return await context.services.gatekeeper.is_group_administrator(chat.id, user.id)


async def _refresh(message: Message, pending: list[Reminder]) -> None:
    text, keyboard = listing(pending)
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except BadRequest as exc:  # unchanged, or too old to edit: the answer to the press said what happened
        logger.info("reminder list not refreshed (%s)", exc.message)
