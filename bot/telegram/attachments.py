"""A Telegram message's attachments as domain values: the one place that reads photos, files, voice… off a message.

Handlers call ``attachments_of`` and route on the kinds; nothing else looks at a message's media fields.
"""

from __future__ import annotations

import mimetypes
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from telegram import Message, PhotoSize
from telegram.warnings import PTBDeprecationWarning

from bot.domain.attachment import Attachment, Kind

# The longest side of the photo size sent to the model: larger ones are scaled down to 2048 by the model anyway.
MAX_PHOTO_SIDE = 2048
# Images the model reads as they are (a GIF by its first frame); other image types are documents.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
# What /audio/transcriptions accepts, by extension; other names for the same formats are sent under these.
AUDIO_FORMATS = frozenset({"flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"})
AUDIO_ALIASES = {"oga": "ogg", "opus": "ogg", "m4b": "m4a", "mp4a": "m4a", "weba": "webm"}
# Recordings sent as files rather than as Telegram's audio (a .wav or .flac often is): transcribed like audio.
# (An .mp4 or .mpeg file of no stated type is more likely a video: a document.)
AUDIO_EXTENSIONS = (AUDIO_FORMATS - {"mp4", "mpeg"}) | AUDIO_ALIASES.keys()
_UNSTATED = ("", "application/octet-stream")  # what clients state for a file whose type they do not know


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """Everything the message carries besides its text (most messages carry one thing at most)."""
    caption, found = message.caption, []
    if message.photo:
        found.append(_photo(best_photo(message.photo), caption, message.message_id))
    if message.document is not None and (message.animation is None or _gif(message)):  # an animation comes
        found.append(_document(message, caption))  # with its document too; a GIF is an image (its first frame)
    found.extend(_media(message, caption))
    return tuple(found)


def best_photo(sizes: Sequence[PhotoSize], max_side: int = MAX_PHOTO_SIDE) -> PhotoSize:
    """The largest size whose longer side is at most ``max_side`` (the smallest, if every size is larger)."""
    fitting = [s for s in sizes if max(s.width, s.height) <= max_side]
    if not fitting:
        return min(sizes, key=lambda s: s.width * s.height)
    return max(fitting, key=lambda s: s.width * s.height)


def image_type(mime_type: str | None, file_name: str | None) -> str | None:
    """The image type the model can read, from the file's stated type or else its name; None for other files."""
    stated = (mime_type or "").lower()
    if stated in _UNSTATED:
        stated = (mimetypes.guess_type(file_name or "")[0] or "").lower()
    return stated if stated in IMAGE_TYPES else None


def is_audio(mime_type: str | None, file_name: str | None) -> bool:
    """Whether a file is a recording, by its stated type or else its name's extension."""
    stated = (mime_type or "").lower()
    if stated not in _UNSTATED:
        return stated.startswith("audio/")
    name = (file_name or "").lower()
    return "." in name and name.rpartition(".")[2] in AUDIO_EXTENSIONS


def _photo(size: PhotoSize, caption: str | None, message_id: int) -> Attachment:
    return Attachment(Kind.PHOTO, size.file_id, size=size.file_size, mime_type="image/jpeg", width=size.width,
                      height=size.height, caption=caption, message_id=message_id)


def _document(message: Message, caption: str | None) -> Attachment:
    document = message.document
    assert document is not None
    image = image_type(document.mime_type, document.file_name)
    kind = Kind.IMAGE if image else Kind.AUDIO if is_audio(document.mime_type, document.file_name) else Kind.DOCUMENT
    return Attachment(kind, document.file_id, size=document.file_size, mime_type=image or document.mime_type,
                      file_name=document.file_name, caption=caption, message_id=message.message_id)


def _media(message: Message, caption: str | None) -> list[Attachment]:
    """Voice, audio, video notes, videos, animations, stickers, and the kinds without a file."""
    found: list[Attachment] = []
    mid = message.message_id
    if message.voice is not None:
        v = message.voice
        found.append(Attachment(Kind.VOICE, v.file_id, size=v.file_size, mime_type=v.mime_type,
                                duration=_seconds(v), caption=caption, message_id=mid))
    if message.audio is not None:
        a = message.audio
        found.append(Attachment(Kind.AUDIO, a.file_id, size=a.file_size, mime_type=a.mime_type, file_name=a.file_name,
                                duration=_seconds(a), caption=caption, message_id=mid))
    if message.video_note is not None:
        n = message.video_note
        found.append(Attachment(Kind.VIDEO_NOTE, n.file_id, size=n.file_size, mime_type="video/mp4",
                                width=n.length, height=n.length, duration=_seconds(n), message_id=mid))
    if message.animation is not None:
        m = message.animation
        if not _gif(message):
            found.append(Attachment(Kind.ANIMATION, m.file_id, size=m.file_size, mime_type=m.mime_type,
                                    width=m.width, height=m.height, duration=_seconds(m), caption=caption,
                                    message_id=mid))
    elif message.video is not None:
        w = message.video
        found.append(Attachment(Kind.VIDEO, w.file_id, size=w.file_size, mime_type=w.mime_type, width=w.width,
                                height=w.height, duration=_seconds(w), caption=caption, message_id=mid))
    if message.sticker is not None:
        s = message.sticker
        found.append(Attachment(Kind.STICKER, s.file_id, size=s.file_size, width=s.width, height=s.height,
                                message_id=mid))
    found.extend(Attachment(kind, message_id=mid) for kind, present in (
        (Kind.LOCATION, message.location), (Kind.CONTACT, message.contact), (Kind.POLL, message.poll),
        (Kind.DICE, message.dice)) if present is not None)
    return found


def _gif(message: Message) -> bool:
    """An animation that is a GIF file (most are MP4 videos Telegram made of one)."""
    return message.animation is not None and (message.animation.mime_type or "").lower() == "image/gif"


class _Timed(Protocol):
    @property
    def duration(self) -> int | timedelta: ...


def _seconds(media: _Timed) -> int:
    """A duration in seconds: PTB 22 gives ints (warning that they become timedeltas) or, opted in, timedeltas."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration = media.duration
    return int(duration.total_seconds()) if isinstance(duration, timedelta) else duration
