"""One turn into a streaming Telegram reply: the rate, the sink (continuing a dead replica's messages), the
conversation, the 🔄 on the chat's newest answer, and what is measured and logged of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import ReplyParameters

from bot.domain.chat import ChatKey
from bot.domain.conversation import TurnRequest, TurnResult
from bot.domain.image import SeenImage
from bot.domain.outcome import Failure
from bot.store.latest import LatestAnswer
from bot.store.replies import Owner
from bot.telegram import texts
from bot.telegram.context import BotContext, Services
from bot.telegram.sink import Handover, Target, TelegramReplySink

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Declined:
    """A message the bot cannot answer after all (a scanned PDF, say): what the user is told instead."""

    text: str


# Makes a turn's text inside its reply, while `typing…` shows (a recording downloaded and transcribed, a document
# read); may set the reply's preface. A Failure or Declined ends the turn without the model.
Prepare = Callable[[TelegramReplySink], Awaitable[str | Failure | Declined]]


async def answer(context: BotContext, target: Target, user_id: int, text: str | Prepare, *, speaker: str | None,
                 update_id: int, asked: int | None = None, images: tuple[SeenImage, ...] = (),
                 again: LatestAnswer | None = None) -> None:
    """Run one turn into a streaming Telegram reply (unless the user is sending too fast). ``asked``: the user's
    message (its answer becomes the chat's newest, with 🔄); ``again``: the chat's newest answer, answered again
    in its own messages ("" as ``text`` keeps its question)."""
    services = context.services
    resumed = services.replies.resumed(update_id)  # counted against the rate when it first came
    if not resumed and await _slowed_down(context, target, user_id):
        return
    stop = asyncio.Event()
    sink = await _sink(context, target, Owner(target.chat_id, user_id), update_id, stop, again, asked is not None)
    started = services.clock()
    services.metrics.streams_in_flight.inc()
    result: TurnResult | None = None
    try:
        async with sink:  # typing and the edit pump stop however the turn ends
            prepared = text if isinstance(text, str) else await _prepared(services, text, sink, resumed, update_id)
            if isinstance(prepared, str):
                request = TurnRequest(target.chat, user_id, prepared, speaker, stop=stop, turn_id=str(update_id),
                                      resumed=resumed, images=images, redo=again is not None, message_id=asked)
                result = await services.conversation.reply(request, sink)
                outcome = result.outcome
                if result.text.strip() and asked is not None:  # stored: it is the chat's newest answer now
                    await _become_latest(services, target.chat, LatestAnswer(user_id, asked, sink.message_ids),
                                         sink)
            else:
                outcome = await _decline(sink, prepared)
    finally:
        services.metrics.streams_in_flight.dec()
        services.replies.close(update_id)
    _observe(services, outcome, started, sink.first_visible_at, update_id, target.chat)
    await services.stats.turn(user_id, target.chat_id, outcome)
    if result is not None:
        await _tell_images_refused(context, target, result)


async def _prepared(services: Services, prepare: Prepare, sink: TelegramReplySink, resumed: bool,
                    update_id: int) -> str | Failure | Declined:
    """The turn's text; none when a replica that died had stored the answer already (the conversation delivers
    it), so a recording is not transcribed twice."""
    if resumed and await services.history.generated(str(update_id)) is not None:
        return ""
    return await prepare(sink)


async def _decline(sink: TelegramReplySink, why: Failure | Declined) -> str:
    if isinstance(why, Failure):
        await sink.fail(why)
        return f"failed:{why.value}"
    await sink.tell(why.text)
    return "declined"


async def _tell_images_refused(context: BotContext, target: Target, result: TurnResult) -> None:
    """The model would not read the turn's images: say so, once a day per chat."""
    notices = context.services.notices
    if not result.images_refused or (notices is not None and  # per chat: a forum's topics are told once
                                     not await notices.first_today(ChatKey(target.chat_id), "images")):
        return
    await context.bot.send_message(target.chat_id, texts.MODEL_READS_NO_IMAGES, message_thread_id=target.thread_id,
                                   reply_parameters=_reply_to(target))


async def _sink(context: BotContext, target: Target, owner: Owner, update_id: int,
                stop: asyncio.Event, again: LatestAnswer | None, regenerable: bool) -> TelegramReplySink:
    """The reply's sink, continuing the messages of a replica that died mid-answer, if one did, or those of the
    answer given again."""
    services = context.services
    earlier = await services.replies.adopt(update_id)
    if earlier is not None and earlier.stopped:
        stop.set()
    services.replies.open(update_id, owner, stop)
    reused = earlier.message_ids if earlier is not None and earlier.message_ids else ()
    handover = Handover(reused or (again.messages if again else ()),
                        lambda ids: services.replies.remember(update_id, owner, ids))
    return TelegramReplySink(context.bot, target, services.pacer, services.cadence, stop_token=str(update_id),
                             clock=services.clock, sleep=services.sleep, metrics=services.metrics, handover=handover,
                             regenerable=regenerable)


async def _become_latest(services: Services, chat: ChatKey, latest: LatestAnswer, sink: TelegramReplySink) -> None:
    """The chat's newest answer carries the 🔄; the previous one's is taken off (unless it is in this one)."""
    previous = await services.latest.replace(chat, latest)
    if previous is not None and previous.messages and previous.messages[-1] not in latest.messages:
        await sink.retire(previous.messages[-1])


def _observe(services: Services, outcome: str, started: float, first_visible: float | None, update_id: int,
             chat: ChatKey) -> None:
    duration = services.clock() - started
    services.metrics.turns.labels(outcome).inc()
    services.metrics.turn_duration.observe(duration)
    fields: dict[str, object] = {"update_id": update_id, "chat": str(chat), "outcome": outcome,
                                 "duration_ms": round(duration * 1000)}
    if first_visible is not None:
        services.metrics.first_text.observe(first_visible - started)
        fields["first_text_ms"] = round((first_visible - started) * 1000)
    logger.info("turn finished: %s", outcome, extra=fields)


async def _slowed_down(context: BotContext, target: Target, user_id: int) -> bool:
    services = context.services
    if not services.messages_per_minute or user_id in services.operators:
        return False
    limited, tell = await services.gatekeeper.too_fast(user_id, services.messages_per_minute)
    if tell:
        await context.bot.send_message(target.chat_id, texts.SLOW_DOWN, message_thread_id=target.thread_id,
                                       reply_parameters=_reply_to(target))
    return limited


def _reply_to(target: Target) -> ReplyParameters | None:
    if target.reply_to is None:
        return None
    return ReplyParameters(target.reply_to, allow_sending_without_reply=True)
