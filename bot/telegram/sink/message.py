"""Writing the answer's current message: send, edit or draft, through flood waits, "not modified", a message
deleted under us, and formatting Telegram rejects (then plain text from there on)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.metrics import Metrics
from bot.telegram.flood import retry_after_seconds
from bot.telegram.markdown.render import Rendered
from bot.telegram.sink.pages import Pages, Shown
from bot.telegram.sink.schedule import Schedule
from bot.telegram.sink.target import Target

logger = logging.getLogger(__name__)


class MessageWriter:
    """Shows a rendered text in the answer's current message; only a final text is retried until it lands."""

    def __init__(self, bot: Bot, target: Target, schedule: Schedule, pages: Pages, *, draft: bool,
                 give_up_seconds: float, metrics: Metrics | None, on_visible: Callable[[], None]) -> None:
        self._bot = bot
        self._give_up = give_up_seconds
        self._target = target
        self._schedule = schedule
        self._pages = pages
        self._draft = draft
        self._metrics = metrics
        self._on_visible = on_visible
        self._plain = False

    async def deliver(self, rendered: Rendered, markup: InlineKeyboardMarkup | None, *, final: bool) -> bool:
        """Send or edit the current message; True once the user sees it. A partial text is tried once (a newer one
        follows); a final one waits out flood waits and outages, retrying until DELIVERY_GIVE_UP_SECONDS."""
        if not final:
            return await self._attempt(rendered, markup, final, 0)
        deadline, attempt = self._schedule.clock() + self._give_up, 0
        while True:
            await self._schedule.wait_for_slot()
            if await self._attempt(rendered, markup, final, attempt):
                return True
            attempt += 1
            if self._schedule.clock() >= deadline:
                logger.error("gave up delivering the final text of an answer after %.0fs", self._give_up)
                return False

    async def _attempt(self, rendered: Rendered, markup: InlineKeyboardMarkup | None, final: bool,
                       attempt: int) -> bool:
        """One call; whether it is done (a failure that may pass is absorbed, so the caller may retry)."""
        try:
            await self._write(rendered, markup, final)
            return True
        except RetryAfter as exc:
            self._flood_wait(retry_after_seconds(exc))
        except BadRequest as exc:
            if not self._recover(exc):
                raise
        except NetworkError as exc:
            logger.warning("Telegram call failed (%s), attempt %d", type(exc).__name__, attempt + 1)
            if final:
                await self._schedule.sleep(min(2.0**attempt, 10.0))
        return False

    def _flood_wait(self, seconds: float) -> None:
        self._schedule.flood_wait(seconds)
        if self._metrics is not None:
            self._metrics.telegram_429.inc()
        logger.info("flood wait of %.0fs in a chat", seconds)

    def _recover(self, exc: BadRequest) -> bool:
        """Whether a BadRequest can be absorbed (after adjusting what we send)."""
        message = exc.message.lower()
        if "can't parse entities" in message or "entit" in message:
            logger.warning("Telegram rejected the formatting; sending plain text from now on")
            self._plain = True
            return True
        if "message to edit not found" in message:
            self._pages.lost()
            return True
        return False

    async def _write(self, rendered: Rendered, markup: InlineKeyboardMarkup | None, final: bool) -> None:
        rendered = self._pages.dressed(rendered)
        if self._plain:
            rendered = Rendered(rendered.text, ())
        shown = self._pages.current
        as_draft = self._draft and not final
        if shown.shows(rendered, markup is not None, as_draft):
            return
        self._schedule.record()
        try:
            await self._call(shown, rendered, markup, as_draft)
        except BadRequest as exc:  # it already shows exactly this (the text a replica that died had sent): done
            if "not modified" not in exc.message.lower():
                raise
        shown.rendered, shown.with_button = rendered, markup is not None
        self._on_visible()

    async def _call(self, shown: Shown, rendered: Rendered, markup: InlineKeyboardMarkup | None,
                    as_draft: bool) -> None:
        chat_id, entities = self._target.chat_id, list(rendered.entities)
        if as_draft:
            await self._bot.send_message_draft(chat_id, shown.draft_id, rendered.text, entities=entities)
        elif shown.message_id is None:
            await self._pages.sent((await self._send(rendered, markup)).message_id)
        else:
            await self._bot.edit_message_text(rendered.text, chat_id, shown.message_id, entities=entities,
                                              reply_markup=markup)

    async def _send(self, rendered: Rendered, markup: InlineKeyboardMarkup | None) -> Message:
        reply = None
        if self._target.reply_to is not None and self._pages.first:
            reply = ReplyParameters(self._target.reply_to, allow_sending_without_reply=True)
        return await self._bot.send_message(
            self._target.chat_id, rendered.text, entities=list(rendered.entities), reply_markup=markup,
            message_thread_id=self._target.thread_id, reply_parameters=reply,
        )
