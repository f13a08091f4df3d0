"""The context sent with each request, under CONTEXT_MAX_TOKENS, and which turns the summary folds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.ports import ChatMessage
from bot.domain.tokens import TokenCounter
from bot.domain.transcript import Summary, ToolRound, Transcript, Turn


@dataclass(frozen=True)
class Context:
    """The messages of one request and how much history went into them."""

    messages: tuple[ChatMessage, ...]
    history_tokens: int
    turns_used: int


SUMMARY_INTRO = "Summary of the earlier conversation (for context; do not mention it):\n"


def build_context(system_prompt: str, transcript: Transcript, user_message: ChatMessage,
                  budget: int, max_turns: int | None = None) -> Context:
    """System prompt, summary, the newest earlier turns that fit the budget, then the new user message."""
    summary = transcript.summary if transcript.summary and transcript.summary.tokens <= budget else None
    remaining = budget - (summary.tokens if summary else 0)
    turns = newest_fitting(transcript.turns, remaining, max_turns)
    messages = [ChatMessage("system", system_prompt)]
    if summary is not None:
        messages.append(ChatMessage("system", SUMMARY_INTRO + summary.text))
    for turn in turns:
        messages.extend(as_messages(turn))
    messages.append(user_message)
    used = sum(t.tokens for t in turns) + (summary.tokens if summary else 0)
    return Context(tuple(messages), used, len(turns))


def newest_fitting(turns: Sequence[Turn], budget: int, max_turns: int | None = None) -> list[Turn]:
    """The longest suffix of whole user→assistant exchanges whose tokens fit the budget."""
    chosen: list[Turn] = []
    used = 0
    limit = len(turns) if max_turns is None else max_turns
    for turn in reversed(turns):
        if used + turn.tokens > budget or len(chosen) >= limit:
            break
        chosen.append(turn)
        used += turn.tokens
    chosen.reverse()
    while chosen and chosen[0].role != "user":  # never start mid-exchange with an orphan answer
        chosen.pop(0)
    return chosen


def as_message(turn: Turn) -> ChatMessage:
    """A stored turn as the model sees it; in groups the speaker's name leads the text."""
    if turn.role == "user" and turn.name:
        return ChatMessage("user", f"{turn.name}: {turn.content}")
    return ChatMessage(turn.role, turn.content)


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
