"""Answering the chat's newest message again, in the same messages: the 🔄 button, /retry, and an edit of it.

Each goes through the chat's line and lock like a new message (the 🔄 press joins the line at the intake), and
its answer replaces the old question and answer in the history.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from telegram import Chat, Message, Update
from telegram.error import BadRequest

from bot.domain.chat import ChatKey
from bot.store.latest import LatestAnswer
from bot.telegram import texts
from bot.telegram.context import BotContext, quote
from bot.telegram.sink import Target
from bot.telegram.triggers import addressed_to_bot, display_name
from bot.telegram.turn import answer


async def regenerate_button(update: Update, context: BotContext) -> None:
    """🔄 under the chat's newest answer: the asker (or a group administrator) has it answered again."""
    query = update.callback_query
    if query is None:
        return
    if not isinstance(query.message, Message) or not query.message.is_accessible:  # deleted or too old
        await query.answer()
        return
    chat = ChatKey.of(query.message)
    latest = await context.services.latest.get(chat)
    if latest is None or query.message.message_id not in latest.messages:
        await query.answer(texts.NOT_NEWEST_ANSWER)
        return
    if not await _may_redo(context, chat, query.from_user.id, latest):
        await query.answer(texts.ONLY_ASKER_REGENERATES, show_alert=True)
        return
    with contextlib.suppress(BadRequest):  # a replica taking the press over: Telegram says it is too old
        await query.answer()
    await answer(context, _target(chat, latest), latest.asker, "", speaker=None, update_id=update.update_id,
                 asked=latest.asked, again=latest)


async def retry(update: Update, context: BotContext) -> None:
    """/retry: the chat's newest answer, answered again."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    chat = ChatKey.of(message)
    latest = await context.services.latest.get(chat)
    if latest is None:
        await message.reply_text(texts.NOTHING_TO_RETRY, do_quote=quote(update))
        return
    if not await _may_redo(context, chat, user.id, latest):
        await message.reply_text(texts.ONLY_ASKER_REGENERATES, do_quote=quote(update))
        return
    await answer(context, _target(chat, latest), latest.asker, "", speaker=None, update_id=update.update_id,
                 asked=latest.asked, again=latest)


async def edited_message(update: Update, context: BotContext) -> None:
    """An edit of the message the chat's newest answer answers, soon enough: both are replaced by the new ones.
    An edit of an older message gets a short note, once per chat."""
    message, user = update.edited_message, update.effective_user
    if message is None or user is None:
        return
    text, speaker = _edited_text(message, context)
    if not text:
        return
    services, chat = context.services, ChatKey.of(message)
    latest = await services.latest.get(chat)
    if latest is None:  # nothing was answered here (lately): an edit changes nothing
        return
    if latest.asked != message.message_id or not _soon_enough(message, services.edit_reanswer_seconds):
        if await services.latest.first_edit_note(chat):
            await message.reply_text(texts.ONLY_NEWEST_EDITS, do_quote=True)
        return
    await answer(context, _target(chat, latest), user.id, text, speaker=speaker, update_id=update.update_id,
                 asked=message.message_id, again=latest)


def _edited_text(message: Message, context: BotContext) -> tuple[str | None, str | None]:
    """The edited message's text as a new one would be read (in groups: only when it addresses the bot)."""
    if message.chat.type == Chat.PRIVATE:
        return message.text or message.caption, None
    addressed = addressed_to_bot(message, context.me)
    if addressed is None or message.from_user is None:
        return None, None
    return addressed.text, display_name(message.from_user)


def _soon_enough(message: Message, seconds: int) -> bool:
    edited = message.edit_date or datetime.now(UTC)
    return seconds > 0 and (edited - message.date).total_seconds() <= seconds


async def _may_redo(context: BotContext, chat: ChatKey, user_id: int, latest: LatestAnswer) -> bool:
    if user_id == latest.asker:
        return True
    return chat.is_group and await context.services.gatekeeper.is_group_administrator(chat.chat_id, user_id)


def _target(chat: ChatKey, latest: LatestAnswer) -> Target:
    return Target(chat, is_group=True, reply_to=latest.asked) if chat.is_group else Target(chat)
