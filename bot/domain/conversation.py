"""One turn of a conversation, start to end, in domain terms (no Telegram here)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from bot import lifetime
from bot.domain.chat import ChatKey
from bot.domain.commit import Committer, StoreRetry
from bot.domain.context import Context
from bot.domain.image import SeenImage, stand_in
from bot.domain.learning import Learner
from bot.domain.models import ModelCatalog
from bot.domain.outcome import Delivery, Ending, Failure
from bot.domain.personas import Persona, PersonaCatalog
from bot.domain.ports import (
    ChatModel,
    History,
    Ledger,
    Lock,
    LockLease,
    ModelLimits,
    ModelRequest,
    Moderator,
    NoObserver,
    ReplySink,
    TurnObserver,
    Usage,
)
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.toolloop import Answer, ToolLoop, round_tokens, stored_rounds
from bot.domain.tools import Toolbox, ToolContext, ToolLimits
from bot.domain.transcript import Transcript, Turn
from bot.domain.usage import Reservation, UsageRecord, reply_estimate
from bot.domain.vision import Vision
from bot.errors import (
    ContextTooLong,
    ImagesRejected,
    ModelAccessDenied,
    ModelError,
    ModelRejected,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnRequest:
    """A user's message to answer, in plain values."""

    chat: ChatKey
    user_id: int
    text: str
    speaker: str | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    turn_id: str | None = None  # marks the turn done in the store (the Telegram update that asked)
    message_id: int | None = None  # the message that asked (a reminder set in this turn replies to it)
    resumed: bool = False  # another replica started this turn and died: its answer may be generated already
    redo: bool = False  # answer the chat's last question again, replacing it and its answer ("" keeps its text)
    images: tuple[SeenImage, ...] = ()  # downloaded and checked by the Telegram side


@dataclass(frozen=True)
class TurnResult:
    """What became of a turn."""

    ending: Ending | None = None
    failure: Failure | None = None
    text: str = ""
    images_refused: bool = False  # the model does not read images: the turn was answered from its text

    @property
    def outcome(self) -> str:
        return self.ending.value if self.ending else f"failed:{self.failure.value if self.failure else '?'}"


@dataclass(frozen=True)
class ReplyOptions:
    """Model settings of a reply (a persona may override the temperature) and the moderation rule."""

    model: str
    temperature: float
    max_tokens: int
    context_max_tokens: int
    moderation_fail_closed: bool = False


class Conversation:
    """Answers messages: one turn at a time per chat, history in, answer out, turn stored."""

    def __init__(self, history: History, ledger: Ledger, model: ChatModel, lock: Lock,
                 counter: TokenCounter, summarizer: Summarizer, personas: PersonaCatalog, options: ReplyOptions,
                 moderator: Moderator | None = None, observer: TurnObserver | None = None,
                 store_retry: StoreRetry | None = None, toolbox: Toolbox | None = None,
                 tool_limits: ToolLimits | None = None, vision: Vision | None = None,
                 models: ModelCatalog | None = None, limits: ModelLimits | None = None) -> None:
        self._history = history
        self._learner = Learner(model, limits)
        self._models = models or ModelCatalog(((options.model, options.model),), options.model)
        self._toolbox = toolbox or Toolbox()
        self._tool_limits = tool_limits or ToolLimits()
        self._vision = vision or Vision()
        self._observer = observer or NoObserver()
        self._committer = Committer(history, counter, store_retry or StoreRetry(give_up_seconds=0.0))  # no retries
        self._ledger = ledger
        self._moderator = moderator
        self._lock = lock
        self._counter = counter
        self._summarizer = summarizer
        self._personas = personas
        self._options = options

    async def reply(self, request: TurnRequest, sink: ReplySink) -> TurnResult:
        """Answer one message through the sink; the chat's next turn waits until this one is stored."""
        earlier = await self._generated(request)
        if earlier is not None and earlier.seen is not None:  # its delivery was given up, and history says so
            return TurnResult(ending=earlier.ending, text=earlier.seen)
        if earlier is not None:  # a replica that died had generated and stored it: deliver, never ask again
            await sink.finish(earlier.text, earlier.ending)
            return TurnResult(ending=earlier.ending, text=earlier.text)
        refusal = await self._moderate(request.text) if request.text else None
        if refusal is not None:
            await sink.fail(refusal)
            return TurnResult(failure=refusal)
        async with self._lock.hold(request.chat, request.turn_id, takeover=request.resumed) as lease:
            result, history_tokens = await self._turn(request, sink, lease)
        if self._summarizer.needed(history_tokens):
            self._summarizer.schedule(request.chat)
        return result

    async def reset(self, chat: ChatKey) -> None:
        """Forget a chat's history and summary."""
        await self._history.reset(chat)

    async def _generated(self, request: TurnRequest) -> Delivery | None:
        if not request.resumed or request.turn_id is None:
            return None  # a fresh turn: no round trip
        earlier = await self._history.generated(request.turn_id)
        if earlier is not None:
            logger.info("taken-over answer was already generated; delivering it", extra={"update_id": request.turn_id})
        return earlier

    async def _moderate(self, text: str) -> Failure | None:
        if self._moderator is None or not text.strip():  # a photo without a caption: nothing to check
            return None
        try:
            return Failure.FLAGGED if await self._moderator.flagged(text) else None
        except ModelError as exc:
            logger.warning("moderation failed (%s); %s", exc,
                           "refusing the message" if self._options.moderation_fail_closed else "going on")
            return Failure.MODERATION_UNAVAILABLE if self._options.moderation_fail_closed else None

    async def _turn(self, request: TurnRequest, sink: ReplySink, lease: LockLease) -> tuple[TurnResult, int]:
        transcript = await self._history.load(request.chat)
        redo = _last_exchange(transcript) if request.redo else None
        if request.redo and redo is None:
            await sink.fail(Failure.NOTHING_TO_REDO)
            return TurnResult(failure=Failure.NOTHING_TO_REDO), transcript.history_tokens
        if redo is not None:  # its question again (""), or the question as edited
            transcript, asked, replaced = redo
            user_turn = self._user_turn(request) if request.text else asked
        else:
            user_turn, replaced = self._user_turn(request), None
        model = self._models.resolve(transcript.model)
        expected = self._expected(transcript, user_turn)
        reservation = await self._ledger.reserve(request.user_id, request.chat, expected, request.turn_id)
        if reservation.refused:
            failure = Failure.USER_BUDGET if reservation.refused == "user" else Failure.CHAT_BUDGET
            await sink.fail(failure)
            return TurnResult(failure=failure), transcript.history_tokens
        answer = Answer()
        try:
            context = await self._answer(request, transcript, user_turn, sink, answer, model)
        except ModelError as exc:
            await self._settle_unstored(request, answer, reservation, model)
            failure = _failure_of(exc)
            logger.warning("model call failed for a turn: %s", exc, exc_info=logger.isEnabledFor(logging.DEBUG))
            await sink.fail(failure)
            return TurnResult(failure=failure), transcript.history_tokens
        if not answer.text.strip() and answer.ending is not Ending.STOPPED:
            await self._settle_unstored(request, answer, reservation, model)
            await sink.fail(Failure.EMPTY)
            return TurnResult(failure=Failure.EMPTY), transcript.history_tokens
        if not answer.text.strip():  # stopped before the first words: nothing to store
            await self._settle_unstored(request, answer, reservation, model)
            await sink.finish(answer.text, answer.ending)
            return TurnResult(ending=answer.ending), transcript.history_tokens
        reply_turn = self._reply_turn(answer)
        usage = self._usage(context, user_turn, reply_turn, answer)
        record = UsageRecord(usage.prompt_tokens, usage.completion_tokens, model=model,
                             user_id=request.user_id, cached_tokens=usage.cached_tokens,
                             reasoning_tokens=usage.reasoning_tokens)
        await self._learner.used(model, usage)
        lease.released = True  # by the commit, in its round trip (if that fails, the lock soon expires)

        async def commit() -> None:
            await self._history.commit(request.chat, [user_turn, reply_turn], [record], release=lease,
                                       reservation=reservation, turn_id=request.turn_id,
                                       delivery=Delivery(answer.text, answer.ending), replaces=replaced)

        await self._committer.store_then_deliver(commit, sink, Delivery(answer.text, answer.ending), request.chat,
                                                 [user_turn, reply_turn], request.turn_id)
        self._observer.tokens_used(record)
        stored = transcript.history_tokens + user_turn.tokens + reply_turn.tokens
        return TurnResult(ending=answer.ending, text=answer.text, images_refused=answer.images_refused), stored

    def _user_turn(self, request: TurnRequest) -> Turn:
        """The user's turn as stored: its text, and its images as references counted as their stand-ins."""
        images = tuple(image.stored for image in request.images)
        tokens = self._counter.count(stand_in(images, request.text) if images else request.text)
        return Turn("user", request.text, tokens, name=request.speaker, images=images)

    def _expected(self, transcript: Transcript, user_turn: Turn) -> int:
        """The turn's tokens as budgets estimate them: the whole prompt (system prompt too) and a likely reply."""
        system = self._counter.count(self._personas.resolve(transcript.persona).prompt)
        history = min(transcript.history_tokens, self._options.context_max_tokens)  # what the context may hold
        images = self._vision.policy.tokens(user_turn.images)
        return system + history + user_turn.tokens + images + reply_estimate(transcript.turns,
                                                                              self._options.max_tokens)

    async def _settle_unstored(self, request: TurnRequest, answer: Answer, reservation: Reservation,
                               model: str) -> None:
        """A turn that stores nothing drops its reservation; tokens of tool rounds it ran still count."""
        if not answer.prompt_tokens and not answer.completion_tokens:
            await self._ledger.release(reservation)
            return
        record = UsageRecord(answer.prompt_tokens, answer.completion_tokens, model, request.user_id,
                             cached_tokens=answer.cached_tokens, reasoning_tokens=answer.reasoning_tokens)
        await self._ledger.record(request.chat, [record], reservation)
        self._observer.tokens_used(record)

    async def _answer(self, request: TurnRequest, transcript: Transcript, user_turn: Turn, sink: ReplySink,
                      answer: Answer, model: str) -> Context:
        """Fill ``answer`` (kept as far as it got when a round fails); the context it was last asked with."""
        persona = self._personas.resolve(transcript.persona)
        images = bool(request.images) or any(t.images for t in transcript.turns)
        refused = images and await self._vision.support.refuses_images(model)
        tools = ToolContext(request.chat, request.user_id, request.message_id, request.turn_id)
        asked: list[Context] = []

        async def rounds() -> None:
            nonlocal refused
            try:
                await self._rounds(request, transcript, user_turn, persona, images and not refused, tools, sink,
                                   answer, asked, model)
            except ImagesRejected:
                if answer.rounds or answer.text:
                    raise
                logger.info("the model refused the images; answering from the text alone")
                await self._vision.support.refused_images(model)
                refused = True
                await self._rounds(request, transcript, user_turn, persona, False, tools, sink, answer, asked, model)

        if await lifetime.unless_set(rounds(), request.stop):
            answer.ending = Ending.STOPPED
        answer.images_refused = refused and bool(request.images)  # worth a note only when this turn had images
        return asked[-1] if asked else Context((), 0, 0)  # none: stopped before asking, nothing to count

    async def _rounds(self, request: TurnRequest, transcript: Transcript, user_turn: Turn, persona: Persona,
                      images: bool, tools: ToolContext, sink: ReplySink, answer: Answer,
                      asked: list[Context], model: str) -> None:
        """The tool loop on the request's context (with images, or their stand-ins); a context too long for the
        model is tried once more with half the earlier turns. Each context asked with goes into ``asked``."""
        budget, parts = self._options.context_max_tokens, request.images if images else None
        asked.append(await self._vision.context(persona.prompt, transcript, user_turn, parts, budget))
        try:
            await self._loop(sink).run(self._request(asked[-1], persona.temperature, model), tools, sink, answer)
        except ContextTooLong:
            if answer.rounds or answer.text:
                raise
            logger.info("context too long for the model; retrying with half the earlier turns")
            asked.append(await self._vision.context(persona.prompt, transcript, user_turn, parts, budget // 2,
                                                    asked[-1].turns_used // 2))
            await self._loop(sink).run(self._request(asked[-1], persona.temperature, model), tools, sink, answer)

    def _loop(self, sink: ReplySink) -> ToolLoop:
        """One answer's rounds, each stream shaped by what the model was learnt to refuse."""
        return ToolLoop(self._learner.asking(sink.thinking), self._toolbox, self._tool_limits, self._counter,
                        self._observer)

    def _request(self, context: Context, temperature: float | None, model: str) -> ModelRequest:
        return ModelRequest(
            messages=context.messages, model=model,
            temperature=self._options.temperature if temperature is None else temperature,
            max_tokens=self._options.max_tokens,
        )

    def _reply_turn(self, answer: Answer) -> Turn:
        rounds = stored_rounds(answer.rounds, self._options.context_max_tokens, self._counter)
        tokens = self._counter.count(answer.text) + round_tokens(rounds, self._counter)
        return Turn("assistant", answer.text, tokens, tools=rounds)

    def _usage(self, context: Context, user_turn: Turn, reply_turn: Turn, answer: Answer) -> Usage:
        if answer.reported or answer.rounds:  # several rounds: the loop counted (or estimated) each of them
            return answer.usage
        system_tokens = sum(self._counter.count(m.content) for m in context.messages if m.role == "system")
        images = self._vision.policy.tokens(user_turn.images)
        return Usage(system_tokens + context.history_tokens + user_turn.tokens + images, reply_turn.tokens)


def _last_exchange(transcript: Transcript) -> tuple[Transcript, Turn, Turn] | None:
    """The transcript before its last question and answer, and those two (None: nothing to answer again)."""
    turns = transcript.turns
    if len(turns) < 2 or turns[-1].role != "assistant" or turns[-2].role != "user":
        return None
    return replace(transcript, turns=turns[:-2]), turns[-2], turns[-1]


def _failure_of(exc: ModelError) -> Failure:
    """What the user is told: retrying may help, rephrasing may help, or only the operator can."""
    if isinstance(exc, ModelAccessDenied):
        return Failure.MISCONFIGURED
    return Failure.REJECTED if isinstance(exc, ModelRejected) else Failure.UNAVAILABLE
