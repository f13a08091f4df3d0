"""Which recordings are transcribed, and the name the upload gets (its extension names the format)."""

from __future__ import annotations

from typing import cast

import pytest

from bot.domain.attachment import Attachment, Kind
from bot.domain.speech import Listener
from bot.domain.tokens import TokenCounter
from bot.telegram.files import TelegramFiles
from bot.telegram.media import MediaRules
from bot.telegram.voice import refusal, upload_extension

MEDIA = MediaRules(cast(Listener, object()), 600, TokenCounter("gpt-4o-mini"), 8000)


class Files:
    limit = 20 * 1024 * 1024


FILES = cast(TelegramFiles, Files())


@pytest.mark.parametrize(("recording", "path", "extension"), [
    (Attachment(Kind.VOICE, "v", mime_type="audio/ogg"), "voice/file_1.oga", "ogg"),
    (Attachment(Kind.VIDEO_NOTE, "n"), "video_notes/file_2.mp4", "mp4"),
    (Attachment(Kind.AUDIO, "a", file_name="Song.MP3"), "", "mp3"),
    (Attachment(Kind.AUDIO, "a", file_name="memo.opus", mime_type="audio/ogg"), "", "ogg"),
    (Attachment(Kind.AUDIO, "a", mime_type="audio/x-m4a"), "", "m4a"),
    (Attachment(Kind.AUDIO, "a", file_name="untitled"), "music/file_3.wav", "wav"),
    (Attachment(Kind.AUDIO, "a", file_name="talk.weba", mime_type="application/octet-stream"), "", "webm"),
])
def test_the_upload_is_named_for_its_format(recording: Attachment, path: str, extension: str) -> None:
    assert upload_extension(recording, path) == extension


def test_a_recording_is_refused_before_any_download_when_it_cannot_or_may_not_be_heard() -> None:
    voice = Attachment(Kind.VOICE, "v", size=2000, duration=30)
    assert refusal(voice, MEDIA, FILES) is None
    assert "I don't listen" in (refusal(voice, MediaRules(None, 600, MEDIA.counter, 8000), FILES) or "")
    assert "11 min 40 s long" in (refusal(Attachment(Kind.VOICE, "v", duration=700), MEDIA, FILES) or "")
    assert "20 MB" in (refusal(Attachment(Kind.AUDIO, "a", file_name="a.mp3", size=21 * 2**20), MEDIA, FILES) or "")
    assert "aac audio" in (refusal(Attachment(Kind.AUDIO, "a", file_name="a.aac", mime_type="audio/aac"), MEDIA,
                                   FILES) or "")
