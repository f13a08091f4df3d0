"""The PTB Application: built with its transport and rate limiter, every handler registered in one block."""

from __future__ import annotations

from telegram import Bot, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.domain.attachment import Kind
from bot.telegram import (
    again,
    commands,
    documents,
    handlers,
    image_command,
    model_command,
    operators,
    reminders,
    unreadable,
    voice,
)
from bot.telegram.context import BotApplication, BotContext, Services
from bot.telegram.media import carried
from bot.telegram.ratelimit import RedisRateLimiter
from bot.telegram.sink import REGENERATE, STOP_PREFIX

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
# Updates PTB runs at once (each is one turn waiting on the model most of its time).
CONCURRENT_UPDATES = 512


def build_application(token: str, api_url: str, requests: tuple[BaseRequest, BaseRequest],
                      rate_limiter: RedisRateLimiter) -> BotApplication:
    """The Application, never polling itself: updates reach it from the ingress stream (both modes)."""
    application: BotApplication = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(rate_limiter)
        # A reply whose message was deleted meanwhile goes out unquoted instead of failing with a BadRequest.
        .defaults(Defaults(allow_sending_without_reply=True))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(requests[0])
        .get_updates_request(requests[1])
        .updater(None)
        .build()
    )
    return application


def register(application: BotApplication, services: Services) -> None:
    """Every handler, in one place; the update's language is chosen first, then the gate runs, for every update."""
    application.bot_data["services"] = services
    private, groups, fresh = filters.ChatType.PRIVATE, filters.ChatType.GROUPS, filters.UpdateType.MESSAGE
    words = filters.TEXT | filters.CAPTION
    application.add_handler(TypeHandler(Update, handlers.speak_their_language), group=-2)
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handler(CommandHandler("start", commands.start, filters=fresh))
    application.add_handler(CommandHandler("help", commands.help_command, filters=fresh))
    application.add_handler(CommandHandler(("reset", "new"), commands.reset, filters=fresh))
    application.add_handler(CommandHandler("persona", commands.persona, filters=fresh))
    application.add_handler(CommandHandler("model", model_command.model, filters=fresh))
    application.add_handler(CommandHandler("retry", again.retry, filters=fresh))
    application.add_handler(CommandHandler("image", image_command.image, filters=fresh))
    application.add_handler(CommandHandler("usage", commands.usage, filters=fresh))
    application.add_handler(CommandHandler("privacy", commands.privacy, filters=fresh))
    application.add_handler(CommandHandler("reminders", reminders.reminders, filters=fresh))
    if services.operators:  # for anyone else these commands do not exist
        by_operator = fresh & private & filters.User(user_id=services.operators)
        for name, callback in (("stats", operators.stats), ("ban", operators.ban), ("unban", operators.unban),
                               ("allow", operators.allow), ("disallow", operators.disallow)):
            application.add_handler(CommandHandler(name, callback, filters=by_operator))
    application.add_handler(MessageHandler(fresh & groups & filters.StatusUpdate.NEW_CHAT_MEMBERS,
                                           handlers.joined_group))
    application.add_handler(CallbackQueryHandler(handlers.stop_button, pattern=f"^{STOP_PREFIX}"))
    application.add_handler(CallbackQueryHandler(commands.persona_button, pattern=f"^{commands.PERSONA_PREFIX}"))
    application.add_handler(CallbackQueryHandler(model_command.model_button, pattern=f"^{model_command.MODEL_PREFIX}"))
    application.add_handler(CallbackQueryHandler(again.regenerate_button, pattern=f"^{REGENERATE}$"))
    application.add_handler(CallbackQueryHandler(reminders.cancel_button, pattern=reminders.PATTERN))
    application.add_handler(CallbackQueryHandler(handlers.foreign_button))
    # Before the text handlers: a recording or document with a caption is read, not answered by its caption alone.
    application.add_handler(MessageHandler(fresh & ~filters.COMMAND & Carrying(voice.RECORDINGS), voice.recording))
    application.add_handler(MessageHandler(fresh & ~filters.COMMAND & Carrying({Kind.DOCUMENT}), documents.document))
    application.add_handler(MessageHandler(fresh & ~filters.COMMAND & Carrying(unreadable.UNREADABLE),
                                           unreadable.unreadable))
    application.add_handler(MessageHandler(
        fresh & private & ~filters.StatusUpdate.ALL & ~filters.COMMAND, handlers.private_message))
    application.add_handler(MessageHandler(
        fresh & groups & (words | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND, handlers.group_message))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & words & ~filters.COMMAND,
                                           again.edited_message))
    # After every command of group 0 is known (whatever order they were added in): the rest are unknown.
    application.add_handler(MessageHandler(fresh & filters.COMMAND, handlers.unknown_command), group=1)
    application.add_error_handler(handlers.on_error)


class GroupAdministrators:
    """A group's administrators as the Bot API lists them (the Gatekeeper caches them)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def __call__(self, chat_id: int) -> list[int]:
        return [member.user.id for member in await self._bot.get_chat_administrators(chat_id)]


class Carrying(filters.MessageFilter):
    """Messages carrying an attachment of one of the kinds (as telegram/attachments.py reads them), or replying to
    one that does."""

    def __init__(self, kinds: frozenset[Kind] | set[Kind]) -> None:
        super().__init__(name=f"Carrying({', '.join(sorted(k.value for k in kinds))})")
        self._kinds = frozenset(kinds)

    def filter(self, message: Message) -> bool:
        return carried(message, self._kinds) is not None
