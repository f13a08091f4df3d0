"""What a message carries besides its text, as plain values the Telegram side fills from an update.

One ``Attachment`` per thing sent: a photo (its chosen size), a file, a voice note… Files are referred to by
their Telegram file id; the bytes are downloaded when needed (telegram/files.py) and never stored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """What was sent, as Telegram distinguishes it."""

    PHOTO = "photo"  # a compressed photo (Telegram's PhotoSize)
    IMAGE = "image"  # an image sent as a file: a document whose type is image/*
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO_NOTE = "video_note"
    VIDEO = "video"
    ANIMATION = "animation"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    POLL = "poll"
    DICE = "dice"

    @property
    def is_image(self) -> bool:
        return self in (Kind.PHOTO, Kind.IMAGE)


@dataclass(frozen=True)
class Attachment:
    """One attachment of a message; ``file_id`` is None for kinds without a file (a location, a poll…)."""

    kind: Kind
    file_id: str | None = None
    size: int | None = None  # bytes, as Telegram reported it (it may not)
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None  # seconds (voice, audio, video)
    caption: str | None = None  # the caption of the message that carried it
    message_id: int | None = None  # the message that carried it (an album's parts are separate messages)
