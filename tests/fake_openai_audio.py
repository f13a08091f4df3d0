"""The fake model server's speech to text: ``POST /v1/audio/transcriptions`` (multipart ``file`` and ``model``),
answering ``{"text": …}`` like OpenAI, or a scripted failure; every upload is recorded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request


@dataclass(frozen=True)
class Upload:
    """One transcription request as the fake received it."""

    filename: str
    content_type: str
    data: bytes
    model: str


@dataclass(frozen=True)
class Transcript:
    """An answer: the text heard, and token usage like gpt-4o-transcribe reports it (None: none reported), or
    the recording's length like whisper-1 reports it (``seconds``)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int = 0
    seconds: float | None = None


class Transcriptions:
    """Scripted transcripts (or failures, as HTTP statuses), then ``default``; behind the server's lock."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._script: list[Transcript | int] = []
        self._uploads: list[Upload] = []
        self.default: Transcript | int = Transcript("Hello from a voice note.")

    def script(self, *answers: Transcript | str | int) -> None:
        """The next transcriptions: a text, a Transcript, or an HTTP status to fail with."""
        with self._lock:
            self._script.extend(Transcript(a) if isinstance(a, str) else a for a in answers)

    @property
    def uploads(self) -> list[Upload]:
        with self._lock:
            return list(self._uploads)

    async def receive(self, request: Request) -> Upload | None:
        """The request's upload, recorded; None when it is not the multipart form OpenAI expects."""
        form = await request.form()
        file, model = form.get("file"), form.get("model")
        if not isinstance(file, UploadFile) or not isinstance(model, str):
            return None
        upload = Upload(file.filename or "", file.content_type or "", await file.read(), model)
        with self._lock:
            self._uploads.append(upload)
        return upload

    def answer(self) -> Transcript | int:
        with self._lock:
            return self._script.pop(0) if self._script else self.default


def transcription_body(answer: Transcript) -> dict[str, Any]:
    """OpenAI's JSON for a transcription."""
    body: dict[str, Any] = {"text": answer.text}
    if answer.input_tokens is not None:
        body["usage"] = {"type": "tokens", "input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens,
                         "total_tokens": answer.input_tokens + answer.output_tokens}
    elif answer.seconds is not None:
        body["usage"] = {"type": "duration", "seconds": answer.seconds}
    return body
