"""The context sent with each request, under CONTEXT_MAX_TOKENS, and which turns the summary folds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.image import Detail, ImagePart, StoredImage, image_tokens
from bot.domain.ports import ChatMessage
from bot.domain.tokens import TokenCounter
from bot.domain.transcript import Summary, ToolRound, Transcript, Turn


@dataclass(frozen=True)
class ImagePolicy:
    """How many of the newest earlier images go with a request again (VISION_HISTORY_IMAGES), at what detail."""

    history_images: int = 0
    detail: Detail = Detail.AUTO

    def tokens(self, images: Sequence[StoredImage]) -> int:
        return sum(image_tokens(image.width, image.height, self.detail) for image in images)


@dataclass(frozen=True)
class Resend:
    """An earlier turn whose images go with the request again: its message's index and the images."""

    index: int
    turn: Turn
    images: tuple[StoredImage, ...]


@dataclass(frozen=True)
class Context:
    """The messages of one request and how much history went into them.

    ``resend`` names the earlier messages (by index) whose images are to be sent again: they are downloaded
    before the request, and a message whose images cannot be had keeps its text stand-in.
    """

    messages: tuple[ChatMessage, ...]
    history_tokens: int
    turns_used: int
    resend: tuple[Resend, ...] = ()


SUMMARY_INTRO = "Summary of the earlier conversation (for context; do not mention it):\n"


def build_context(system_prompt: str, transcript: Transcript, user_message: ChatMessage,
                  budget: int, max_turns: int | None = None, images: ImagePolicy | None = None) -> Context:
    """System prompt, summary, the newest earlier turns that fit the budget, then the new user message.

    The newest ``images.history_images`` earlier images count at their image cost and are marked to be sent
    again; older ones stay text stand-ins (``[photo: caption]``).
    """
    policy = images or ImagePolicy()
    summary = transcript.summary if transcript.summary and transcript.summary.tokens <= budget else None
    remaining = budget - (summary.tokens if summary else 0)
    again = resent_images(transcript.turns, policy.history_images)

    def cost(turn: Turn) -> int:
        return turn.tokens + policy.tokens(again.get(turn.id, ()))

    turns = newest_fitting(transcript.turns, remaining, max_turns, cost)
    messages = [ChatMessage("system", system_prompt)]
    if summary is not None:
        messages.append(ChatMessage("system", SUMMARY_INTRO + summary.text))
    positions: dict[str, int] = {}  # each turn's own message (after the tool exchange it may lead with)
    for turn in turns:
        messages.extend(as_messages(turn))
        positions[turn.id] = len(messages) - 1
    messages.append(user_message)
    used = sum(cost(t) for t in turns) + (summary.tokens if summary else 0)
    resend = tuple(Resend(positions[t.id], t, again[t.id]) for t in turns if t.id in again)
    return Context(tuple(messages), used, len(turns), resend)


def resent_images(turns: Sequence[Turn], count: int) -> dict[str, tuple[StoredImage, ...]]:
    """The newest ``count`` images of the turns, by the id of the turn that holds them."""
    chosen: dict[str, tuple[StoredImage, ...]] = {}
    left = count
    for turn in reversed(turns):
        if left <= 0:
            break
        if turn.images:
            chosen[turn.id] = turn.images[-left:]
            left -= len(chosen[turn.id])
    return chosen


def newest_fitting(turns: Sequence[Turn], budget: int, max_turns: int | None = None,
                   cost: Callable[[Turn], int] | None = None) -> list[Turn]:
    """The longest suffix of whole user→assistant exchanges whose tokens (``cost``, else ``tokens``) fit."""
    chosen: list[Turn] = []
    used = 0
    limit = len(turns) if max_turns is None else max_turns
    for turn in reversed(turns):
        tokens = cost(turn) if cost else turn.tokens
        if used + tokens > budget or len(chosen) >= limit:
            break
        chosen.append(turn)
        used += tokens
    chosen.reverse()
    while chosen and chosen[0].role != "user":  # never start mid-exchange with an orphan answer
        chosen.pop(0)
    return chosen


def as_message(turn: Turn, parts: Sequence[ImagePart] = ()) -> ChatMessage:
    """A stored turn as the model sees it: with its images' ``parts`` when given, else images as stand-ins;
    in groups the speaker's name leads the text."""
    text = turn.content if parts else turn.plain
    if turn.role == "user" and turn.name:
        text = f"{turn.name}: {text}"
    return ChatMessage(turn.role, text, tuple(parts))


def as_messages(turn: Turn) -> list[ChatMessage]:
    """A stored turn as the model saw it: an answer that used tools is led by its rounds of calls and results."""
    leading = [message for step in turn.tools for message in round_messages(step)]
    return [*leading, as_message(turn)]


def round_messages(step: ToolRound, text: str = "") -> list[ChatMessage]:
    """One round of tool calls as the model's messages: the assistant's calls, then one result per call."""
    results = [ChatMessage("tool", result, tool_call_id=call.id) for call, result in zip(step.calls, step.results,
                                                                                        strict=True)]
    return [ChatMessage("assistant", text, tool_calls=step.calls), *results]


def turns_to_fold(transcript: Transcript, budget: int) -> list[Turn]:
    """The oldest whole exchanges to fold into the summary once the history exceeds the budget.

    The newest turns, about half the budget, stay verbatim.
    """
    if transcript.history_tokens <= budget:
        return []
    kept = newest_fitting(transcript.turns, budget // 2)
    folded = list(transcript.turns[: len(transcript.turns) - len(kept)])
    while folded and folded[-1].role != "assistant":  # a fold ends with a complete exchange
        folded.pop()
    return folded


def summary_of(text: str, counter: TokenCounter) -> Summary:
    """A summary with its token count, as it is stored."""
    return Summary(text=text, tokens=counter.count(SUMMARY_INTRO + text))
