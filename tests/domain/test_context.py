from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.context import build_context, newest_fitting, turns_to_fold
from bot.domain.ports import ChatMessage
from bot.domain.transcript import Summary, Transcript, Turn

NEW = ChatMessage("user", "new question")


def exchanges(sizes: list[tuple[int, int]]) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for n, (asked, answered) in enumerate(sizes):
        turns += [Turn("user", f"q{n}", asked), Turn("assistant", f"a{n}", answered)]
    return tuple(turns)


sizes = st.lists(st.tuples(st.integers(1, 400), st.integers(1, 900)), max_size=40)


@given(sizes=sizes, budget=st.integers(1, 5000), summary_tokens=st.none() | st.integers(1, 3000))
def test_the_context_fits_the_budget_and_keeps_the_newest_turns(
    sizes: list[tuple[int, int]], budget: int, summary_tokens: int | None,
) -> None:
    summary = Summary("earlier", summary_tokens) if summary_tokens else None
    transcript = Transcript(turns=exchanges(sizes), summary=summary)
    context = build_context("persona prompt", transcript, NEW, budget)
    assert context.history_tokens <= budget
    assert context.messages[0] == ChatMessage("system", "persona prompt")
    assert context.messages[-1] == NEW
    earlier = context.messages[1:-1]
    if summary is not None and summary.tokens <= budget:
        assert earlier[0].role == "system" and "earlier" in earlier[0].content
        earlier = earlier[1:]
    used = transcript.turns[len(transcript.turns) - len(earlier):] if earlier else ()
    assert [m.content for m in earlier] == [t.content for t in used]
    assert all(m.role != "system" for m in earlier)
    assert [m.role for m in earlier] == ["user", "assistant"] * (len(earlier) // 2)


@given(sizes=sizes, budget=st.integers(1, 5000))
def test_newest_fitting_is_the_longest_whole_exchange_suffix(sizes: list[tuple[int, int]], budget: int) -> None:
    turns = exchanges(sizes)
    chosen = newest_fitting(turns, budget)
    assert sum(t.tokens for t in chosen) <= budget
    assert not chosen or chosen[0].role == "user"
    skipped = len(turns) - len(chosen)
    if skipped >= 2:  # one more exchange would not have fitted
        assert sum(t.tokens for t in turns[skipped - 2:]) > budget


@given(sizes=sizes, budget=st.integers(10, 5000))
def test_folding_leaves_the_newest_turns_and_ends_on_an_answer(sizes: list[tuple[int, int]], budget: int) -> None:
    transcript = Transcript(turns=exchanges(sizes))
    folded = turns_to_fold(transcript, budget)
    if transcript.history_tokens <= budget:
        assert folded == []
        return
    assert list(transcript.turns[: len(folded)]) == folded
    assert not folded or folded[-1].role == "assistant"
    kept = transcript.turns[len(folded):]
    assert sum(t.tokens for t in kept) <= budget // 2 or len(kept) <= 1


def test_group_turns_carry_the_speaker_name() -> None:
    transcript = Transcript(turns=(Turn("user", "hi all", 3, name="Ann"), Turn("assistant", "hello", 2)))
    context = build_context("p", transcript, NEW, 100)
    assert context.messages[1] == ChatMessage("user", "Ann: hi all")
