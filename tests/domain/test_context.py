from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.context import ImagePolicy, build_context, newest_fitting, turns_to_fold
from bot.domain.image import Detail, StoredImage
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


def photo_turns(count: int) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for n in range(count):
        image = StoredImage(f"file{n}", 1000, 1024, 1024, f"photo {n}")
        turns += [Turn("user", f"photo {n}", 10, images=(image,)), Turn("assistant", f"seen {n}", 5)]
    return tuple(turns)


def test_the_newest_images_are_marked_to_be_sent_again_and_counted_at_their_cost() -> None:
    transcript = Transcript(turns=photo_turns(4))
    context = build_context("p", transcript, NEW, 10_000, images=ImagePolicy(2, Detail.HIGH))
    assert [(r.index, r.images[0].file_id) for r in context.resend] == [(5, "file2"), (7, "file3")]
    assert context.history_tokens == 4 * 15 + 2 * 765
    assert context.messages[1].content == "[photo: photo 0]" and context.messages[1].images == ()


def test_without_a_policy_images_are_only_stand_ins() -> None:
    context = build_context("p", Transcript(turns=photo_turns(3)), NEW, 10_000)
    assert context.resend == () and context.history_tokens == 3 * 15


def test_image_costs_count_against_the_budget() -> None:
    context = build_context("p", Transcript(turns=photo_turns(3)), NEW, 790, images=ImagePolicy(1, Detail.HIGH))
    assert context.turns_used == 2 and [r.images[0].file_id for r in context.resend] == ["file2"]
