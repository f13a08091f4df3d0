"""What the bot reads of a message before the model sees it: the text and the attachments become the turn's
text, its images, and notes the user is told first. Every attachment a handler passes on is read here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.attachment import Attachment
from bot.domain.image import UNSEEN_HINT, SeenImage, unseen
from bot.errors import FileError, FileTooLarge, ImageUnreadable
from bot.telegram import texts
from bot.telegram.images import Images

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """A message as the model is to get it, and what the user is told before the answer."""

    text: str
    images: tuple[SeenImage, ...] = ()
    notes: tuple[str, ...] = ()
    answer: bool = True  # False: the notes are all the bot says (nothing for the model to answer)


class Reader:
    """Reads attachments: images through Images (None or ``vision`` off: the images are not looked at)."""

    def __init__(self, images: Images | None, *, vision: bool = True) -> None:
        self._images = images if vision else None

    async def read(self, text: str, attachments: Sequence[Attachment]) -> Reading:
        pictures = [a for a in attachments if a.kind.is_image]
        seen, unseen_labels, notes = await self._look(pictures, text)
        others = [a for a in attachments if not a.kind.is_image]
        if others and not text.strip() and not pictures:
            notes.append(texts.TEXT_ONLY)
        labels = [*unseen_labels, UNSEEN_HINT] if unseen_labels else []
        told = "\n".join([*labels, text] if text.strip() else labels)
        answer = bool(seen) or bool(text.strip())
        if not attachments and not text.strip():
            notes.append(texts.TEXT_ONLY)
        return Reading(told if answer else "", tuple(seen), tuple(dict.fromkeys(notes)), answer)

    async def _look(self, pictures: Sequence[Attachment],
                    text: str) -> tuple[list[SeenImage], list[str], list[str]]:
        """The images the model will see (an album's downloaded at once); stand-ins for those it will not
        (their captions, unless that is the text anyway), and why, for the user."""
        looked = await asyncio.gather(*(self._one(picture) for picture in pictures))
        seen = [image for image in looked if isinstance(image, SeenImage)]
        labels = [unseen(None if p.caption == text else p.caption)
                  for p, image in zip(pictures, looked, strict=True) if not isinstance(image, SeenImage)]
        return seen, labels, [note for note in looked if isinstance(note, str)]

    async def _one(self, picture: Attachment) -> SeenImage | str:
        """The image, or the note saying why it cannot be seen."""
        if self._images is None:
            return texts.VISION_OFF
        try:
            return await self._images.seen(picture)
        except (FileError, ImageUnreadable) as exc:
            logger.info("an image could not be read: %s", type(exc).__name__)
            return _why(exc)


def _why(exc: FileError | ImageUnreadable) -> str:
    if isinstance(exc, FileTooLarge):
        return texts.image_too_large(exc.limit // (1024 * 1024))
    if isinstance(exc, ImageUnreadable):
        return texts.IMAGE_UNREADABLE
    return texts.IMAGE_UNAVAILABLE
