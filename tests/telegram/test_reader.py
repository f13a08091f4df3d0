"""What the bot reads of a message: images seen, stand-ins and notes for those that cannot be."""

from __future__ import annotations

from bot.domain.attachment import Attachment, Kind
from bot.domain.image import UNSEEN_HINT, ImagePart, SeenImage, StoredImage
from bot.errors import FileTooLarge, ImageUnreadable
from bot.telegram import texts
from bot.telegram.images import Images
from bot.telegram.reader import Reader

PHOTO = Attachment(Kind.PHOTO, "ok", caption="look")
BROKEN = Attachment(Kind.IMAGE, "broken", caption="look")
HUGE = Attachment(Kind.IMAGE, "huge")


class FakeImages(Images):
    def __init__(self) -> None:
        """No downloader: the outcomes are scripted by file id."""

    async def seen(self, attachment: Attachment) -> SeenImage:
        if attachment.file_id == "broken":
            raise ImageUnreadable("no")
        if attachment.file_id == "huge":
            raise FileTooLarge(30_000_000, 20 * 1024 * 1024)
        return SeenImage(StoredImage("ok", 1, 1, 1, attachment.caption), ImagePart("data:image/jpeg;base64,x"))


async def test_a_readable_photo_is_seen_and_a_caption_answered() -> None:
    reading = await Reader(FakeImages()).read("look", [PHOTO])
    assert (reading.text, len(reading.images), reading.notes, reading.answer) == ("look", 1, (), True)


async def test_what_cannot_be_seen_gets_a_note_and_a_stand_in_beside_the_caption() -> None:
    reading = await Reader(FakeImages()).read("look", [BROKEN, HUGE])
    assert reading.notes == (texts.IMAGE_UNREADABLE, texts.image_too_large(20))
    assert reading.text == f"[photo not shown to you]\n[photo not shown to you]\n{UNSEEN_HINT}\nlook"
    assert reading.answer


async def test_an_image_alone_that_cannot_be_seen_is_only_a_note() -> None:
    reading = await Reader(FakeImages()).read("", [HUGE])
    assert reading.notes == (texts.image_too_large(20),) and not reading.answer


async def test_with_vision_off_nothing_is_downloaded_and_the_user_told_once() -> None:
    reading = await Reader(FakeImages(), vision=False).read("look", [PHOTO, PHOTO])
    assert reading.notes == (texts.VISION_OFF,) and reading.images == () and reading.answer
