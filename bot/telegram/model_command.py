"""/model: show the chat's model and a keyboard of the offered ones, switch on a tap or by ``/model ID``."""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.chat import ChatKey
from bot.domain.models import ModelCatalog, ModelChoice
from bot.telegram import settings_menu, texts
from bot.telegram.context import BotContext, Services, arguments, may_change_settings, quote

MODEL_PREFIX = "model:"
CALLBACK_DATA_LIMIT = 64  # bytes of a button's callback_data Telegram takes


async def model(update: Update, context: BotContext) -> None:
    """/model [ID]: the current model and the others to tap, or a switch to the one named."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    services, wanted = context.services, arguments(message).strip()
    if len(services.models) < 2:
        await message.reply_text(texts.only_model(services.models.default), do_quote=quote(update))
        return
    if not wanted:
        current = services.models.choice(await _current(services, ChatKey.of(message)))
        await message.reply_text(_overview(current, services.models),
                                 reply_markup=_keyboard(current, services.models), do_quote=quote(update))
        return
    if services.models.find(wanted) is not None and not await may_change_settings(update, context):
        return
    await message.reply_text(await _switch(wanted, ChatKey.of(message), services), do_quote=quote(update))


async def model_button(update: Update, context: BotContext) -> None:
    """A tap on the /model keyboard switches this chat to that model."""
    await settings_menu.tap(update, context, MODEL_PREFIX, _switch_to_pressed)


async def _switch_to_pressed(data: str, chat: ChatKey, services: Services) -> str:
    return await _switch(_pressed(data, services.models), chat, services)


async def _current(services: Services, chat: ChatKey) -> str:
    return services.models.resolve(await services.history.model(chat))


async def _switch(wanted: str, chat: ChatKey, services: Services) -> str:
    choice = services.models.find(wanted)
    if choice is None:
        return texts.unknown_model(wanted[:100], _listing(services.models))
    await services.history.set_model(chat, None if choice.id == services.models.default else choice.id)
    return texts.model_switched(_name(choice))


def _name(choice: ModelChoice) -> str:
    return texts.model_name(choice.id, choice.label)


def _listing(catalog: ModelCatalog) -> str:
    return texts.model_list([_name(c) for c in catalog])


def _overview(current: ModelChoice, catalog: ModelCatalog) -> str:
    return f"{texts.current_model(_name(current))}\n\n{_listing(catalog)}\n\n{texts.MODEL_TAP}"


def _keyboard(current: ModelChoice, catalog: ModelCatalog) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(("✓ " if c.id == current.id else "") + c.label, callback_data=_data(c))
               for c in catalog]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def _data(choice: ModelChoice) -> str:
    """A button's callback_data: the model's id, or a digest of it when the id is too long for a button (its
    place in MODELS would name another model in a menu shown before MODELS was reordered)."""
    data = MODEL_PREFIX + choice.id
    return data if len(data.encode()) <= CALLBACK_DATA_LIMIT else f"{MODEL_PREFIX}#{_digest(choice.id)}"


def _pressed(data: str, catalog: ModelCatalog) -> str:
    """The model a button stands for (``#…``: the one whose id has that digest)."""
    if catalog.find(data) is None and data.startswith("#"):
        return next((c.id for c in catalog if _digest(c.id) == data[1:]), data)
    return data


def _digest(model_id: str) -> str:
    return hashlib.sha256(model_id.encode()).hexdigest()[:16]
