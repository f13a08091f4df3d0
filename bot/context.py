"""Token counting and the context sent with each request, under CONTEXT_MAX_TOKENS."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tiktoken

from bot.history import Summary, Transcript, Turn
from bot.llm import ChatMessage

logger = logging.getLogger(__name__)

# Chat formats wrap every message in a few tokens of markup (role, separators).
MESSAGE_OVERHEAD = 4
_FALLBACK_ENCODING = "o200k_base"


class TokenCounter:
    """tiktoken for the model, o200k_base for models it does not know, ~4 characters a token offline."""

    def __init__(self, model: str, loader: Callable[[str], tiktoken.Encoding | None] | None = None) -> None:
        self._encoding = (loader or _load_encoding)(model)

    @property
    def exact(self) -> bool:
        return self._encoding is not None

    def count(self, text: str) -> int:
        """Tokens of one message's text, including the per-message overhead."""
        if self._encoding is None:
            return MESSAGE_OVERHEAD + (len(text) + 3) // 4
        return MESSAGE_OVERHEAD + len(self._encoding.encode(text, disallowed_special=()))


def _load_encoding(model: str) -> tiktoken.Encoding | None:
    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:
        pass
    except Exception as exc:  # tiktoken downloads encodings; offline that fails in many ways
        logger.warning("no tiktoken encoding for %s (%s); counting about 4 characters a token", model, exc)
        return None
    try:
        return tiktoken.get_encoding(_FALLBACK_ENCODING)
    except Exception as exc:
        logger.warning("no tiktoken encoding %s (%s); counting about 4 characters a token", _FALLBACK_ENCODING, exc)
        return None


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
    messages.extend(as_message(t) for t in turns)
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
