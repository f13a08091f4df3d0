"""Long Markdown → pieces that each render within Telegram's 4096 limit, cut at good boundaries.

A cut prefers a paragraph, then a line, sentence or word break, and avoids inline elements; what it still splits (a
fence, an inline element, a table, a quote) is closed before it and reopened after it, as the layout shows how.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.telegram.markdown.layout import fence_at, layout
from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, render, utf16_len, utf16_offsets

_CJK = "\u2e80-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TIERS = (  # paragraph, line, sentence, word: each match is the whitespace a cut there drops
    re.compile(r"\n(?:[ \t]*\n)+"),
    re.compile(r"\n"),
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)]))[ \t]+|(?<=[。！？])[ \t]*"),
    re.compile(rf"[ \t]+|(?<=[{_CJK}])(?![，。、！？：；）」』】\s])"),
)
# What would read as a new block at the start of a message, so no cut within a line may put it there.
_BLOCK_START = re.compile(r"[`~]{3}|#{1,6}(?:\s|$)|[-+*>](?:\s|$)|\d{1,9}[.)](?:\s|$)|(?:[-*_][ \t]*){3,}$", re.M)
_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$", re.MULTILINE)  # a line cut before it unmakes a setext heading
_NON_SPACE = re.compile(r"\S")
_QUOTE = re.compile(r"(?:[ \t]*>)+[ \t]?")


@dataclass(frozen=True)
class Segment:
    """Markdown for one message, and where its source ends in the original Markdown."""

    markdown: str
    end: int


def reopen_fence(markdown: str) -> str:
    """The fence line to reopen if ``markdown`` ends inside a fenced code block, else ""."""
    fence = fence_at(markdown)
    return "" if fence is None else fence.opening


def split_markdown(markdown: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[Segment]:
    """Segments that each render within ``limit``, cut at paragraph, line, sentence or word boundaries."""
    length = utf16_len(render(markdown).text)
    if length <= limit:
        return [Segment(markdown, len(markdown))]
    return _Splitter(markdown, limit, length).split()


def _breakable(text: str, offset: int) -> bool:
    """Whether a cut at ``offset`` keeps emoji sequences, accented letters and marker runs (```) whole."""
    before, after = text[offset - 1], text[offset]
    if before in "*_`~" and after in "*_`~":
        return False
    joins = after in "\u200d\ufe0e\ufe0f" or "\U0001f3fb" <= after <= "\U0001f3ff" or unicodedata.combining(after)
    flag = "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff"
    return not (joins or flag or before == "\u200d" or "\U000e0020" <= after <= "\U000e007f")


def _last_fitting(cuts: Sequence[int], fits: Callable[[int], bool], guess: int) -> int | None:
    """The last of the sorted ``cuts`` that fits, assuming fitting is monotone: gallop from ``guess``, bisect."""
    low, high, step = -1, len(cuts), 1
    probe = min(max(bisect_right(cuts, guess) - 1, 0), high - 1)
    while low + 1 < high:
        low, high = (probe, high) if fits(cuts[probe]) else (low, probe)
        if high == len(cuts):
            probe = min(low + step, high - 1)
        elif low < 0:
            probe = max(high - step, 0)
        else:
            probe = (low + high) // 2
        step *= 2
    return cuts[low] if low >= 0 else None


class _Splitter:
    """Cuts one Markdown text into segments, rendering each candidate at most once."""

    def __init__(self, markdown: str, limit: int, rendered_length: int) -> None:
        self._markdown, self._limit, self._layout = markdown, limit, layout(markdown)
        tiers = [dict(m.span() for m in tier.finditer(markdown) if self._allowed(m, level))
                    for level, tier in enumerate(_TIERS)]  # each cut with the end of the whitespace it drops
        groups = ([{c: g for c, g in tier.items() if c not in avoid} for tier in tiers]
                  for avoid in (self._layout.inline, self._layout.unmendable))
        self._groups = [(sorted(set().union(*tiers)), tiers) for tiers in groups]
        self._lengths: dict[tuple[int, int], int] = {}
        self._units = utf16_offsets(markdown)
        self._source_per_unit = self._units[-1] / rendered_length  # Markdown markers and URLs do not show

    def _allowed(self, match: re.Match[str], level: int) -> bool:
        """Not inside a fence line, nor where the rest would read differently at the start of a message."""
        misread = (_BLOCK_START if level > 1 else _UNDERLINE).match(self._markdown, match.end()) and level > 0
        return match.start() not in self._layout.fence_lines and not misread

    def split(self) -> list[Segment]:
        segments: list[Segment] = []
        start, end = 0, len(self._markdown)
        while self._length(start, end) > self._limit:
            cut, after = self._cut(start)
            segments.append(Segment(self._source(start, cut), after))
            start = after
        if segments and (start >= end or self._length(start, end) == 0):
            return [*segments[:-1], Segment(segments[-1].markdown, end)]
        return [*segments, Segment(self._source(start, end), end)]

    def _source(self, start: int, cut: int) -> str:
        """Markdown for one message: what a cut at either end falls into is reopened or closed."""
        body = self._markdown[start:cut]
        closing = "".join(s.closing for s in reversed(self._layout.open_at(cut))) if cut < len(self._markdown) else ""
        closing = closing.lstrip("\n") if body.endswith("\n") else closing
        opening = "".join(span.opening for span in self._layout.open_at(start))
        if opening.endswith("\n"):  # a fence line or a table's header rows
            return opening + body + closing
        quote = _QUOTE.match(self._markdown, self._markdown.rfind("\n", 0, start) + 1, start)  # a quoted line cut
        lead = len(body) - len(body.lstrip(" \t>"))  # a quote's `>` goes before what reopens inline
        return (quote.group() if quote else "") + body[:lead] + opening + body[lead:] + closing

    def _length(self, start: int, cut: int) -> int:
        """Rendered length of a candidate segment; 0 when it shows nothing."""
        if (start, cut) not in self._lengths:
            text = render(self._source(start, cut)).text
            self._lengths[start, cut] = utf16_len(text) if text.strip() else 0
        return self._lengths[start, cut]

    def _search(self, start: int, cuts: Sequence[int]) -> int | None:
        """The last of ``cuts`` that fits, first trying where the source itself would reach the limit."""
        guess = bisect_right(self._units, self._units[start] + self._limit * self._source_per_unit) - 1
        return _last_fitting(cuts, lambda cut: self._length(start, cut) <= self._limit, guess)

    def _cut(self, start: int) -> tuple[int, int]:
        """Where the segment from ``start`` ends, and where the next one starts."""
        for group in self._groups:  # boundaries outside inline elements first, then ones that can be mended
            found = self._preferred(start, *group)
            if found is not None:
                return found[0], self._next_start(*found)
        cut = self._hard_cut(start)
        return cut, self._next_start(cut, cut)

    def _preferred(self, start: int, every: list[int], tiers: list[dict[int, int]]) -> tuple[int, int] | None:
        """The best cut by tier (a tier wins when it fills half a message), else the fullest one."""
        bound = self._search(start, every[bisect_right(every, start) :])
        if bound is None:
            return None
        best, best_length = None, 0
        for tier in tiers:
            cuts = list(tier)
            cut = self._search(start, cuts[bisect_right(cuts, start) : bisect_right(cuts, bound)])
            length = self._length(start, cut) if cut is not None else 0
            if cut is not None and length >= self._limit // 2:
                return cut, tier[cut]
            if cut is not None and length > best_length:
                best, best_length = (cut, tier[cut]), length
        return best

    def _hard_cut(self, start: int) -> int:
        """The last resort, within a word: the longest prefix that fits, outside inline elements if it can be."""
        longest = self._search(start, range(start + 1, len(self._markdown))) or start + 1
        for avoid in (self._layout.inline, self._layout.unmendable, frozenset[int]()):
            cut = next((c for c in range(longest, start, -1) if c not in avoid and self._hard_cut_allowed(start, c)),
                       None)
            if cut is not None:
                return cut
        return longest

    def _hard_cut_allowed(self, start: int, cut: int) -> bool:
        """Keeps emoji sequences, accented letters, marker runs and fence lines whole; starts no new block."""
        misread = _BLOCK_START.match(self._markdown, self._next_start(cut, cut))
        whole = cut not in self._layout.fence_lines and _breakable(self._markdown, cut) and not misread
        return whole and 0 < self._length(start, cut) <= self._limit

    def _next_start(self, cut: int, gap: int) -> int:
        """Code keeps its indentation at the start of the next segment; elsewhere leading whitespace goes."""
        if any(fence.holds(gap) for fence in self._layout.fences):
            return gap
        found = _NON_SPACE.search(self._markdown, cut)
        start = found.start() if found else len(self._markdown)
        if start in self._layout.indented:
            return max(self._markdown.rfind("\n", 0, start) + 1, gap)
        return start
