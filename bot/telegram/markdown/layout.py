"""Where fences, inline elements and tables lie in Markdown, as pyromark sees it.

pyromark is the parser under telegramify-markdown, so this agrees with the rendering. The splitter uses it to cut where
the rendering allows and to close and reopen what a cut splits; the renderer, to close a fence a stream left open.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

import pyromark
from telegramify_markdown.converter import STANDARD_OPTIONS


@dataclass(frozen=True)
class Span:
    """A construct a cut may fall into: the Markdown that reopens it after the cut and closes it before."""

    opening: str
    closing: str
    body: int  # the first and last offsets at which a cut is inside
    end: int

    def holds(self, offset: int) -> bool:
        """Whether a cut at ``offset`` falls inside."""
        return self.body <= offset <= self.end


@dataclass(frozen=True)
class Layout:
    """Where constructs lie in one Markdown text, for deciding where to cut it and how to mend the pieces."""

    fences: tuple[Span, ...]
    spans: tuple[Span, ...]  # inline elements and tables
    inline: frozenset[int]  # offsets strictly inside an inline element or a table: cut there last
    unmendable: frozenset[int]  # those of them where the pieces could not be closed and reopened
    fence_lines: frozenset[int]  # offsets strictly inside a line opening or closing a fence: never cut there
    indented: frozenset[int]  # offsets inside indented code

    def open_at(self, offset: int) -> list[Span]:
        """The fences, inline elements and tables a cut at ``offset`` falls into, outermost first."""
        return [span for span in (*self.fences, *self.spans) if span.holds(offset)]


def layout(markdown: str) -> Layout:
    """Parse ``markdown`` once and record where its constructs lie."""
    char = _char_offsets(markdown)
    fences: list[Span] = []
    spans: list[Span | None] = []
    inline: list[tuple[int, int]] = []
    lines: list[tuple[int, int]] = []
    indented: list[tuple[int, int]] = []
    for event, source in pyromark.events_with_range(markdown, options=STANDARD_OPTIONS):
        start, end, kind = char(source["start"]), char(source["end"]), _kind(event)
        if kind == "Fenced":
            fences.append(_fence(markdown, start, end))
            lines += [(start, fences[-1].body), (fences[-1].end, end)]
        elif kind == "Indented":
            indented.append((start - 1, end))
        elif kind in ("Strong", "Emphasis", "Strikethrough", "Link", "Table", "Code", "Image", "InlineMath"):
            spans.append(_inline(markdown, kind, start, end))
            inline.append((start, end))
    mendable = tuple(span for span in spans if span is not None)
    held = _inside((span.body - 1, span.end + 1) for span in mendable)
    return Layout(tuple(fences), mendable, _inside(inline), _inside(inline) - held, _inside(lines), _inside(indented))


def fence_at(markdown: str) -> Span | None:
    """The fenced code block ``markdown`` ends inside, if any."""
    return next((fence for fence in layout(markdown).fences if fence.holds(len(markdown))), None)


def _kind(event: pyromark.event.Event) -> str:
    """What an event starts: "Fenced" or "Indented" code, "Strong", "Link", "Table", "Code"…, or ""."""
    match event:
        case {"Start": {"CodeBlock": {"Fenced": _}}}:
            return "Fenced"
        case {"Start": {"CodeBlock": _}}:
            return "Indented"
        case {"Start": str(tag)}:
            return tag
        case {"Start": dict(tag)} | ({"Code": _} | {"InlineMath": _} as tag):
            return str(next(iter(tag)))
    return ""


def _fence(markdown: str, start: int, end: int) -> Span:
    line_start = markdown.rfind("\n", 0, start) + 1
    prefix = re.sub(r"[^>\s]", " ", markdown[line_start:start])  # blockquote marks stay, list markers become indent
    newline = markdown.find("\n", start, end)
    opener = markdown[start : newline if newline >= 0 else end].rstrip()
    marker = opener[: len(opener) - len(opener.lstrip(opener[0]))]
    last = markdown.rfind("\n", start, end) + 1
    closer = markdown[last:end].strip(" \t>")
    closed = 0 <= newline < last and len(closer) >= len(marker) and closer == marker[0] * len(closer)
    body = newline + 1 if newline >= 0 else end + 1
    return Span(f"{prefix}{opener}\n", f"\n{prefix}{marker}", body, last if closed else end)


def _inline(markdown: str, kind: str, start: int, end: int) -> Span | None:
    """How to close and reopen an inline element or a table that a cut falls into, when the source shows how."""
    source = markdown[start:end]
    if kind == "Table":
        rows = source.find("\n", source.find("\n") + 1) + 1  # the header and delimiter rows, repeated
        return Span(source[:rows], "", start + rows, end) if rows else None
    if kind in ("Link", "Image", "InlineMath"):
        text = source.rfind("](")
        return Span("[", source[text:], start + 1, start + text) if source[0] == "[" and text > 0 else None
    run = len(source) - len(source.lstrip(source[0]))
    if kind == "Code" and run >= 3:  # reopened at the start of a message, ``` would open a fenced block instead
        return None
    marker = source[: {"Code": run, "Emphasis": 1, "Strong": 2}.get(kind, min(run, 2))]
    return Span(marker, marker, start + len(marker) + 1, end - len(marker) - 1)


def _inside(spans: Iterable[tuple[int, int]]) -> frozenset[int]:
    return frozenset(offset for start, end in spans for offset in range(start + 1, end))


def _char_offsets(markdown: str) -> Callable[[int], int]:
    """Maps pyromark's UTF-8 byte offsets to string offsets."""
    if markdown.isascii():
        return lambda offset: offset
    starts = list(accumulate((len(char.encode()) for char in markdown), initial=0))
    return lambda offset: bisect_left(starts, offset)
