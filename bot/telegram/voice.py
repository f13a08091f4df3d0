"""Voice messages, audio files and video notes: downloaded as they are (no conversion), transcribed, shown to the
user as a quote above the answer, and answered; the transcript is the user's turn in history."""

from __future__ import annotations

import logging

from telegram import Update

from bot.domain.attachment import Attachment, Kind
from bot.domain.outcome import Failure
from bot.domain.ports import Recording
from bot.domain.speech import Listener
from bot.errors import FileError, FileTooLarge
from bot.telegram import texts
from bot.telegram.attachments import AUDIO_ALIASES, AUDIO_FORMATS
from bot.telegram.context import BotContext
from bot.telegram.files import TelegramFiles
from bot.telegram.markdown.quote import quoted
from bot.telegram.media import Addressee, MediaRules, addressee, carried
from bot.telegram.sink import TelegramReplySink
from bot.telegram.turn import Prepare, answer

logger = logging.getLogger(__name__)

RECORDINGS = frozenset({Kind.VOICE, Kind.AUDIO, Kind.VIDEO_NOTE})
_BY_TYPE = {"audio/ogg": "ogg", "audio/opus": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a",
            "audio/x-m4a": "m4a", "audio/m4a": "m4a", "audio/aac": "aac", "audio/wav": "wav", "audio/x-wav": "wav",
            "audio/wave": "wav", "audio/flac": "flac", "audio/x-flac": "flac", "audio/webm": "webm",
            "video/mp4": "mp4"}


async def recording(update: Update, context: BotContext) -> None:
    """A voice message, audio file or video note: refused with a note, or transcribed and answered."""
    message, user, media = update.effective_message, update.effective_user, context.services.media
    found = carried(message, RECORDINGS) if message else None
    if message is None or user is None or found is None:
        return
    to = addressee(message, context.me)
    if to is None:
        return
    note = refusal(found, media, context.services.files)
    if note is not None:
        await message.reply_text(note, do_quote=to.target.is_group)
        return
    assert media is not None and media.listener is not None and context.services.files is not None
    hear = _transcribed(found, to, user.id, media.listener, context.services.files)
    await answer(context, to.target, user.id, hear, speaker=to.speaker, update_id=update.update_id,
                 asked=message.message_id)


def refusal(recording: Attachment, media: MediaRules | None, files: TelegramFiles | None) -> str | None:
    """Why a recording is not transcribed, decided before any download; None: go ahead."""
    if media is None or media.listener is None or files is None:
        return texts.TRANSCRIPTION_OFF
    if recording.duration is not None and recording.duration > media.voice_max_seconds:
        return texts.recording_too_long(texts.audio_length(recording.duration),
                                        texts.audio_length(media.voice_max_seconds))
    if recording.size is not None and recording.size > files.limit:
        return texts.failure(Failure.FILE_TOO_LARGE, "")
    extension = upload_extension(recording, "")
    if extension not in AUDIO_FORMATS:
        return texts.cannot_transcribe(extension or recording.mime_type or "this")
    return None


def upload_extension(recording: Attachment, file_path: str) -> str:
    """The extension the upload is named with: by the file's name, else its type, else Telegram's path."""
    if recording.kind is Kind.VOICE:
        return "ogg"  # always OGG/Opus
    if recording.kind is Kind.VIDEO_NOTE:
        return "mp4"
    for name in (recording.file_name or "", file_path):
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        extension = AUDIO_ALIASES.get(extension, extension)
        if extension in AUDIO_FORMATS:
            return extension
    by_type = _BY_TYPE.get((recording.mime_type or "").lower(), "")
    return by_type or (recording.file_name or "").rpartition(".")[2].lower()


def _transcribed(recording: Attachment, to: Addressee, user_id: int, listener: Listener,
                 files: TelegramFiles) -> Prepare:
    async def prepare(sink: TelegramReplySink) -> str | Failure:
        assert recording.file_id is not None
        try:
            downloaded = await files.download(recording.file_id, recording.size)
        except FileError as exc:
            logger.info("a recording could not be downloaded: %s", type(exc).__name__)
            return Failure.FILE_TOO_LARGE if isinstance(exc, FileTooLarge) else Failure.FILE_UNAVAILABLE
        name = f"{recording.kind.value}.{upload_extension(recording, downloaded.file_path)}"
        listening = await listener.hear(user_id, to.target.chat, Recording(downloaded.data, name,
                                                                            recording.duration or 0))
        if listening.heard is None:
            return listening.failure or Failure.NOT_HEARD
        sink.preface(quoted(listening.heard.text))
        caption = to.caption.strip()
        return f"{listening.heard.text}\n\n{caption}" if caption else listening.heard.text

    return prepare
