"""Command callbacks: /start, /help, /reset, /persona (and its keyboard), /usage, /privacy."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update

from bot.handlers import (
    PERSONA_PREFIX,
    BotContext,
    Services,
    key_of,
    may_change_settings,
    quote,
)
from bot.personas import (
    CUSTOM,
    CUSTOM_PROMPT_LIMIT,
    DEFAULT,
    Persona,
    PersonaCatalog,
    PersonaCommand,
    encode_choice,
    parse_persona_command,
)
from bot.usage import PriceTable, Spending

START_TEXT = (
    "Hi! I'm an AI assistant. Send me a message and I'll answer as I write — you'll see the reply grow.\n\n"
    "I remember our conversation for a while, so you can ask follow-up questions. In groups, mention me or "
    "reply to one of my messages. Send /help to see what else I can do."
)

HELP_TEXT = (
    "Just write to me — I keep the context of our chat.\n\n"
    "/start — what I can do\n"
    "/help — this list\n"
    "/reset — forget our conversation and start afresh\n"
    "/persona — see or change how I answer\n"
    "/persona NAME — switch to a persona from the list\n"
    "/persona <your own instructions> — a custom persona for this chat\n"
    "/usage — the tokens you used today and this month\n"
    "/privacy — what I store and for how long\n\n"
    "While I'm answering, tap ⏹ Stop to cut me short. In groups I answer when mentioned or replied to."
)

RESET_TEXT = "Done — I've forgotten our conversation. Your persona stays as it is."

KEPT_HISTORY = "Our conversation so far is kept; the new persona applies from my next reply."


async def start(update: Update, context: BotContext) -> None:
    """/start: a greeting and what the bot can do."""
    if update.effective_message:
        await update.effective_message.reply_text(START_TEXT, do_quote=quote(update))


async def help_command(update: Update, context: BotContext) -> None:
    """/help: the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(HELP_TEXT, do_quote=quote(update))


async def reset(update: Update, context: BotContext) -> None:
    """/reset: forget this chat's history (the persona stays)."""
    message = update.effective_message
    if message is None or not await may_change_settings(update, context):
        return
    await context.services.conversation.reset(key_of(message))
    await message.reply_text(RESET_TEXT, do_quote=quote(update))


async def persona(update: Update, context: BotContext) -> None:
    """/persona [NAME | your own instructions]: show, switch, or set a custom system prompt."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    services = context.services
    command = parse_persona_command(_arguments(message), services.personas)
    if command.action == "show":
        current = services.personas.resolve(await services.history.persona(key_of(message)))
        await message.reply_text(_persona_overview(current, services.personas),
                                 reply_markup=_persona_keyboard(current, services.personas), do_quote=quote(update))
        return
    if command.action in ("switch", "custom") and not await may_change_settings(update, context):
        return
    await message.reply_text(await _apply_persona(command, key_of(message), services), do_quote=quote(update))


async def persona_button(update: Update, context: BotContext) -> None:
    """A tap on the /persona keyboard switches to that persona."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    if not await may_change_settings(update, context):
        return
    command = parse_persona_command(query.data.removeprefix(PERSONA_PREFIX), context.services.personas)
    confirmation = await _apply_persona(command, key_of(query.message), context.services)
    await query.answer()
    await query.edit_message_text(confirmation)


async def _apply_persona(command: PersonaCommand, chat: str, services: Services) -> str:
    catalog = services.personas
    if command.action == "unknown":
        return f"Unknown persona “{command.value}”.\n\n{_persona_list(catalog)}"
    if command.action == "too_long":
        return (f"That custom persona is {command.value} characters long; the limit is "
                f"{CUSTOM_PROMPT_LIMIT}. Please shorten it.")
    if command.action == "custom":
        await services.history.set_persona(chat, encode_choice(CUSTOM, command.value))
        return f"Custom persona set. {KEPT_HISTORY}"
    choice = None if command.value == DEFAULT else encode_choice("name", command.value)
    await services.history.set_persona(chat, choice)
    return f"Persona switched to “{command.value}”. {KEPT_HISTORY}"


def _persona_overview(current: Persona, catalog: PersonaCatalog) -> str:
    if current.name == CUSTOM:
        head = f"Current persona: custom — “{current.prompt[:200]}”"
    else:
        head = f"Current persona: {current.name} — {current.description}"
    return f"{head}\n\n{_persona_list(catalog)}\n\nTap one to switch, or send /persona <your own instructions>."


def _persona_list(catalog: PersonaCatalog) -> str:
    return "Personas:\n" + "\n".join(f"• {p.name} — {p.description}" for p in catalog)


def _persona_keyboard(current: Persona, catalog: PersonaCatalog) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(("✓ " if p.name == current.name else "") + p.name,
                                    callback_data=PERSONA_PREFIX + p.name) for p in catalog]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def _arguments(message: Message) -> str:
    """The text after the command, with its own line breaks and spacing."""
    text = message.text or ""
    command = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    return text[command.length:] if command else text.partition(" ")[2]  # a command is ASCII: units = chars


async def usage(update: Update, context: BotContext) -> None:
    """/usage: the user's tokens today and this month with an estimated cost; in groups the chat's too."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    parts = [_spending_text("Your usage", await services.ledger.spending(user_id=user.id), services.prices)]
    if message.chat.type != "private":
        chat = await services.ledger.spending(chat=key_of(message))
        parts.append(_spending_text("This chat", chat, services.prices))
    await message.reply_text("\n\n".join(parts), do_quote=quote(update))


async def privacy(update: Update, context: BotContext) -> None:
    """/privacy: what the bot stores, for how long, and how to delete it."""
    if update.effective_message is None:
        return
    retention = context.services.retention
    await update.effective_message.reply_text(
        "What I store, and for how long:\n"
        f"• The messages of this chat and my answers, so I can keep the context: deleted after "
        f"{_duration(retention.history_seconds)} without new messages. Older messages are condensed into a "
        "short summary, kept just as long.\n"
        f"• Your persona choice: deleted after {_duration(retention.settings_seconds)} unused.\n"
        f"• Token counts (no text) for /usage and daily limits: {_duration(retention.usage_seconds)}.\n\n"
        "/reset deletes this chat's history and summary right now.\n"
        "Your messages are sent to the language model provider to write the answers. I keep no photos, "
        "voice messages or files.",
        do_quote=quote(update),
    )


def _spending_text(title: str, spending: Spending, prices: PriceTable) -> str:
    lines = [title + ":"]
    for label, period in (("Today", spending.today), ("This month", spending.month)):
        tokens_in, tokens_out = sum(m.prompt for m in period), sum(m.completion for m in period)
        cost = prices.cost(period)
        price = f" · ≈ ${cost:.4f}" if cost is not None else ""
        lines.append(f"{label}: {tokens_in:,} tokens in · {tokens_out:,} out{price}")
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    if days and not rest:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = seconds // 3600
    if hours and seconds % 3600 == 0:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} seconds"
