"""PTB callbacks that route updates: language and gate first, then messages to a turn (telegram/turn.py), the
Stop button, unknown commands, joining a group, and errors. Commands and other buttons have modules of their own."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import Chat, Message, Update
from telegram.ext import ApplicationHandlerStop, CommandHandler

from bot.domain.attachment import Attachment
from bot.domain.chat import ChatKey
from bot.telegram import texts
from bot.telegram.album import album_messages, caption_text
from bot.telegram.attachments import attachments_of
from bot.telegram.context import BotContext, Services, quote
from bot.telegram.i18n import language
from bot.telegram.reader import Reading
from bot.telegram.sink import STOP_PREFIX, Target
from bot.telegram.triggers import addressed_to_bot, display_name, strip_mention
from bot.telegram.turn import answer

logger = logging.getLogger(__name__)


async def speak_their_language(update: Update, context: BotContext) -> None:
    """Runs first for every update: its texts (``texts.X``) are in its user's Telegram language."""
    user = update.effective_user
    language.use(language.choose(user.language_code if user else None, context.services.default_language))


async def gate(update: Update, context: BotContext) -> None:
    """Runs before every handler: updates from bots, and from users or chats not allowed, go no further."""
    chat, user = update.effective_chat, update.effective_user
    if _from_a_bot(update):
        raise ApplicationHandlerStop
    if await _permitted(context.services, user.id if user else None, chat.id if chat else None):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(texts.NOT_ALLOWED, show_alert=True)
    elif (chat is not None and chat.type == Chat.PRIVATE and user is not None
          and await context.services.gatekeeper.first_refusal(user.id)):
        await context.bot.send_message(chat.id, texts.NOT_ALLOWED)
    raise ApplicationHandlerStop


async def _permitted(services: Services, user_id: int | None, chat_id: int | None) -> bool:
    """Operators always; others when listed (or allowed at run time) and not banned, asked of Redis each time so
    every replica follows an operator's /ban or /allow from the next update on."""
    if user_id is not None and user_id in services.operators:
        return True
    listed = services.allowlist.permits(user_id, chat_id)
    if user_id is None:
        return listed
    standing = await services.access.standing(user_id, allowed_too=not listed)
    return not standing.banned and (listed or standing.allowed)


def _from_a_bot(update: Update) -> bool:
    """Sent by a bot (two bots answering each other never stop); not a chat speaking as itself, which Telegram
    shows with a stand-in bot as the sender (an anonymous group admin, a channel), in new and edited messages."""
    user, message = update.effective_user, update.effective_message
    return user is not None and user.is_bot and (message is None or message.sender_chat is None)


async def private_message(update: Update, context: BotContext) -> None:
    """A message in a private chat: its text, photos and files read, then answered, streaming."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    messages = await album_messages(context.services.albums, context.bot, update.update_id, message)
    if messages is None:  # a part of an album another update answers
        return
    attachments = tuple(a for part in messages for a in attachments_of(part))
    reading = await read(context, message, caption_text(messages), attachments)
    if reading is not None:
        await answer(context, Target(ChatKey.of(message)), user.id, reading.text, speaker=None,
                     update_id=update.update_id, asked=message.message_id, images=reading.images)


async def read(context: BotContext, message: Message, text: str,
               attachments: tuple[Attachment, ...]) -> Reading | None:
    """What the model is to answer of a message; the notes about what could not be read are told first.
    None: there is nothing to answer."""
    reading = await context.services.reader.read(text, attachments)
    for note in reading.notes:
        await message.reply_text(note, do_quote=message.chat.type != Chat.PRIVATE)
    return reading if reading.answer else None


async def group_message(update: Update, context: BotContext) -> None:
    """A group message: answered only when it mentions or replies to the bot, in its topic, quoting it."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    messages = await album_messages(context.services.albums, context.bot, update.update_id, message)
    addressed = next((a for part in messages or () if (a := addressed_to_bot(part, context.me))), None)
    if messages is None or addressed is None:
        return
    attachments = tuple(replace(a, caption=a.caption and strip_mention(a.caption, context.me))
                        for part in messages for a in attachments_of(part))
    attachments += attachments_of(addressed.replied) if addressed.replied else ()
    reading = await read(context, message, addressed.text, attachments)
    if reading is None:
        return
    target = Target(ChatKey.of(message), is_group=True, reply_to=message.message_id)
    await answer(context, target, user.id, reading.text, speaker=display_name(user), update_id=update.update_id,
                 asked=message.message_id, images=reading.images)


async def stop_button(update: Update, context: BotContext) -> None:
    """The ⏹ Stop button: only the asker (or, in groups, an administrator) may stop an answer."""
    query = update.callback_query
    if query is None or not query.data:
        return
    replies = context.services.replies
    update_id = _update_id(query.data.removeprefix(STOP_PREFIX))
    if update_id is None:  # not a button of ours: just stop the client's spinner
        await query.answer()
        return
    running = await replies.find(update_id)
    if running is None:
        await query.answer(texts.ALREADY_FINISHED)
        return
    asker = query.from_user.id == running.user_id
    if not asker and not (running.chat_id < 0 and await context.services.gatekeeper.is_group_administrator(
            running.chat_id, query.from_user.id)):
        await query.answer(texts.ONLY_ASKER_STOPS, show_alert=True)
        return
    await replies.stop(update_id)
    await query.answer(texts.STOPPED)


def _update_id(text: str) -> int | None:
    """The update id our Stop buttons carry: up to 19 ASCII digits (``isdigit`` alone also takes "²")."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    return int(text)


async def foreign_button(update: Update, context: BotContext) -> None:
    """A button press no handler claims (an old keyboard, forged data): answered, so the spinner stops."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command no handler knows: one line pointing to /help (in groups only when it names this bot)."""
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return
    addressee = _addressee(message.text)
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    if (message.chat.type != Chat.PRIVATE and not addressee) or _answered_elsewhere(update, context):
        return
    await message.reply_text(texts.UNKNOWN_COMMAND, do_quote=quote(update))


def _addressee(text: str) -> str:
    """The bot a command names ("" for none): "/help@test_bot now" gives "test_bot"."""
    words = text[1:].split(maxsplit=1)
    return words[0].partition("@")[2] if words else ""


def _answered_elsewhere(update: Update, context: BotContext) -> bool:
    """Whether a command handler of group 0 (the commands') took this update: an operator's command from someone
    else is taken by none, so for them it does not exist either."""
    return any(isinstance(handler, CommandHandler) and handler.check_update(update)
               for handler in context.application.handlers.get(0, []))


async def joined_group(update: Update, context: BotContext) -> None:
    """Added to a group while privacy mode is on (getMe's can_read_all_group_messages): say how to reach the bot."""
    message, me = update.effective_message, context.bot.bot
    if message is None or me.can_read_all_group_messages:
        return
    if any(member.id == me.id for member in message.new_chat_members):
        await context.bot.send_message(message.chat.id, texts.privacy_mode_hint(me.username or me.first_name),
                                       message_thread_id=ChatKey.of(message).thread_id)


async def on_error(update: object, context: BotContext) -> None:
    """Log what failed with its (redacted) traceback, and tell the user briefly, without any details."""
    error = context.error
    logger.error("update failed: %s", type(error).__name__, exc_info=error)
    await context.services.stats.error()
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.SORRY,
                                           message_thread_id=ChatKey.of(update.effective_message).thread_id)
        except Exception as exc:  # Telegram itself may be what failed
            logger.warning("could not tell the user about the failure: %s", type(exc).__name__)


