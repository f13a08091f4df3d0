from __future__ import annotations

import re

import pytest
from telegram import MessageEntity

from bot.telegram.markdown.render import Rendered, render, render_partial, utf16_len
from tests.markdown_samples import ANSWER, entity_text, outside_code, raw_markers


def formatted(rendered: Rendered) -> set[tuple[str, str]]:
    return {(entity.type, entity_text(rendered, entity)) for entity in rendered.entities}


# --- render -------------------------------------------------------------------------------------------------------


def test_headers_bold_italic_code_and_links_render_as_entities_without_markers() -> None:
    rendered = render("# Title\n\nSome **bold**, _italic_, `code` and a [link](https://example.com).")
    assert not re.search(r"[#*_`\[\]]", rendered.text)
    assert {("bold", "Title"), ("underline", "Title"), ("bold", "bold"), ("italic", "italic"), ("code", "code"),
            ("text_link", "link")} <= formatted(rendered)
    assert all(isinstance(entity, MessageEntity) for entity in rendered.entities)
    assert next(e.url for e in rendered.entities if e.type == "text_link") == "https://example.com"


def test_code_block_keeps_its_language_and_literal_asterisks() -> None:
    rendered = render("Run:\n\n```python\nprint(2 ** 8, '**kept**')\n```")
    (pre,) = [e for e in rendered.entities if e.type == "pre"]
    assert pre.language == "python"
    assert entity_text(rendered, pre) == "print(2 ** 8, '**kept**')"


def test_offsets_count_utf16_units() -> None:
    rendered = render("😀😀 **bold**")
    (bold,) = rendered.entities
    assert (bold.offset, bold.length) == (5, 4)
    assert rendered.utf16_len() == utf16_len(rendered.text) == 9


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("unclosed **bold", "unclosed bold"),
        ("**a** and **b", "a and b"),
        ("##No space heading", "No space heading"),
        ("####### seven hashes", "seven hashes"),
        ("text ```inline fence", "text inline fence"),
        ("```python\nprint(1)", "print(1)"),
        ("**bold\n\nnew paragraph**", "bold\n\nnew paragraph"),
        ("__dunder start", "dunder start"),
    ],
)
def test_malformed_markdown_loses_its_stray_markers(markdown: str, text: str) -> None:
    assert render(markdown).text == text


@pytest.mark.parametrize(
    "markdown",
    ["** spaced **", "**bold *ital** x*", "***x", "**`code**`", "*__mixed**__*", "[**link](https://x.io)**",
     "## \n##\n#", "> quote **open\n\n- item **open\n- next", "```\nunclosed fence **inside", "a ``` b ``` c ```",
     "| a | **b |\n|---|---|\n| c | d** |", "~~~\n```\n~~~\n```"],
)
def test_malformed_markdown_never_shows_markers_outside_code(markdown: str) -> None:
    assert raw_markers(render(markdown)) == []


def test_entities_stay_aligned_after_markers_are_removed() -> None:
    for markdown, bold in [("x **y **z**", "z"), ("😀 **x **y**", "y"), ("##a **b**", "b"), ("__open ____ **b**", "b")]:
        rendered = render(markdown)
        assert [entity_text(rendered, e) for e in rendered.entities if e.type == "bold"] == [bold], markdown


@pytest.mark.parametrize(
    ("markdown", "text"),
    [("x ** 2 is x squared", "x ** 2 is x squared"), ("`**kept**`", "**kept**"), ("#hashtag stays", "#hashtag stays"),
     ("snake__case_name", "snake__case_name"), ("```\n## kept\n```", "## kept")],
)
def test_markers_that_are_not_markup_are_kept(markdown: str, text: str) -> None:
    assert render(markdown).text == text


def test_links_telegram_would_reject_become_plain_text() -> None:
    rendered = render("[relative](/docs/page) and [absolute](https://example.com)")
    assert formatted(rendered) == {("text_link", "absolute")}


def test_same_kind_nested_entities_are_merged() -> None:
    rendered = render("**bold *ital** x*")
    assert [e.type for e in rendered.entities] == ["italic"]




# --- render_partial -------------------------------------------------------------------------------------------------


def test_every_prefix_of_an_answer_renders_without_raw_markers() -> None:
    for end in range(len(ANSWER) + 1):
        rendered = render_partial(ANSWER[:end])
        assert raw_markers(rendered) == [], ANSWER[:end]
        assert not re.search(r"(^|\s)[*_`]+$", outside_code(rendered).rstrip()), ANSWER[:end]
    assert render_partial(ANSWER) == render(ANSWER)


@pytest.mark.parametrize(
    ("markdown", "text", "entity"),
    [
        ("```python\nprint(1)", "print(1)", ("pre", "print(1)")),
        ("```python\nprint(1)\n``", "print(1)", ("pre", "print(1)")),
        ("Here is **bo", "Here is bo", ("bold", "bo")),
        ("Here is **bold*", "Here is bold", ("bold", "bold")),
        ("Run `pip ins", "Run pip ins", ("code", "pip ins")),
        ("see [the docs](https://exa", "see the docs", None),
        ("text **", "text", None),
        ("text\n\n##", "text", None),
    ],
)
def test_partial_states_render_as_they_will_end(markdown: str, text: str, entity: tuple[str, str] | None) -> None:
    rendered = render_partial(markdown)
    assert rendered.text == text
    assert formatted(rendered) == ({entity} if entity else set())


def test_partial_code_block_keeps_its_language() -> None:
    (pre,) = render_partial("Look:\n\n```rust\nfn main() {").entities
    assert pre.language == "rust"
