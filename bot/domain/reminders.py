"""Reminders as values: what one says and when it is due, ``when`` read from an ISO time or a delay, and the
book the tools and /reminders keep them in (store/reminders.py implements it in Redis)."""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.domain.chat import ChatKey

MAX_AHEAD = timedelta(days=366)
MAX_TEXT_CHARS = 1000
_MAX_WHEN_CHARS = 100
_PAST_TOLERANCE = timedelta(seconds=60)  # "now" as the model computed it a moment ago is still now

_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
          "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DELAY = re.compile(r"^(?:in\s+)?(?:\d+(?:\.\d+)?\s*[a-z]+(?:\s*,\s*|\s+and\s+|\s*))+(?:\s+from\s+now)?$")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


class WhenError(ValueError):
    """``when`` is not a time or delay we understand, or is in the past or too far ahead (said to the model)."""


class Cancellation(enum.Enum):
    """What cancelling a reminder did."""

    CANCELLED = "cancelled"
    DELIVERING = "delivering"  # already claimed for delivery: too late to cancel
    UNKNOWN = "unknown"  # no such reminder in this chat (delivered, cancelled, or never set)


@dataclass(frozen=True)
class Reminder:
    """A reminder in a chat (or topic): sent when due, replying to the message that asked for it."""

    id: str
    chat: ChatKey
    user_id: int
    message_id: int | None
    text: str
    due: datetime
    language: str | None = None  # the asker's, for the texts around it (none: the bot's default)

    @classmethod
    def new(cls, chat: ChatKey, user_id: int, message_id: int | None, text: str, due: datetime,
            language: str | None = None) -> Reminder:
        """A reminder with a fresh id; raises WhenError for an empty or over-long text."""
        text = text.strip()
        if not text:
            raise WhenError("the reminder's text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise WhenError(f"the reminder's text is over {MAX_TEXT_CHARS} characters")
        return cls(secrets.token_hex(5), chat, user_id, message_id, text, due, language)


class ReminderBook(Protocol):
    """Pending reminders per chat, at most ``limit`` each."""

    async def add(self, reminder: Reminder, limit: int) -> bool: ...
    async def pending(self, chat: ChatKey) -> list[Reminder]: ...
    async def cancel(self, chat: ChatKey, reminder_id: str) -> Cancellation: ...


def parse_when(when: str, now: datetime) -> datetime:
    """The due time ``when`` names: an ISO 8601 time (UTC unless it has an offset), an ISO duration (PT20M), or
    a delay in words ("in 20 minutes", "1h 30m"); between now and MAX_AHEAD."""
    text = when.strip()
    if len(text) > _MAX_WHEN_CHARS:
        raise WhenError(f"“when” is over {_MAX_WHEN_CHARS} characters")
    due = now + delay if (delay := _delay(text)) is not None else _absolute(text)
    if due < now - _PAST_TOLERANCE:
        raise WhenError(f"{due.isoformat()} is in the past (it is now {now.isoformat()})")
    if due > now + MAX_AHEAD:
        raise WhenError(f"reminders can be set at most {MAX_AHEAD.days} days ahead")
    return max(due, now)


def _delay(text: str) -> timedelta | None:
    iso = _ISO_DURATION.match(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        return timedelta(weeks=parts.get("w", 0), days=parts.get("d", 0), hours=parts.get("h", 0),
                         minutes=parts.get("m", 0), seconds=parts.get("s", 0))
    words = text.lower()
    if not _DELAY.match(words):
        return None
    seconds = 0.0
    for amount, unit in _PART.findall(words):
        if unit not in _UNITS:
            raise WhenError(f"unknown unit “{unit}” in “{text}” (use seconds, minutes, hours, days or weeks)")
        seconds += float(amount) * _UNITS[unit]
    return timedelta(seconds=seconds)


def _absolute(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise WhenError(f"“{text}” is neither an ISO 8601 time (2026-12-02T09:30:00+01:00) nor a delay "
                        "(PT20M, “in 20 minutes”)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
