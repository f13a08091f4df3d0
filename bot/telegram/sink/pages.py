"""An answer's pages: a new message at Telegram's 4096 limit, cut at a good boundary, and the messages an
earlier replica sent for the same answer (edited instead of sent again, or deleted when not needed)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Bot
from telegram.error import TelegramError

from bot.telegram.markdown.quote import joined
from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, Rendered, render, render_partial
from bot.telegram.markdown.splitter import Segment, reopen_fence, split_markdown


@dataclass(frozen=True)
class Handover:
    """The messages an earlier replica sent for this answer, and where to record the ones sent from now on."""

    earlier: tuple[int, ...] = ()
    record: Callable[[list[int]], Awaitable[None]] | None = None


def _draft_id() -> int:
    return random.randint(1, 2**31 - 1)


@dataclass
class Shown:
    """One message of the answer as the user sees it: its id once sent, its text, whether it has the button."""

    message_id: int | None = None
    rendered: Rendered | None = None
    with_button: bool = False
    draft_id: int = field(default_factory=_draft_id)

    def shows(self, rendered: Rendered, with_button: bool, as_draft: bool) -> bool:
        """Whether the user already sees exactly this (so there is nothing to send)."""
        visible = self.message_id is not None or as_draft
        return visible and self.rendered == rendered and self.with_button == with_button


@dataclass(frozen=True)
class Overflow:
    """The Markdown of the current page, too long for one message, and the part of it that fits."""

    markdown: str
    head: Segment


class Pages:
    """The answer's text across messages, the message written now, and every message of the answer so far."""

    def __init__(self, handover: Handover) -> None:
        self._handover = handover
        self._reuse = list(handover.earlier)
        self._message_ids: list[int] = []
        self.source = ""
        self._frozen_end = 0
        self._carry = ""
        self._page = 0
        self.preface: Rendered | None = None  # shown above the answer in its first message (what the bot heard)
        self.current = self._next_message()

    def markdown(self) -> str:
        """The Markdown of the current page: the answer after the full pages, with a code fence reopened."""
        return self._carry + self.source[self._frozen_end:]

    def overflow(self, final: bool) -> Overflow | None:
        """The current page's cut when it no longer fits one message, else None."""
        markdown = self.markdown()
        rendered = render(markdown) if final else render_partial(markdown)
        if rendered.utf16_len() <= self.limit:
            return None
        return Overflow(markdown, split_markdown(markdown, self.limit)[0])

    @property
    def limit(self) -> int:
        """Room for the answer in the current message: less in the first one when a preface leads it."""
        if self.preface is None or self._page:
            return TELEGRAM_TEXT_LIMIT
        return TELEGRAM_TEXT_LIMIT - self.preface.utf16_len() - 2

    def dressed(self, rendered: Rendered) -> Rendered:
        """What the current message shows for the answer's text: the preface above it in the first message."""
        if self.preface is None or self._page:
            return rendered
        return joined(self.preface, rendered)

    def head_source(self, overflow: Overflow) -> str:
        """The answer from its start to the end of the overflow's head (what the user sees once it is delivered)."""
        return self.source[: self._frozen_end + overflow.head.end - len(self._carry)]

    def turn(self, overflow: Overflow) -> None:
        """The head of the overflow is delivered: the rest continues in the next message."""
        self._frozen_end += overflow.head.end - len(self._carry)
        self._carry = reopen_fence(overflow.markdown[: overflow.head.end])
        self.advance()

    def advance(self) -> None:
        """Write in the next message from now on."""
        self._page += 1
        self.current = self._next_message()

    def lost(self) -> None:
        """The current message is gone (deleted by the user): send it anew."""
        self.current = Shown()

    @property
    def first(self) -> bool:
        """Whether the answer has no message yet (the first one replies to the asker's)."""
        return not self._message_ids

    async def sent(self, message_id: int) -> None:
        """The current message was sent: record it for a replica that may take the answer over."""
        self.current.message_id = message_id
        self._message_ids.append(message_id)
        if self._handover.record is not None:
            await self._handover.record(list(self._message_ids))

    async def delete_unused(self, bot: Bot, chat_id: int) -> None:
        """Messages an earlier replica sent that this (shorter) answer did not need."""
        for message_id in self._reuse:
            with contextlib.suppress(TelegramError):
                await bot.delete_message(chat_id, message_id)
        self._reuse.clear()

    def _next_message(self) -> Shown:
        """A new message, or the next one an earlier replica sent for this answer (edited, not sent again)."""
        if not self._reuse:
            return Shown()
        message_id = self._reuse.pop(0)
        self._message_ids.append(message_id)
        return Shown(message_id=message_id)
