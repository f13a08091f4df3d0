"""Message fields of recordings and documents for end-to-end tests, their files registered with the fake Bot API."""

from __future__ import annotations

from typing import Any

from tests.fake_telegram import FakeTelegram


def voice(telegram: FakeTelegram, duration: int = 4, data: bytes = b"OggS\x00\x02fake-opus") -> dict[str, Any]:
    """A message's ``voice`` field (Telegram stores voice notes as .oga)."""
    file_id = telegram.add_file(data, file_path=f"voice/file_{len(data)}.oga")
    return {"voice": {"file_id": file_id, "file_unique_id": "u" + file_id, "duration": duration,
                      "mime_type": "audio/ogg", "file_size": len(data)}}


def audio(telegram: FakeTelegram, name: str = "memo.mp3", mime: str = "audio/mpeg", duration: int = 30,
          data: bytes = b"ID3\x04fake-mp3") -> dict[str, Any]:
    file_id = telegram.add_file(data, file_path=f"music/file_{len(data)}.mp3")
    return {"audio": {"file_id": file_id, "file_unique_id": "u" + file_id, "duration": duration, "file_name": name,
                      "mime_type": mime, "file_size": len(data)}}


def video_note(telegram: FakeTelegram, duration: int = 9, data: bytes = b"\x00\x00\x00\x18ftypmp42") -> dict[str, Any]:
    file_id = telegram.add_file(data, file_path=f"video_notes/file_{len(data)}.mp4")
    return {"video_note": {"file_id": file_id, "file_unique_id": "u" + file_id, "length": 240,
                           "duration": duration, "file_size": len(data)}}


def document(telegram: FakeTelegram, data: bytes, name: str, mime: str | None,
             size: int | None = None) -> dict[str, Any]:
    """A message's ``document`` field; ``size`` is what the message states (the real size by default)."""
    file_id = telegram.add_file(data, file_path=f"documents/file_{len(telegram.downloads)}_{name}")
    field = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": name,
             "file_size": len(data) if size is None else size}
    return {"document": field | ({"mime_type": mime} if mime else {})}
