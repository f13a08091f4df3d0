"""Hearing a recording within the budgets: the estimate reserved first, the transcription's usage recorded after.

The transcript then becomes the user's message like any text (the Telegram side shows it as a quote first).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from bot.domain.chat import ChatKey
from bot.domain.outcome import Failure
from bot.domain.ports import Heard, Ledger, NoObserver, Recording, Transcriber, TurnObserver
from bot.domain.tokens import TokenCounter
from bot.domain.usage import UsageRecord
from bot.errors import ModelAccessDenied, ModelError

logger = logging.getLogger(__name__)

# OpenAI's transcription models bill about 1,000 audio tokens a minute: the budgets count a recording so when the
# server reports no tokens (models billed by the minute), and the reservation expects as much beforehand.
AUDIO_TOKENS_PER_MINUTE = 1000
# Speech runs at about 150 words a minute: the transcript a reservation expects.
TRANSCRIPT_TOKENS_PER_MINUTE = 250


@dataclass(frozen=True)
class Listening:
    """What became of a recording: the transcript, or why there is none."""

    heard: Heard | None = None
    failure: Failure | None = None


class Listener:
    """Transcribes recordings for users, counting them on the daily budgets and the usage ledger."""

    def __init__(self, transcriber: Transcriber, ledger: Ledger, counter: TokenCounter, model: str, *,
                 observer: TurnObserver | None = None, longest_seconds: int = 600) -> None:
        self._transcriber = transcriber
        self._longest_seconds = longest_seconds  # VOICE_MAX_SECONDS: what a recording of no stated length may be
        self._ledger = ledger
        self._counter = counter
        self._model = model
        self._observer = observer or NoObserver()

    async def hear(self, user_id: int, chat: ChatKey, recording: Recording) -> Listening:
        """The recording's transcript; a budget with no room for it, a failed call or silence is a Failure."""
        # A file sent as a document has no length from Telegram: the budget reserves for the longest one taken.
        expected = expected_tokens(recording.seconds or self._longest_seconds)
        reservation = await self._ledger.reserve(user_id, chat, expected)
        if reservation.refused:
            return Listening(failure=Failure.USER_BUDGET if reservation.refused == "user" else Failure.CHAT_BUDGET)
        try:
            heard = await self._transcriber.transcribe(recording, self._model)
        except ModelError as exc:
            await self._ledger.release(reservation)
            logger.warning("transcription failed: %s", exc)
            return Listening(failure=Failure.MISCONFIGURED if isinstance(exc, ModelAccessDenied) else Failure.NOT_HEARD)
        record = self._usage(user_id, recording, heard)
        await self._ledger.record(chat, [record], reservation)
        self._observer.tokens_used(record)
        if not heard.text.strip():
            return Listening(failure=Failure.NOTHING_HEARD)
        return Listening(heard=Heard(heard.text.strip(), heard.usage, heard.seconds))

    def _usage(self, user_id: int, recording: Recording, heard: Heard) -> UsageRecord:
        # A file sent as a document has no duration from Telegram: the server may say how long it was.
        seconds = recording.seconds or round(heard.seconds or 0)
        if heard.usage is not None:
            tokens_in, tokens_out = heard.usage.prompt_tokens, heard.usage.completion_tokens
        else:
            tokens_in, tokens_out = audio_tokens(seconds), self._counter.count(heard.text)
        return UsageRecord(tokens_in, tokens_out, self._model, user_id, seconds=seconds)


def audio_tokens(seconds: int) -> int:
    """The audio tokens of a recording this long, by OpenAI's rate."""
    return math.ceil(seconds * AUDIO_TOKENS_PER_MINUTE / 60)


def expected_tokens(seconds: int) -> int:
    """What a transcription of this length is expected to cost in tokens: its audio and its transcript."""
    return audio_tokens(seconds) + math.ceil(seconds * TRANSCRIPT_TOKENS_PER_MINUTE / 60)
