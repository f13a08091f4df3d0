"""What the domain needs from the outside, as Protocols, and the plain values that cross them.

Adapters implement these: model/ (ChatModel, Moderator, Transcriber), store/ (History, Ledger, Lock),
telegram/ (ReplySink), metrics (TurnObserver). Nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Protocol

from bot.domain.capability import Limit
from bot.domain.chat import ChatKey
from bot.domain.image import ImagePart, StoredImage
from bot.domain.outcome import Delivery, Ending, Failure
from bot.domain.tools import Progress, ToolCall, ToolSpec
from bot.domain.transcript import Summary, Transcript, Turn
from bot.domain.usage import Reservation, UsageRecord


@dataclass(frozen=True)
class ChatMessage:
    """One message of a request, in the model's terms: a user message may carry images after its text, an
    assistant message the tool calls it asked for, and a ``role: "tool"`` message answers one of them
    (``tool_call_id``)."""

    role: str
    content: str
    images: tuple[ImagePart, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ModelRequest:
    """What to ask the model and how."""

    messages: tuple[ChatMessage, ...]
    model: str
    temperature: float
    max_tokens: int
    limits: frozenset[Limit] = frozenset()  # what the model was learnt to refuse: left out, or sent another way
    tools: tuple[ToolSpec, ...] = ()  # functions the model may call; none: a plain answer
    tool_choice: str | None = None  # "none": answer now; the tools are not offered again (their exchange is kept)

    def without_tools(self) -> ModelRequest:
        """The request for a server that takes no tools: no functions, and the history's tool exchanges left
        out (the answers that came of them stay)."""
        plain = tuple(replace(m, tool_calls=()) for m in self.messages
                      if m.role != "tool" and (m.content or not m.tool_calls))
        return replace(self, messages=plain, tools=(), tool_choice=None)


@dataclass(frozen=True)
class Usage:
    """Tokens a call used, as the server reported them."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0  # of the completion tokens, those spent thinking (completion_tokens_details)
    cached_tokens: int = 0  # of prompt_tokens, read from the provider's prompt cache (billed lower)


@dataclass(frozen=True)
class Completion:
    """How a stream ended: the finish reason ("stop", "length", "tool_calls"…), the reported usage, if any, and
    the tools the model asked to call (their arguments assembled from the stream's fragments)."""

    finish_reason: str | None
    usage: Usage | None
    tool_calls: tuple[ToolCall, ...] = ()


class ReplyStream(Protocol):
    """Text deltas of an answer; ``completion`` is set once the stream is exhausted."""

    completion: Completion | None

    def __aiter__(self) -> AsyncIterator[str]: ...
    async def aclose(self) -> None: ...


class ChatModel(Protocol):
    """A model that streams answers and writes summaries."""

    async def stream(self, request: ModelRequest) -> ReplyStream: ...
    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]: ...


class ImageSource(Protocol):
    """Images of earlier turns, downloaded again by file id to go with a later turn (raises FileError or
    ImageUnreadable when it cannot)."""

    async def part(self, image: StoredImage) -> ImagePart: ...


class ImageSupport(Protocol):
    """Whether a model reads images, as its server's refusals taught (a seam for a store shared by replicas)."""

    async def refuses_images(self, model: str) -> bool: ...
    async def refused_images(self, model: str) -> None: ...
@dataclass(frozen=True)
class Recording:
    """A voice message, audio file or video note to transcribe: its bytes (never stored), a file name whose
    extension names the format, and its length as Telegram reports it (0: Telegram did not say)."""

    data: bytes
    filename: str
    seconds: int


@dataclass(frozen=True)
class Heard:
    """What a transcription heard, and the tokens the server reported for it (models billed by token say)."""

    text: str
    usage: Usage | None = None
    seconds: float | None = None  # the recording's length, when the server says it (whisper-1 does)


class Transcriber(Protocol):
    """Speech to text."""

    async def transcribe(self, recording: Recording, model: str) -> Heard: ...


class ModelLimits(Protocol):
    """What each model was learnt not to take (a store shared by replicas remembers it a day)."""

    async def limits(self, model: str) -> frozenset[Limit]: ...
    async def learn(self, model: str, limit: Limit) -> None: ...


class ImageModel(Protocol):
    """Makes an image from a prompt (raises ImageRefused when the model declines it)."""

    async def draw(self, prompt: str, model: str, size: str) -> bytes: ...


class PhotoOutbox(Protocol):
    """Sends a picture into a chat (or its topic) as a photo with a caption, replying to a message when given;
    False when Telegram would not take it."""

    async def send_photo(self, chat: ChatKey, picture: bytes, caption: str, reply_to: int | None = None) -> bool: ...


class ImageQuota(Protocol):
    """Images a user may still make today."""

    async def take(self, user_id: int, limit: int) -> bool: ...
    async def give_back(self, user_id: int) -> None: ...


class Moderator(Protocol):
    """Classifies a user's message before the model sees it."""

    async def flagged(self, text: str) -> bool: ...


class LockLease(Protocol):
    """A held per-chat lock that the commit may release in the same round trip."""

    key: str
    token: str
    released: bool


class Lock(Protocol):
    """One turn at a time per chat, across replicas."""

    def hold(self, chat: ChatKey, turn: str | None = None,
             takeover: bool = False) -> AbstractAsyncContextManager[LockLease]: ...


class History(Protocol):
    """The conversation store the domain depends on."""

    async def load(self, chat: ChatKey) -> Transcript: ...
    async def commit(self, chat: ChatKey, turns: Sequence[Turn], usage: Sequence[UsageRecord],
                     release: LockLease | None = None, reservation: Reservation | None = None,
                     turn_id: str | None = None, delivery: Delivery | None = None,
                     replaces: Turn | None = None) -> None: ...
    async def generated(self, turn_id: str) -> Delivery | None: ...
    async def amend(self, chat: ChatKey, turns: Sequence[Turn], seen: Turn | None, turn_id: str | None,
                    delivery: Delivery) -> None: ...
    async def reset(self, chat: ChatKey) -> None: ...
    async def set_persona(self, chat: ChatKey, choice: str | None) -> None: ...
    async def persona(self, chat: ChatKey) -> str | None: ...
    async def set_model(self, chat: ChatKey, model: str | None) -> None: ...
    async def model(self, chat: ChatKey) -> str | None: ...
    async def fold(self, chat: ChatKey, folded: Sequence[Turn], summary: Summary) -> bool: ...


class Ledger(Protocol):
    """Token budgets: reserve a turn's estimate before the model call (settled by History.commit), drop it when no
    call was made, count calls outside turns."""

    async def reserve(self, user_id: int, chat: ChatKey, tokens: int, turn_id: str | None = None) -> Reservation: ...
    async def release(self, reservation: Reservation) -> None: ...
    async def record(self, chat: ChatKey, records: Sequence[UsageRecord],
                     reservation: Reservation | None = None) -> None: ...


class ReplySink(Protocol):
    """Where an answer goes while it is written: the Telegram side implements it."""

    async def show(self, text: str) -> None: ...
    async def thinking(self) -> None: ...
    async def progress(self, text: str, steps: Sequence[Progress]) -> None: ...
    async def finish(self, text: str, ending: Ending) -> str | None:
        """Deliver the whole answer; None once the user sees it, or (delivery given up) what the user sees of it."""
        ...
    async def fail(self, failure: Failure) -> None: ...


class TurnObserver(Protocol):
    """Counts what the domain did, for /metrics."""

    def tokens_used(self, record: UsageRecord) -> None: ...
    def summary_finished(self, result: str) -> None: ...
    def tool_called(self, tool: str, outcome: str, seconds: float) -> None: ...


class NoObserver:
    """A TurnObserver that counts nothing (tests, tools)."""

    def tokens_used(self, record: UsageRecord) -> None:
        """Nothing to count."""

    def summary_finished(self, result: str) -> None:
        """Nothing to count."""

    def tool_called(self, tool: str, outcome: str, seconds: float) -> None:
        """Nothing to count."""
