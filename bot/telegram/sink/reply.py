"""The reply sink: an answer shown as it grows (paced partial edits), its final text with a note, or a short
failure message; the Stop button while it streams. Typing and the pump stop however the turn ends."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.error import TelegramError

from bot.domain.outcome import Ending, Failure
from bot.domain.tools import Progress
from bot.domain.usage import next_midnight
from bot.metrics import Metrics
from bot.telegram import texts
from bot.telegram.markdown.render import Rendered, render, render_partial, utf16_len
from bot.telegram.pacing import Pacer
from bot.telegram.sink.message import MessageWriter
from bot.telegram.sink.pages import Handover, Pages
from bot.telegram.sink.pump import Pump
from bot.telegram.sink.schedule import Cadence, Schedule
from bot.telegram.sink.target import Target
from bot.telegram.sink.typing import Typing

logger = logging.getLogger(__name__)

STOP_PREFIX = "stop:"
REGENERATE = "regenerate"  # the 🔄 button's data: the chat's newest answer, answered again
PROGRESS_SUBJECT_LIMIT = 80  # characters of a query or a title in a progress line


class TelegramReplySink:
    """A ReplySink that shows the answer as it grows, edited by time, never tripping flood control."""

    def __init__(self, bot: Bot, target: Target, pacer: Pacer, cadence: Cadence, *,
                 stop_token: str | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, metrics: Metrics | None = None,
                 handover: Handover | None = None, regenerable: bool = False) -> None:
        schedule = Schedule(target, pacer, cadence.interval(target), clock, sleep)
        draft = cadence.drafts(target)
        self._bot = bot
        self._schedule = schedule
        self._regenerable = regenerable
        self._target = target
        self._clock = clock
        self._stop_token = None if draft else stop_token
        self._pages = Pages(handover or Handover())
        self._typing = Typing(bot, target, schedule)
        self._pump = Pump(schedule, self._publish_partial)
        self._message = MessageWriter(bot, target, schedule, self._pages, draft=draft,
                                      give_up_seconds=cadence.give_up_seconds, metrics=metrics,
                                      on_visible=self._first_visible)
        self.first_visible_at: float | None = None
        self._seen = ""  # the answer's Markdown as far as the user sees it (as of the last call that landed)
        self._gave_up = False

    async def __aenter__(self) -> TelegramReplySink:
        """Show `typing` now and every few seconds until the first words are visible."""
        self._typing.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        """However the turn ended, nothing of this answer calls Telegram any more."""
        self._pump.halt()  # first: while typing is awaited below, a pump waking up must not publish
        await self._typing.close()
        await self._pump.close()

    def preface(self, rendered: Rendered) -> None:
        """Show this above the answer, in its first message, from now on (what a voice message said)."""
        self._pages.preface = rendered
        self._pump.changed()

    async def show(self, text: str) -> None:
        """The answer so far; only the newest state is ever sent."""
        self._pages.source = text
        self._pump.changed()

    async def thinking(self) -> None:
        """A reasoning model thinks before its first words: "💭 Thinking…" shows meanwhile (typing alone looks
        broken after a few seconds); the first words replace it."""
        if not self._pages.source:
            await self._message.deliver(Rendered(texts.THINKING, ()), self._stop_button(), final=False)

    async def progress(self, text: str, steps: Sequence[Progress]) -> None:
        """The answer so far and, under it, a line per tool call running now (the answer replaces them)."""
        lines = "\n".join(_escaped(texts.progress(step.kind, _short(step.subject))) for step in steps)
        self._pages.source = f"{text.rstrip()}\n\n{lines}" if text.strip() else lines
        self._pump.changed()

    async def finish(self, text: str, ending: Ending) -> str | None:
        """Deliver the complete answer exactly, with a note when it did not end normally. None once the user sees
        it; when delivering was given up (DELIVERY_GIVE_UP_SECONDS), the part of the answer the user sees."""
        await self._quiesce()
        self._pages.source = text
        await self._roll_over(final=True)
        markdown = self._pages.markdown()
        last = render(markdown) if markdown.strip() else None
        await self._deliver_last(last, texts.NOTES.get(ending), markup=self._regenerate_button(text))
        if not self._gave_up:
            await self._pages.delete_unused(self._bot, self._target.chat_id)
        return self._seen if self._gave_up else None

    @property
    def message_ids(self) -> tuple[int, ...]:
        """The answer's messages, in order."""
        return self._pages.message_ids

    async def retire(self, message_id: int) -> None:
        """Take the 🔄 off the chat's previous newest answer: one edit, paced like the others."""
        await self._schedule.wait_for_slot()
        self._schedule.record()
        try:
            await self._bot.edit_message_reply_markup(self._target.chat_id, message_id, reply_markup=None)
        except TelegramError as exc:  # deleted meanwhile, or flooded: a stale 🔄 only says it is not the newest
            logger.info("could not take the 🔄 off an earlier answer (%s)", type(exc).__name__)

    async def fail(self, failure: Failure) -> None:
        """Tell the user, briefly, that no answer could be given."""
        await self._quiesce()
        text = texts.failure(failure, _until_midnight(datetime.now(UTC)))
        await self._deliver_last(None, text, italic=False)
        await self._pages.delete_unused(self._bot, self._target.chat_id)

    async def tell(self, text: str) -> None:
        """Say, briefly, why this message gets no answer (it could not be read)."""
        await self._quiesce()
        await self._deliver_last(None, text, italic=False)
        await self._pages.delete_unused(self._bot, self._target.chat_id)

    async def _quiesce(self) -> None:
        await self._pump.drain()
        self._typing.stop()

    async def _publish_partial(self) -> None:
        await self._roll_over(final=False)
        source, rendered = self._pages.source, render_partial(self._pages.markdown())
        if ((rendered.text.strip() or self._pages.preface is not None)
                and await self._message.deliver(rendered, self._stop_button(), final=False)):
            self._seen = source

    async def _roll_over(self, final: bool) -> None:
        """Close full messages and continue the answer in a new one, at a good boundary."""
        while (overflow := self._pages.overflow(final)) is not None:
            await self._deliver_final(render(overflow.head.markdown), self._pages.head_source(overflow))
            self._pages.turn(overflow)

    async def _deliver_final(self, rendered: Rendered, seen: str | None,
                             markup: InlineKeyboardMarkup | None = None) -> None:
        """A text that must land (``seen``: the answer so far once it has); after a give-up, nothing more is tried:
        Telegram stayed out of reach for DELIVERY_GIVE_UP_SECONDS."""
        if self._gave_up:
            return
        if not await self._message.deliver(rendered, markup, final=True):
            self._gave_up = True
        elif seen is not None:
            self._seen = seen

    async def _deliver_last(self, last: Rendered | None, note: str | None, italic: bool = True,
                            markup: InlineKeyboardMarkup | None = None) -> None:
        """The last message (with ``markup``); a note goes under it, or in a message of its own when both do not
        fit in one."""
        noted = _noted(last, note, italic) if note is not None else None
        whole = self._pages.source
        if noted is not None and noted.utf16_len() <= self._pages.limit:
            await self._deliver_final(noted, whole, markup)
            return
        if last is not None:
            await self._deliver_final(last, whole, None if note is not None else markup)
        if note is not None:
            self._pages.advance()
            await self._deliver_final(_noted(None, note, italic), None, markup)

    def _first_visible(self) -> None:
        if self.first_visible_at is None:
            self.first_visible_at = self._clock()
            self._typing.stop()

    def _regenerate_button(self, text: str) -> InlineKeyboardMarkup | None:
        if not self._regenerable or not text.strip():  # nothing was stored: nothing to answer again
            return None
        return InlineKeyboardMarkup([[InlineKeyboardButton(texts.REGENERATE_BUTTON, callback_data=REGENERATE)]])

    def _stop_button(self) -> InlineKeyboardMarkup | None:
        if self._stop_token is None:
            return None
        button = InlineKeyboardButton(texts.STOP_BUTTON, callback_data=STOP_PREFIX + self._stop_token)
        return InlineKeyboardMarkup([[button]])


def _noted(rendered: Rendered | None, note: str, italic: bool) -> Rendered:
    """The text with a short note after it, in italics (unless ``italic`` is false)."""
    text = rendered.text if rendered else ""
    entities = tuple(rendered.entities) if rendered else ()
    separator = "\n\n" if text else ""
    offset = utf16_len(text + separator)
    styled = (MessageEntity(MessageEntity.ITALIC, offset, utf16_len(note)),) if italic else ()
    return Rendered(text + separator + note, entities + styled)


def _short(subject: str, limit: int = PROGRESS_SUBJECT_LIMIT) -> str:
    flat = " ".join(subject.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _escaped(line: str) -> str:
    """A progress line as Markdown that shows it literally (a query may hold * or _)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", line)


def _until_midnight(now: datetime) -> str:
    left = int((next_midnight(now) - now).total_seconds())
    hours, minutes = divmod(max(60, left) // 60, 60)
    return texts.until(hours, minutes)
