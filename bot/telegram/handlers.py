"""PTB callbacks: translate Telegram updates into plain values, call the domain, hand output back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from telegram import Chat, Message, MessageEntity, ReplyParameters, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, CommandHandler, ExtBot

from bot.domain.access import Allowlist
from bot.domain.attachment import Attachment
from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, TurnRequest, TurnResult
from bot.domain.image import SeenImage
from bot.domain.images import Painter
from bot.domain.models import ModelCatalog
from bot.domain.outcome import Failure
from bot.domain.personas import PersonaCatalog, PromptLimit
from bot.domain.ports import History
from bot.domain.reminders import ReminderBook
from bot.domain.usage import PriceTable
from bot.metrics import Metrics
from bot.store.access import AccessLists
from bot.store.albums import Albums
from bot.store.gate import Gatekeeper
from bot.store.latest import LatestAnswer, LatestAnswers
from bot.store.notices import Notices
from bot.store.replies import Owner, Replies
from bot.store.stats import StatsBook
from bot.store.usage import UsageLedger
from bot.telegram import texts
from bot.telegram.album import album_messages, caption_text
from bot.telegram.attachments import attachments_of
from bot.telegram.files import TelegramFiles
from bot.telegram.i18n import language
from bot.telegram.media import MediaRules
from bot.telegram.pacing import Pacer
from bot.telegram.reader import Reader, Reading
from bot.telegram.sink import STOP_PREFIX, Cadence, Handover, Target, TelegramReplySink
from bot.telegram.triggers import BotIdentity, addressed_to_bot, display_name, strip_mention

logger = logging.getLogger(__name__)

PERSONA_PREFIX = "persona:"


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


@dataclass(frozen=True)
class Declined:
    """A message the bot cannot answer after all (a scanned PDF, say): what the user is told instead."""

    text: str


# Makes a turn's text inside its reply, while `typing…` shows (a recording downloaded and transcribed, a document
# read); may set the reply's preface. A Failure or Declined ends the turn without the model.
Prepare = Callable[[TelegramReplySink], Awaitable[str | Failure | Declined]]


async def answer(context: BotContext, target: Target, user_id: int, text: str | Prepare, *, speaker: str | None,
                 update_id: int, asked: int | None = None, images: tuple[SeenImage, ...] = (),
                 again: LatestAnswer | None = None) -> None:
    """Run one turn into a streaming Telegram reply (unless the user is sending too fast). ``asked``: the user's
    message (its answer becomes the chat's newest, with 🔄); ``again``: the chat's newest answer, answered again
    in its own messages ("" as ``text`` keeps its question)."""
    services = context.services
    resumed = services.replies.resumed(update_id)  # counted against the rate when it first came
    if not resumed and await _slowed_down(context, target, user_id):
        return
    stop = asyncio.Event()
    sink = await _sink(context, target, Owner(target.chat_id, user_id), update_id, stop, again, asked is not None)
    started = services.clock()
    services.metrics.streams_in_flight.inc()
    result: TurnResult | None = None
    try:
        async with sink:  # typing and the edit pump stop however the turn ends
            prepared = text if isinstance(text, str) else await _prepared(services, text, sink, resumed, update_id)
            if isinstance(prepared, str):
                request = TurnRequest(target.chat, user_id, prepared, speaker, stop=stop, turn_id=str(update_id),
                                      resumed=resumed, images=images, redo=again is not None, message_id=asked)
                result = await services.conversation.reply(request, sink)
                outcome = result.outcome
                if result.text.strip() and asked is not None:  # stored: it is the chat's newest answer now
                    await _become_latest(services, target.chat, LatestAnswer(user_id, asked, sink.message_ids),
                                         sink)
            else:
                outcome = await _decline(sink, prepared)
    finally:
        services.metrics.streams_in_flight.dec()
        services.replies.close(update_id)
    _observe(services, outcome, started, sink.first_visible_at, update_id, target.chat)
    await services.stats.turn(user_id, target.chat_id, outcome)
    if result is not None:
        await _tell_images_refused(context, target, result)


async def _prepared(services: Services, prepare: Prepare, sink: TelegramReplySink, resumed: bool,
                    update_id: int) -> str | Failure | Declined:
    """The turn's text; none when a replica that died had stored the answer already (the conversation delivers
    it), so a recording is not transcribed twice."""
    if resumed and await services.history.generated(str(update_id)) is not None:
        return ""
    return await prepare(sink)


async def _decline(sink: TelegramReplySink, why: Failure | Declined) -> str:
    if isinstance(why, Failure):
        await sink.fail(why)
        return f"failed:{why.value}"
    await sink.tell(why.text)
    return "declined"


async def _tell_images_refused(context: BotContext, target: Target, result: TurnResult) -> None:
    """The model would not read the turn's images: say so, once a day per chat."""
    notices = context.services.notices
    if not result.images_refused or (notices is not None and  # per chat: a forum's topics are told once
                                     not await notices.first_today(ChatKey(target.chat_id), "images")):
        return
    await context.bot.send_message(target.chat_id, texts.MODEL_READS_NO_IMAGES, message_thread_id=target.thread_id,
                                   reply_parameters=_reply_to(target))


async def _sink(context: BotContext, target: Target, owner: Owner, update_id: int,
                stop: asyncio.Event, again: LatestAnswer | None, regenerable: bool) -> TelegramReplySink:
    """The reply's sink, continuing the messages of a replica that died mid-answer, if one did, or those of the
    answer given again."""
    services = context.services
    earlier = await services.replies.adopt(update_id)
    if earlier is not None and earlier.stopped:
        stop.set()
    services.replies.open(update_id, owner, stop)
    reused = earlier.message_ids if earlier is not None and earlier.message_ids else ()
    handover = Handover(reused or (again.messages if again else ()),
                        lambda ids: services.replies.remember(update_id, owner, ids))
    return TelegramReplySink(context.bot, target, services.pacer, services.cadence, stop_token=str(update_id),
                             clock=services.clock, sleep=services.sleep, metrics=services.metrics, handover=handover,
                             regenerable=regenerable)


async def _become_latest(services: Services, chat: ChatKey, latest: LatestAnswer, sink: TelegramReplySink) -> None:
    """The chat's newest answer carries the 🔄; the previous one's is taken off (unless it is in this one)."""
    previous = await services.latest.replace(chat, latest)
    if previous is not None and previous.messages and previous.messages[-1] not in latest.messages:
        await sink.retire(previous.messages[-1])


def _observe(services: Services, outcome: str, started: float, first_visible: float | None, update_id: int,
             chat: ChatKey) -> None:
    duration = services.clock() - started
    services.metrics.turns.labels(outcome).inc()
    services.metrics.turn_duration.observe(duration)
    fields: dict[str, object] = {"update_id": update_id, "chat": str(chat), "outcome": outcome,
                                 "duration_ms": round(duration * 1000)}
    if first_visible is not None:
        services.metrics.first_text.observe(first_visible - started)
        fields["first_text_ms"] = round((first_visible - started) * 1000)
    logger.info("turn finished: %s", outcome, extra=fields)


async def _slowed_down(context: BotContext, target: Target, user_id: int) -> bool:
    services = context.services
    if not services.messages_per_minute or user_id in services.operators:
        return False
    limited, tell = await services.gatekeeper.too_fast(user_id, services.messages_per_minute)
    if tell:
        await context.bot.send_message(target.chat_id, texts.SLOW_DOWN, message_thread_id=target.thread_id,
                                       reply_parameters=_reply_to(target))
    return limited


def _reply_to(target: Target) -> ReplyParameters | None:
    if target.reply_to is None:
        return None
    return ReplyParameters(target.reply_to, allow_sending_without_reply=True)


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


def arguments(message: Message) -> str:
    """The text after a message's command, with its own line breaks and spacing."""
    text = message.text or ""
    command = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    return text[command.length:] if command else text.partition(" ")[2]  # a command is ASCII: units = chars


def quote(update: Update) -> bool:
    """Quote the command in groups, where several people talk; not in private chats."""
    return update.effective_chat is not None and update.effective_chat.type != Chat.PRIVATE
