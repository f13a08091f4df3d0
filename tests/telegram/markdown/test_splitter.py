from __future__ import annotations

import re
import string
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, render, utf16_len
from bot.telegram.markdown.splitter import Segment, reopen_fence, split_markdown
from tests.markdown_samples import ANSWER, entity_text, outside_code, raw_markers


def squeeze(text: str) -> str:
    return "".join(text.split())


# --- reopen_fence ---------------------------------------------------------------------------------------------------


def test_reopen_fence_names_the_open_block() -> None:
    assert reopen_fence("text\n```python\nx = 1\n") == "```python\n"
    assert reopen_fence("> ```js\n> let a\n") == "> ```js\n"
    assert reopen_fence("```python\nx = 1\n```\n") == ""
    assert reopen_fence("plain") == ""


# --- split_markdown -------------------------------------------------------------------------------------------------


def check_segments(markdown: str, segments: list[Segment], limit: int) -> None:
    """Every segment fits and shows something; together they cover the original, in order."""
    assert segments[-1].end == len(markdown)
    assert all(a.end < b.end for a, b in pairwise(segments))
    texts = [render(segment.markdown).text for segment in segments]
    assert all(0 < utf16_len(text) <= limit and text.strip() for text in texts)
    assert squeeze("".join(texts)) == squeeze(render(markdown).text)


def test_short_input_is_one_unchanged_segment() -> None:
    assert split_markdown(ANSWER) == [Segment(ANSWER, len(ANSWER))]
    assert split_markdown("") == [Segment("", 0)]


def test_ascii_splits_between_words() -> None:
    markdown = "word " * 2000
    segments = split_markdown(markdown)
    check_segments(markdown, segments, TELEGRAM_TEXT_LIMIT)
    assert len(segments) == 3
    assert all(set(render(s.markdown).text.split()) == {"word"} for s in segments)


def test_emoji_count_two_units_each() -> None:
    markdown = "😀" * 3000  # 3000 characters, 6000 UTF-16 units
    segments = split_markdown(markdown)
    check_segments(markdown, segments, TELEGRAM_TEXT_LIMIT)
    assert [len(s.markdown) for s in segments] == [2048, 952]


def test_emoji_sequences_are_not_cut_apart() -> None:
    markdown = "👍🏽" * 100
    segments = split_markdown(markdown, 50)
    check_segments(markdown, segments, 50)
    assert all(set(s.markdown.split("👍🏽")) == {""} for s in segments)


def test_cjk_splits_after_sentence_ends() -> None:
    markdown = "这是一个测试。" * 1000
    segments = split_markdown(markdown)
    check_segments(markdown, segments, TELEGRAM_TEXT_LIMIT)
    assert len(segments) == 2
    assert segments[0].markdown.endswith("。")


def test_long_code_block_is_closed_and_reopened_with_its_language() -> None:
    lines = "".join(f"print('line {i}')\n" for i in range(600))
    markdown = f"Intro.\n\n```python\n{lines}```\n\nOutro."
    segments = split_markdown(markdown)
    check_segments(markdown, segments, TELEGRAM_TEXT_LIMIT)
    assert len(segments) == 3
    assert all(s.markdown.startswith("```python\n") for s in segments[1:])
    assert all(s.markdown.endswith("\n```") for s in segments[:-1])
    rendered = [render(s.markdown) for s in segments]
    pres = [e for r in rendered for e in r.entities if e.type == "pre"]
    assert [e.language for e in pres] == ["python"] * 3
    code = "\n".join(entity_text(r, e) for r in rendered for e in r.entities if e.type == "pre")
    assert code == lines.rstrip("\n")


def test_tilde_fence_in_a_quote_is_reopened_as_it_was() -> None:
    markdown = "> ~~~js\n" + "> let x = 1;\n" * 20 + "> ~~~\n"
    segments = split_markdown(markdown, 60)
    check_segments(markdown, segments, 60)
    assert all(s.markdown.startswith("> ~~~js\n") for s in segments[1:])
    assert all(e.language == "js" for s in segments for e in render(s.markdown).entities if e.type == "pre")


@pytest.mark.parametrize(
    ("markdown", "first"),
    [
        ("Alpha beta gamma. Delta epsilon.\nZeta eta theta.\n\nAlpha beta gamma. Delta epsilon.\nZeta eta theta.",
         "Alpha beta gamma. Delta epsilon.\nZeta eta theta."),  # paragraph
        ("Tiny.\n\nAlpha beta gamma. Delta epsilon zeta.\nEta theta iota. Kappa lambda mu nu.",
         "Tiny.\n\nAlpha beta gamma. Delta epsilon zeta."),  # line: the paragraph would fill too little
        ("Alpha beta gamma delta epsilon zeta. Eta theta iota kappa lambda mu nu xi omicron.",
         "Alpha beta gamma delta epsilon zeta."),  # sentence
        ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron",
         "alpha beta gamma delta epsilon zeta eta theta iota kappa"),  # word
        ("a" * 150, "a" * 60),  # hard: a single word longer than a message
    ],
)
def test_boundaries_are_preferred_paragraph_line_sentence_word(markdown: str, first: str) -> None:
    segments = split_markdown(markdown, 60)
    check_segments(markdown, segments, 60)
    assert segments[0].markdown == first


@pytest.mark.parametrize("inline", ["**bold phrase of several words**", "[a link with words](https://example.com)",
                                    "`code span with words`", "_italic phrase of words_"])
def test_inline_entities_are_not_cut(inline: str) -> None:
    markdown = "word " * 14 + inline + " tail" * 20
    segments = split_markdown(markdown, 100)
    check_segments(markdown, segments, 100)
    whole = [entity_text(render(markdown), e) for e in render(markdown).entities]
    parts = [entity_text(r, e) for r in map(render, (s.markdown for s in segments)) for e in r.entities]
    assert parts == whole


@pytest.mark.parametrize(
    ("markdown", "kind", "words"),
    [("**" + " ".join(["bold"] * 50) + "**", "bold", [20, 20, 10]),
     ("[" + "link " * 50 + "](https://example.com)", "text_link", [20, 20, 10]),
     ("> " + "quoted " * 40, "blockquote", [14, 14, 12])],
)
def test_an_entity_longer_than_a_message_is_closed_and_reopened(markdown: str, kind: str, words: list[int]) -> None:
    segments = split_markdown(markdown, 100)
    check_segments(markdown, segments, 100)
    assert [len(render(s.markdown).text.split()) for s in segments] == words
    for rendered in (render(s.markdown) for s in segments):
        assert raw_markers(rendered) == [] and "[" not in rendered.text and ">" not in rendered.text
        (entity,) = rendered.entities
        assert entity.type == kind and entity_text(rendered, entity).strip() == rendered.text.strip()


def test_a_table_longer_than_a_message_repeats_its_header() -> None:
    header = "| name | value |\n|------|-------|\n"
    markdown = header + "".join(f"| row{i} | value{i} |\n" for i in range(40))
    segments = split_markdown(markdown, 300)
    assert segments[-1].end == len(markdown)
    assert all(s.markdown.startswith(header) for s in segments)
    texts = [render(s.markdown).text for s in segments]
    assert all(utf16_len(text) <= 300 for text in texts)
    rows = [[f"row{i}" for i in range(first, last)] for first, last in ((0, 16), (16, 32), (32, 40))]
    assert [re.findall(r"row\d+", text) for text in texts] == rows


def test_a_growing_twenty_thousand_character_answer_splits_at_every_length() -> None:
    answer = (ANSWER * 40)[:20_000]  # how long each split takes: python -m bench.splitter
    for end in range(1000, len(answer) + 1, 1000):
        segments = split_markdown(answer[:end])
        assert segments[-1].end == end
    check_segments(answer, segments, TELEGRAM_TEXT_LIMIT)


WORDS = st.text(string.ascii_letters, min_size=1, max_size=12)
EMOJI_CJK = st.sampled_from(["😀", "👍🏽", "🇺🇦", "❤️", "中文", "测试。", "日本語", "é"])
BREAKS = st.sampled_from([" ", " ", "\n", "\n\n", "```python\n", "\n```\n", ". ", "! "])
MARKUP = st.sampled_from(["**", "`", "_", "~~", "[", "](https://x.io)", "\n# ", "\n> ", "\n1. "])
LIMITS = st.sampled_from([24, 40, 64, 100])


@given(st.lists(st.one_of(WORDS, EMOJI_CJK, BREAKS), max_size=150).map("".join), LIMITS)
@settings(max_examples=300, deadline=None)
@example("AAAAAAAAAA```python\nAAAAAAAA\nA```python\n", 24)  # a ``` code span over lines: not reopened as a fence
def test_segments_fit_increase_and_cover_everything(markdown: str, limit: int) -> None:
    segments = split_markdown(markdown, limit)
    if utf16_len(render(markdown).text) <= limit:
        assert segments == [Segment(markdown, len(markdown))]
    else:
        check_segments(markdown, segments, limit)


@given(st.lists(st.one_of(WORDS, EMOJI_CJK, BREAKS, MARKUP), max_size=150).map("".join), LIMITS)
@settings(max_examples=300, deadline=None)
@example(". **** A", 24)
def test_segments_of_markup_fit_and_show_no_markers(markdown: str, limit: int) -> None:
    """An unmatched marker may read as text in the whole and as markup in a piece (and a list restarts its
    numbering), so only letters must match."""
    segments = split_markdown(markdown, limit)
    rendered = [render(segment.markdown) for segment in segments]
    assert all(rendered.utf16_len() <= limit for rendered in rendered)
    whole = render(markdown)
    literal = "**" in outside_code(whole).replace(" ** ", "")  # the renderer shows "**** A" after ". " as written
    assert all("```" not in outside_code(r) and (literal or "**" not in outside_code(r).replace(" ** ", ""))
               for r in rendered)
    letters = re.compile(r"[^A-Za-zé\u3040-\u9fff]")
    assert letters.sub("", "".join(r.text for r in rendered)) == letters.sub("", whole.text)
