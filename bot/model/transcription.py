"""Speech to text on an OpenAI-compatible server: ``POST {OPENAI_BASE_URL}/audio/transcriptions`` with the
recording as the multipart ``file`` (its name's extension names the format, so no conversion) and ``model``.

OpenAIModel.transcribe runs this in its retry loop, which also turns SDK errors into ours.
"""

from __future__ import annotations

import mimetypes

import openai
from openai.types.audio import Transcription

from bot.domain.ports import Heard, Recording, Usage

# Names mimetypes may not know (the Bot API's voice notes are OGG/Opus; .m4a and .opus vary by platform).
_TYPES = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp3": "audio/mpeg",
          ".wav": "audio/wav", ".flac": "audio/flac", ".webm": "audio/webm", ".mp4": "video/mp4"}


async def transcribe(client: openai.AsyncOpenAI, recording: Recording, model: str) -> Heard:
    """One transcription request; SDK errors propagate (the caller translates them)."""
    upload = (recording.filename, recording.data, content_type(recording.filename))
    response = await client.audio.transcriptions.create(file=upload, model=model)
    return Heard(response.text, _usage(response), _seconds(response))


def content_type(filename: str) -> str:
    """The MIME type of a recording by its file name's extension."""
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    return _TYPES.get(extension) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _usage(response: Transcription) -> Usage | None:
    """Tokens, for models billed by token; None for those billed by the minute (or servers that do not say)."""
    usage = getattr(response, "usage", None)
    if usage is None or getattr(usage, "type", None) != "tokens":
        return None
    return Usage(usage.input_tokens, usage.output_tokens)


def _seconds(response: Transcription) -> float | None:
    """The recording's length, for models billed by the minute that say it (whisper-1's usage of type "duration")."""
    usage = getattr(response, "usage", None)
    if usage is None or getattr(usage, "type", None) != "duration":
        return None
    seconds = getattr(usage, "seconds", None)
    return float(seconds) if isinstance(seconds, int | float) else None
