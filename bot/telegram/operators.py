"""The operators' commands (ADMIN_USER_IDS, in their private chats): /stats, /ban, /unban, /allow, /disallow.

Registered for operators only (telegram/application.py), so to anyone else they are commands the bot lacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.domain.stats import BotStats, PeriodStats
from bot.domain.usage import PriceTable
from bot.telegram import texts
from bot.telegram.handlers import BotContext, Services

_MAX_ID_DIGITS = 19


async def stats(update: Update, context: BotContext) -> None:
    """/stats: the whole bot's users, chats, turns, tokens and cost, today and this month."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    banned, allowed = await services.access.listed()
    blocks = [stats_text(await services.stats.read(), services.prices), texts.stats_lists(len(banned), len(allowed))]
    await message.reply_text("\n\n".join(blocks))


def stats_text(figures: BotStats, prices: PriceTable) -> str:
    """Both periods, one block each."""
    periods = zip(texts.STATS_PERIODS, (figures.today, figures.month), strict=True)
    return "\n\n".join(_period_text(label, period, prices) for label, period in periods)


def _period_text(label: str, period: PeriodStats, prices: PriceTable) -> str:
    lines = [texts.stats_head(label, period.users, period.chats)]
    parts = [(texts.outcome_name(outcome), count) for outcome, count in sorted(
        period.turns.items(), key=lambda item: (-item[1], item[0])) if count]
    lines.append(texts.stats_turns(sum(c for _, c in parts), parts) if parts else texts.NO_TURNS)
    lines.append(texts.stats_refusals(period.budget_refusals, period.model_errors, period.errors))
    lines.extend(texts.stats_model(m.model, m.prompt, m.cached, m.completion, prices.cost([m]), images=m.images)
                 for m in period.tokens)
    if not period.tokens:
        lines.append(texts.NO_TOKENS)
    return "\n".join(lines)


async def ban(update: Update, context: BotContext) -> None:
    """/ban <user_id>: refused like a stranger, by every replica, from the next update on."""
    await _change(update, context, "ban", lambda services, user_id: _ban(services, user_id))


async def unban(update: Update, context: BotContext) -> None:
    """/unban <user_id>."""
    async def lift(services: Services, user_id: int) -> str:
        return texts.unbanned(user_id, await services.access.unban(user_id))
    await _change(update, context, "unban", lift)


async def allow(update: Update, context: BotContext) -> None:
    """/allow <user_id>: on top of ALLOWED_USER_IDS (meaningless when the bot is open to everyone)."""
    async def grant(services: Services, user_id: int) -> str:
        if services.allowlist.open:
            return texts.ALLOWLIST_OPEN
        return texts.allowed(user_id, await services.access.allow(user_id))
    await _change(update, context, "allow", grant)


async def disallow(update: Update, context: BotContext) -> None:
    """/disallow <user_id>: takes back an /allow (ALLOWED_USER_IDS itself is the operator's configuration)."""
    async def revoke(services: Services, user_id: int) -> str:
        changed = await services.access.disallow(user_id)
        return texts.disallowed(user_id, changed, user_id in services.allowlist.users)
    await _change(update, context, "disallow", revoke)


async def _ban(services: Services, user_id: int) -> str:
    if user_id in services.operators:
        return texts.operator_exempt(user_id)
    return texts.banned(user_id, await services.access.ban(user_id))


async def _change(update: Update, context: BotContext, command: str,
                  apply: Callable[[Services, int], Awaitable[str]]) -> None:
    message = update.effective_message
    if message is None:
        return
    user_id = user_id_of(context.args or [])
    if user_id is None:
        await message.reply_text(texts.operator_usage(command))
        return
    await message.reply_text(await apply(context.services, user_id))


def user_id_of(args: list[str]) -> int | None:
    """The one numeric user id a command was given, or None."""
    if len(args) != 1:
        return None
    text = args[0]
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS) or int(text) == 0:
        return None
    return int(text)
