"""A message's media fields as Attachment values."""

from __future__ import annotations

from typing import Any

from telegram import Message, PhotoSize

from bot.domain.attachment import Attachment, Kind
from bot.telegram.attachments import attachments_of, best_photo, image_type, is_audio

BASE: dict[str, Any] = {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"}}


def message(**fields: Any) -> Message:
    return Message.de_json(BASE | fields, None)


def size(file_id: str, width: int, height: int) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": "u" + file_id, "width": width, "height": height, "file_size": 10}


def test_a_photo_is_its_largest_size_within_2048_pixels() -> None:
    photo = [size("s", 90, 67), size("m", 1280, 960), size("l", 2048, 1536), size("xl", 2560, 1920)]
    (found,) = attachments_of(message(photo=photo, caption="what is it?"))
    assert found == Attachment(Kind.PHOTO, "l", size=10, mime_type="image/jpeg", width=2048, height=1536,
                               caption="what is it?", message_id=5)


def test_only_huge_sizes_give_the_smallest() -> None:
    sizes = [PhotoSize.de_json(size(n, w, h), None) for n, w, h in (("a", 4000, 3000), ("b", 3000, 2100))]
    assert best_photo(sizes).file_id == "b"


def test_an_image_file_is_an_image_and_other_files_documents() -> None:
    png = {"file_id": "d1", "file_unique_id": "u1", "mime_type": "image/png", "file_name": "shot.png"}
    pdf = {"file_id": "d2", "file_unique_id": "u2", "mime_type": "application/pdf", "file_name": "a.pdf"}
    assert attachments_of(message(document=png))[0].kind is Kind.IMAGE
    assert attachments_of(message(document=pdf))[0].kind is Kind.DOCUMENT
    assert image_type(None, "photo.JPG") == "image/jpeg"
    assert image_type("image/heic", "x.heic") is None
    assert image_type("application/octet-stream", "shot.png") == "image/png"  # no type stated: by its name


def test_a_recording_sent_as_a_file_is_audio() -> None:
    wav = {"file_id": "d3", "file_unique_id": "u3", "mime_type": "audio/x-wav", "file_name": "memo.wav"}
    (found,) = attachments_of(message(document=wav, caption="notes?"))
    assert found == Attachment(Kind.AUDIO, "d3", mime_type="audio/x-wav", file_name="memo.wav", caption="notes?",
                               message_id=5)  # no duration: Telegram states none for a file
    assert is_audio(None, "Take 2.FLAC") and is_audio("application/octet-stream", "a.m4a")
    assert not is_audio("video/webm", "clip.webm") and not is_audio(None, "notes.txt")
    assert is_audio(None, "book.m4b") and not is_audio(None, "holiday.mp4")  # what voice.py can send, not videos


def test_voice_stickers_and_kinds_without_a_file() -> None:
    voice = {"file_id": "v", "file_unique_id": "uv", "duration": 12, "mime_type": "audio/ogg"}
    sticker = {"file_id": "st", "file_unique_id": "us", "width": 512, "height": 512, "is_animated": False,
               "is_video": False, "type": "regular"}
    assert attachments_of(message(voice=voice))[0] == Attachment(Kind.VOICE, "v", mime_type="audio/ogg", duration=12,
                                                                 message_id=5)
    assert attachments_of(message(sticker=sticker))[0].kind is Kind.STICKER
    located = attachments_of(message(location={"latitude": 1.0, "longitude": 2.0}))
    assert located == (Attachment(Kind.LOCATION, message_id=5),)
    assert attachments_of(message(text="just words")) == ()


def test_an_animation_is_unreadable_unless_it_is_a_gif_file() -> None:
    mp4 = {"file_id": "a1", "file_unique_id": "ua1", "width": 8, "height": 8, "duration": 2, "mime_type": "video/mp4",
           "file_name": "clip.mp4"}
    gif = mp4 | {"file_id": "a2", "mime_type": "image/gif", "file_name": "dance.gif"}
    assert [a.kind for a in attachments_of(message(animation=mp4, document=mp4))] == [Kind.ANIMATION]
    assert [a.kind for a in attachments_of(message(animation=gif, document=gif))] == [Kind.IMAGE]

