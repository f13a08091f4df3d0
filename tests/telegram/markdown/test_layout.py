from __future__ import annotations

from bot.telegram.markdown.layout import fence_at, layout

FENCED = "Intro\n\n```python\nprint(1)\nprint(2)\n```\n\nAfter `code` and **bold**.\n"


def test_a_stream_that_stopped_inside_a_fence_knows_how_to_close_and_reopen_it() -> None:
    fence = fence_at("Intro\n\n```python\nprint(1)\n")
    assert fence is not None
    assert fence.opening.strip() == "```python" and fence.closing.strip() == "```"
    assert fence_at(FENCED) is None  # closed: nothing to mend


def test_cuts_inside_code_and_inline_elements_are_known() -> None:
    shape = layout(FENCED)
    inside_code = FENCED.index("print(2)")
    assert any(span.holds(inside_code) for span in shape.fences)
    assert shape.open_at(inside_code)
    assert FENCED.index("bold") in shape.inline
    assert FENCED.index("Intro") + 2 not in shape.inline
