"""The Telegram side of a streaming answer: typing, paced edits, flood waits, 4096 splits, Stop, drafts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.domain.chat import ChatKey
from bot.domain.outcome import Ending, Failure
from bot.domain.usage import next_midnight
from bot.metrics import Metrics
from bot.telegram import texts
from bot.telegram.flood import retry_after_seconds
from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, Rendered, render, render_partial, utf16_len
from bot.telegram.markdown.splitter import reopen_fence, split_markdown
from bot.telegram.pacing import Pacer

logger = logging.getLogger(__name__)

TYPING_EVERY = 4.0
STOP_PREFIX = "stop:"
_FINAL_ATTEMPTS = 6

@dataclass(frozen=True)
class Target:
    """Where the answer goes: the chat, its forum topic, and the message it answers."""

    chat: ChatKey
    is_group: bool = False
    reply_to: int | None = None

    @property
    def chat_id(self) -> int:
        return self.chat.chat_id

    @property
    def thread_id(self) -> int | None:
        return self.chat.thread_id


@dataclass(frozen=True)
class Cadence:
    """Seconds between edits in private chats and in groups; ``draft`` streams private chats as drafts."""

    private_interval: float = 1.0
    group_interval: float = 3.0
    mode: str = "edit"


@dataclass(frozen=True)
class Handover:
    """The messages an earlier replica sent for this answer, and where to record the ones sent from now on."""

    earlier: tuple[int, ...] = ()
    record: Callable[[list[int]], Awaitable[None]] | None = None


@dataclass
class _Shown:
    message_id: int | None = None
    rendered: Rendered | None = None
    with_button: bool = False
    draft_id: int = field(default_factory=lambda: random.randint(1, 2**31 - 1))


class TelegramReplySink:
    """A ReplySink that shows the answer as it grows, edited by time, never tripping flood control."""

    def __init__(self, bot: Bot, target: Target, pacer: Pacer, cadence: Cadence, *,
                 stop_token: str | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, metrics: Metrics | None = None,
                 handover: Handover | None = None) -> None:
        self._bot = bot
        self._metrics = metrics
        self._target = target
        self._pacer = pacer
        self._interval = cadence.group_interval if target.is_group else cadence.private_interval
        self._draft = cadence.mode == "draft" and not target.is_group
        self._stop_token = None if self._draft else stop_token
        self._clock = clock
        self._sleep = sleep
        self._source = ""
        self._frozen_end = 0
        self._carry = ""
        self._plain = False
        self._handover = handover or Handover()
        self._reuse = list(self._handover.earlier)
        self.message_ids: list[int] = []
        self._shown = self._next_message()
        self._last_call = float("-inf")
        self._dirty = asyncio.Event()
        self._finishing = False
        self._pump: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None
        self.first_visible_at: float | None = None

    async def __aenter__(self) -> TelegramReplySink:
        """Show `typing` now and every few seconds until the first words are visible."""
        self._typing = asyncio.create_task(self._keep_typing())
        return self

    async def __aexit__(self, *_: object) -> None:
        """However the turn ended, nothing of this answer calls Telegram any more."""
        self._finishing = True
        for task in (self._typing, self._pump):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._typing = None

    async def show(self, text: str) -> None:
        """The answer so far; only the newest state is ever sent."""
        self._source = text
        if self._pump is None:
            self._pump = asyncio.create_task(self._run_pump())
        self._dirty.set()

    async def finish(self, text: str, ending: Ending) -> None:
        """Deliver the complete answer exactly, with a note when it did not end normally."""
        await self._quiesce()
        self._source = text
        await self._roll_over(final=True)
        last = render(self._current_markdown()) if self._current_markdown().strip() else None
        await self._deliver_last(last, texts.NOTES.get(ending))
        await self._delete_unused()

    async def fail(self, failure: Failure) -> None:
        """Tell the user, briefly, that no answer could be given."""
        await self._quiesce()
        text = texts.failure(failure, _until_midnight(datetime.now(UTC)))
        await self._deliver_last(None, text, italic=False)
        await self._delete_unused()

    async def _quiesce(self) -> None:
        self._finishing = True
        self._dirty.set()
        if self._pump is not None:
            await self._pump
        self._stop_typing()

    async def _keep_typing(self) -> None:
        while True:
            if not self._pacer.blocked_until(self._target.chat_id):
                with contextlib.suppress(TelegramError):
                    await self._bot.send_chat_action(self._target.chat_id, ChatAction.TYPING,
                                                     message_thread_id=self._target.thread_id)
            await self._sleep(TYPING_EVERY)

    def _stop_typing(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None

    async def _run_pump(self) -> None:
        while True:
            await self._dirty.wait()
            if self._finishing:
                return
            await self._sleep_until(self._next_slot())
            if self._finishing:
                return
            self._dirty.clear()
            await self._publish_partial()

    def _next_slot(self) -> float:
        slot = max(self._last_call + self._interval, self._pacer.blocked_until(self._target.chat_id))
        if self._target.is_group and self._pacer.group_budget_left(self._target.chat_id) <= 1:
            slot = max(slot, self._pacer.next_group_slot(self._target.chat_id))
        return slot

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def _publish_partial(self) -> None:
        await self._roll_over(final=False)
        rendered = render_partial(self._current_markdown())
        if rendered.text.strip():
            await self._deliver(rendered, button=True, final=False)

    def _current_markdown(self) -> str:
        return self._carry + self._source[self._frozen_end:]

    async def _roll_over(self, final: bool) -> None:
        """Close full messages and continue the answer in a new one, at a good boundary."""
        while True:
            markdown = self._current_markdown()
            rendered = render(markdown) if final else render_partial(markdown)
            if rendered.utf16_len() <= TELEGRAM_TEXT_LIMIT:
                return
            head = split_markdown(markdown)[0]
            await self._deliver(render(head.markdown), button=False, final=True)
            self._frozen_end += head.end - len(self._carry)
            self._carry = reopen_fence(markdown[: head.end])
            self._shown = self._next_message()

    async def _deliver_last(self, last: Rendered | None, note: str | None, italic: bool = True) -> None:
        with_note = _with_note(last, note, italic)
        if with_note is not None and with_note.utf16_len() <= TELEGRAM_TEXT_LIMIT:
            await self._deliver(with_note, button=False, final=True)
            return
        if last is not None:
            await self._deliver(last, button=False, final=True)
        if note is not None:
            self._shown = self._next_message()
            await self._deliver(_with_note(None, note, italic) or Rendered(note, ()), button=False, final=True)

    async def _deliver(self, rendered: Rendered, *, button: bool, final: bool) -> None:
        """Send or edit the current message; a final delivery waits out flood waits and retries."""
        for attempt in range(_FINAL_ATTEMPTS if final else 1):
            if final:
                await self._sleep_until(self._next_slot())
            try:
                await self._call(rendered, button, final)
                return
            except RetryAfter as exc:
                self._pacer.block(self._target.chat_id, retry_after_seconds(exc))
                if self._metrics is not None:
                    self._metrics.telegram_429.inc()
                logger.info("flood wait of %.0fs in a chat", retry_after_seconds(exc))
            except BadRequest as exc:
                if not self._recover(exc):
                    raise
            except NetworkError as exc:
                logger.warning("Telegram call failed (%s), attempt %d", type(exc).__name__, attempt + 1)
                if final:
                    await self._sleep(min(2.0**attempt, 10.0))
        if final:
            logger.error("could not deliver the final text of an answer to Telegram")

    def _recover(self, exc: BadRequest) -> bool:
        """Whether a BadRequest can be absorbed (after adjusting what we send)."""
        message = exc.message.lower()
        if "not modified" in message:
            return True
        if "can't parse entities" in message or "entit" in message:
            logger.warning("Telegram rejected the formatting; sending plain text from now on")
            self._plain = True
            return True
        if "message to edit not found" in message:
            self._shown = _Shown()
            return True
        return False

    async def _call(self, rendered: Rendered, button: bool, final: bool) -> None:
        if self._plain:
            rendered = Rendered(rendered.text, ())
        markup = self._markup() if button else None
        shown = self._shown
        as_draft = self._draft and not final
        visible = shown.message_id is not None or as_draft
        if visible and shown.rendered == rendered and shown.with_button == (markup is not None):
            return
        self._last_call = self._clock()
        self._pacer.record(self._target.chat_id, self._target.is_group)
        if as_draft:
            await self._bot.send_message_draft(self._target.chat_id, shown.draft_id, rendered.text,
                                               entities=list(rendered.entities))
        elif shown.message_id is None:
            await self._remember(await self._send(rendered, markup))
        else:
            await self._bot.edit_message_text(rendered.text, self._target.chat_id, shown.message_id,
                                              entities=list(rendered.entities), reply_markup=markup)
        shown.rendered, shown.with_button = rendered, markup is not None
        self._first_visible()

    async def _send(self, rendered: Rendered, markup: InlineKeyboardMarkup | None) -> Message:
        reply = None
        if self._target.reply_to is not None and not self.message_ids:
            reply = ReplyParameters(self._target.reply_to, allow_sending_without_reply=True)
        return await self._bot.send_message(
            self._target.chat_id, rendered.text, entities=list(rendered.entities), reply_markup=markup,
            message_thread_id=self._target.thread_id, reply_parameters=reply,
        )

    async def _remember(self, message: Message) -> None:
        self._shown.message_id = message.message_id
        self.message_ids.append(message.message_id)
        if self._handover.record is not None:
            await self._handover.record(list(self.message_ids))

    def _next_message(self) -> _Shown:
        """A new message, or the next one an earlier replica sent for this answer (edited, not sent again)."""
        if not self._reuse:
            return _Shown()
        message_id = self._reuse.pop(0)
        self.message_ids.append(message_id)
        return _Shown(message_id=message_id)

    async def _delete_unused(self) -> None:
        """Messages an earlier replica sent that this (shorter) answer did not need."""
        for message_id in self._reuse:
            with contextlib.suppress(TelegramError):
                await self._bot.delete_message(self._target.chat_id, message_id)
        self._reuse.clear()

    def _first_visible(self) -> None:
        if self.first_visible_at is None:
            self.first_visible_at = self._clock()
            self._stop_typing()

    def _markup(self) -> InlineKeyboardMarkup | None:
        if self._stop_token is None:
            return None
        button = InlineKeyboardButton(texts.STOP_BUTTON, callback_data=STOP_PREFIX + self._stop_token)
        return InlineKeyboardMarkup([[button]])


def _with_note(rendered: Rendered | None, note: str | None, italic: bool) -> Rendered | None:
    """The text with a short note after it, in italics."""
    if note is None:
        return rendered
    text = rendered.text if rendered else ""
    entities = tuple(rendered.entities) if rendered else ()
    separator = "\n\n" if text else ""
    offset = utf16_len(text + separator)
    styled = (MessageEntity(MessageEntity.ITALIC, offset, utf16_len(note)),) if italic else ()
    return Rendered(text + separator + note, entities + styled)


def _until_midnight(now: datetime) -> str:
    left = int((next_midnight(now) - now).total_seconds())
    hours, minutes = divmod(max(60, left) // 60, 60)
    return texts.until(hours, minutes)
