"""Command callbacks: /start, /help, /reset, /persona (and its keyboard), /usage, /privacy."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.chat import ChatKey
from bot.domain.personas import (
    CUSTOM,
    DEFAULT,
    Persona,
    PersonaCatalog,
    PersonaCommand,
    encode_choice,
    parse_persona_command,
)
from bot.domain.usage import BudgetLeft, PriceTable, Spending
from bot.telegram import settings_menu, texts
from bot.telegram.context import BotContext, Services, arguments, may_change_settings, quote

PERSONA_PREFIX = "persona:"


async def start(update: Update, context: BotContext) -> None:
    """/start: a greeting and what the bot can do."""
    if update.effective_message:
        await update.effective_message.reply_text(texts.START, do_quote=quote(update))


async def help_command(update: Update, context: BotContext) -> None:
    """/help: the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(texts.HELP, do_quote=quote(update))


async def reset(update: Update, context: BotContext) -> None:
    """/reset: forget this chat's history (the persona stays)."""
    message = update.effective_message
    if message is None or not await may_change_settings(update, context):
        return
    await context.services.conversation.reset(ChatKey.of(message))
    await message.reply_text(texts.RESET, do_quote=quote(update))


async def persona(update: Update, context: BotContext) -> None:
    """/persona [NAME | your own instructions]: show, switch, or set a custom system prompt."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    services = context.services
    command = parse_persona_command(arguments(message), services.personas, services.persona_limit)
    if command.action == "show":
        current = services.personas.resolve(await services.history.persona(ChatKey.of(message)))
        await message.reply_text(_persona_overview(current, services.personas),
                                 reply_markup=_persona_keyboard(current, services.personas), do_quote=quote(update))
        return
    if command.action in ("switch", "custom") and not await may_change_settings(update, context):
        return
    await message.reply_text(await _apply_persona(command, ChatKey.of(message), services), do_quote=quote(update))


async def persona_button(update: Update, context: BotContext) -> None:
    """A tap on the /persona keyboard switches to that persona."""
    await settings_menu.tap(update, context, PERSONA_PREFIX, _tapped_persona)


async def _tapped_persona(choice: str, chat: ChatKey, services: Services) -> str:
    command = parse_persona_command(choice, services.personas, services.persona_limit)
    return await _apply_persona(command, chat, services)


async def _apply_persona(command: PersonaCommand, chat: ChatKey, services: Services) -> str:
    catalog = services.personas
    if command.action == "unknown":
        return texts.unknown_persona(command.value, _persona_list(catalog))
    if command.action == "too_long":
        return texts.persona_too_long(int(command.value), services.persona_limit.max_tokens)
    if command.action == "custom":
        await services.history.set_persona(chat, encode_choice(CUSTOM, command.value))
        return texts.custom_persona_set()
    choice = None if command.value == DEFAULT else encode_choice("name", command.value)
    await services.history.set_persona(chat, choice)
    return texts.persona_switched(command.value)


def _persona_overview(current: Persona, catalog: PersonaCatalog) -> str:
    if current.name == CUSTOM:
        head = texts.current_custom_persona(current.prompt)
    else:
        head = texts.current_persona(current.name, texts.persona_description(current.description))
    return f"{head}\n\n{_persona_list(catalog)}\n\n{texts.PERSONA_TAP}"


def _persona_list(catalog: PersonaCatalog) -> str:
    return texts.persona_list([(p.name, texts.persona_description(p.description)) for p in catalog])


def _persona_keyboard(current: Persona, catalog: PersonaCatalog) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(("✓ " if p.name == current.name else "") + p.name,
                                    callback_data=PERSONA_PREFIX + p.name) for p in catalog]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


async def usage(update: Update, context: BotContext) -> None:
    """/usage: the user's tokens today and this month with an estimated cost; in groups the chat's too."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    group = message.chat.type != "private"
    budgets = {b.kind: b for b in await services.ledger.budgets(user.id, ChatKey.of(message) if group else None)}
    parts = [_spending_text(texts.YOUR_USAGE, await services.ledger.spending(user_id=user.id), services.prices,
                            budgets.get("user"))]
    if group:
        chat = await services.ledger.spending(chat=ChatKey.of(message))
        parts.append(_spending_text(texts.CHAT_USAGE, chat, services.prices, budgets.get("chat")))
    await message.reply_text("\n\n".join(parts), do_quote=quote(update))


async def privacy(update: Update, context: BotContext) -> None:
    """/privacy: what the bot stores, for how long, and how to delete it."""
    if update.effective_message is None:
        return
    retention = context.services.retention
    text = texts.privacy(texts.duration(retention.history_seconds), texts.duration(retention.settings_seconds),
                         texts.duration(retention.usage_seconds))
    await update.effective_message.reply_text(text, do_quote=quote(update))


def _spending_text(title: str, spending: Spending, prices: PriceTable, budget: BudgetLeft | None) -> str:
    lines = [title + ":"]
    for label, period in zip(texts.USAGE_PERIODS, (spending.today, spending.month), strict=True):
        tokens_in, tokens_out = sum(m.prompt for m in period), sum(m.completion for m in period)
        seconds = sum(m.seconds for m in period)
        lines.append(texts.usage_line(label, tokens_in, tokens_out, prices.cost(period), seconds))
        lines.extend(texts.model_usage_line(m.model, m.prompt, m.completion, prices.cost([m]), images=m.images,
                                            reasoning=m.reasoning) for m in period)
    if budget is not None:
        lines.append(texts.budget_line(budget.budget, budget.left))
    return "\n".join(lines)
