"""Markdown as chat models write it → Telegram text + MessageEntity objects, split to Telegram's 4096 limit.

telegramify-markdown converts; this module removes the markers it leaves in malformed input, completes a half-written
stream, and cuts long answers at good boundaries. pyromark, the parser under telegramify-markdown, tells where fences,
inline elements and tables lie, so a cut agrees with the rendering and what it splits is closed and reopened.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, pairwise

import pyromark
import telegramify_markdown
from telegram import MessageEntity, User
from telegram.constants import MessageEntityType
from telegramify_markdown.converter import STANDARD_OPTIONS

TELEGRAM_TEXT_LIMIT = 4096

_CODE = frozenset({MessageEntityType.CODE, MessageEntityType.PRE})
_TYPES = frozenset(MessageEntityType)
_LINKABLE = re.compile(r"(?:https?|tg|mailto):|[\w-]+\.[\w.-]+(?:[/?#]|$)")
# Markers the converter leaves in malformed input: fences, `**`/`__`/`~~` runs, header hashes at a line start.
_STRAY = re.compile(r"`{3,}|[*_]{2,}|~{2,}|^[ \t]*(?:#{2,}|#(?=[ \t]|$))[ \t]*", re.MULTILINE)
_HALF_MARKER = re.compile(r"(?:(?:\A|(?<=\s))[*_~`]+|(?:\A|\n)[ \t]*#+[ \t]*)\Z")  # `… **`, `… \``, `\n##`
_HALF_LINK = re.compile(r"\[([^\]\n]*)(?:\]\([^)\s]*)?\Z")
_HALF_FENCE = re.compile(r"(?<=\n)[ \t>]*[`~]+\Z")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LONE_BACKTICK = re.compile(r"(?<!`)`(?!`)")
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
class Rendered:
    """Text and entities ready for sendMessage/editMessageText."""

    text: str
    entities: tuple[MessageEntity, ...]

    def utf16_len(self) -> int:
        """Length of the text as Telegram counts it."""
        return utf16_len(self.text)


@dataclass(frozen=True)
class Segment:
    """Markdown for one message, and where its source ends in the original Markdown."""

    markdown: str
    end: int


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return int(telegramify_markdown.utf16_len(text))


def render(markdown: str) -> Rendered:
    """Full Markdown → text + entities, without stray Markdown markers."""
    text, entities = _without_stray_markers(*telegramify_markdown.convert(markdown))
    converted = (_telegram_entity(entity) for entity in entities)
    return Rendered(text, _outermost(entity for entity in converted if entity is not None))


def render_partial(markdown: str) -> Rendered:
    """A growing answer: closes an open code fence or drops a half-written marker at the end, then renders."""
    fence = _fence_at(markdown)
    if fence is None:
        return render(_close_inline(_HALF_LINK.sub(r"\1", _HALF_MARKER.sub("", markdown))))
    body = _HALF_FENCE.sub("", markdown)  # a closing fence still being written
    return render(body + ("" if body.endswith("\n") else "\n") + fence.closing.lstrip("\n"))


def plain(markdown: str) -> str:
    """The rendered text without entities (for when Telegram rejects the formatting)."""
    return render(markdown).text


def reopen_fence(markdown: str) -> str:
    """The fence line to reopen if ``markdown`` ends inside a fenced code block, else ""."""
    fence = _fence_at(markdown)
    return "" if fence is None else fence.opening


def split_markdown(markdown: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[Segment]:
    """Segments that each render within ``limit``, cut at paragraph, line, sentence or word boundaries."""
    length = utf16_len(render(markdown).text)
    if length <= limit:
        return [Segment(markdown, len(markdown))]
    return _Splitter(markdown, limit, length).split()


def _close_inline(markdown: str) -> str:
    """Close inline code and bold left open in the last paragraph, so a stream shows them formatted at once."""
    tail = markdown.rsplit("\n\n", 1)[-1]
    if len(_LONE_BACKTICK.findall(tail)) % 2:
        return markdown + "`"
    if _INLINE_CODE.sub("", tail).count("**") % 2:
        return re.sub(r"(?<!\*)\*\Z", "", markdown.rstrip()) + "**"  # `**bold*` is a closer half written
    return markdown


def _without_stray_markers(
    text: str, entities: list[telegramify_markdown.MessageEntity],
) -> tuple[str, list[telegramify_markdown.MessageEntity]]:
    """Remove Markdown markers the converter left outside code, keeping entities aligned."""
    units = _utf16_offsets(text)
    code = sorted((bisect_left(units, e.offset), bisect_left(units, e.offset + e.length))
                  for e in entities if e.type in _CODE)
    prose = [(end, start) for (_, end), (start, _) in pairwise([(0, 0), *code, (len(text), 0)]) if start > end]
    cuts = [m.span() for lo, hi in prose for m in _STRAY.finditer(text, lo, hi) if _is_stray(text, m)]
    if not cuts:
        return text, entities
    kept = "".join(text[b:a] for (_, b), (a, _) in pairwise([(0, 0), *cuts, (len(text), 0)]))
    spans = [(units[a], units[b]) for a, b in cuts]

    def moved(offset: int) -> int:
        return offset - sum(min(hi, offset) - lo for lo, hi in spans if lo < offset)

    shifted = [e.copy_with(offset=moved(e.offset), length=moved(e.offset + e.length) - moved(e.offset))
               for e in entities]
    return _without_stray_markers(kept, [e for e in shifted if e.length > 0])  # removing may expose more


def _is_stray(text: str, marker: re.Match[str]) -> bool:
    """Whether a marker run is left-over markup: not `2 ** 8`, `snake__case` or a blank to fill in (`____`)."""
    run = marker.group()
    if run[-1] not in "*_~":
        return True
    before = text[marker.start() - 1] if marker.start() else "\n"
    after = text[marker.end()] if marker.end() < len(text) else "\n"
    underscores = set(run) == {"_"} and (len(run) > 3 or (before.isalnum() and after.isalnum()))
    return not (underscores or before == after == " ")


def _outermost(entities: Iterable[MessageEntity]) -> tuple[MessageEntity, ...]:
    """Entities in order, without those nested in one of the same type (`*a *b* c*` yields italic twice)."""
    kept, ends = [], dict[str, int]()
    for entity in sorted(entities, key=lambda e: (e.offset, -e.length)):
        if entity.offset + entity.length > ends.get(entity.type, -1):
            kept.append(entity)
            ends[entity.type] = entity.offset + entity.length
    return tuple(kept)


def _utf16_offsets(text: str) -> Sequence[int]:
    if text.isascii():
        return range(len(text) + 1)
    return list(accumulate((2 if ord(char) > 0xFFFF else 1 for char in text), initial=0))


def _telegram_entity(entity: telegramify_markdown.MessageEntity) -> MessageEntity | None:
    """PTB's entity, or None for what Telegram would reject (unknown types, links without a usable URL)."""
    if entity.type not in _TYPES or (entity.type == MessageEntityType.TEXT_LINK
                                     and not _LINKABLE.match(entity.url or "")):
        return None
    moment = None if entity.unix_time is None else datetime.fromtimestamp(entity.unix_time, UTC)
    user = None if entity.user is None else User.de_json(entity.user, None)
    return MessageEntity(entity.type, entity.offset, entity.length, url=entity.url, user=user,
                         language=entity.language, custom_emoji_id=entity.custom_emoji_id,
                         date_time_format=entity.date_time_format, unix_time=moment)


@dataclass(frozen=True)
class _Span:
    """A construct a cut may fall into: the Markdown that reopens it after the cut and closes it before."""

    opening: str
    closing: str
    body: int  # the first and last offsets at which a cut is inside
    end: int

    def holds(self, offset: int) -> bool:
        return self.body <= offset <= self.end


@dataclass(frozen=True)
class _Layout:
    """Where constructs lie in one Markdown text, for deciding where to cut it and how to mend the pieces."""

    fences: tuple[_Span, ...]
    spans: tuple[_Span, ...]  # inline elements and tables
    inline: frozenset[int]  # offsets strictly inside an inline element or a table: cut there last
    unmendable: frozenset[int]  # those of them where the pieces could not be closed and reopened
    fence_lines: frozenset[int]  # offsets strictly inside a line opening or closing a fence: never cut there
    indented: frozenset[int]  # offsets inside indented code

    def open_at(self, offset: int) -> list[_Span]:
        return [span for span in (*self.fences, *self.spans) if span.holds(offset)]


def _layout(markdown: str) -> _Layout:
    char = _char_offsets(markdown)
    fences: list[_Span] = []
    spans: list[_Span | None] = []
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
    return _Layout(tuple(fences), mendable, _inside(inline), _inside(inline) - held, _inside(lines), _inside(indented))


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


def _fence(markdown: str, start: int, end: int) -> _Span:
    line_start = markdown.rfind("\n", 0, start) + 1
    prefix = re.sub(r"[^>\s]", " ", markdown[line_start:start])  # blockquote marks stay, list markers become indent
    newline = markdown.find("\n", start, end)
    opener = markdown[start : newline if newline >= 0 else end].rstrip()
    marker = opener[: len(opener) - len(opener.lstrip(opener[0]))]
    last = markdown.rfind("\n", start, end) + 1
    closer = markdown[last:end].strip(" \t>")
    closed = 0 <= newline < last and len(closer) >= len(marker) and closer == marker[0] * len(closer)
    body = newline + 1 if newline >= 0 else end + 1
    return _Span(f"{prefix}{opener}\n", f"\n{prefix}{marker}", body, last if closed else end)


def _inline(markdown: str, kind: str, start: int, end: int) -> _Span | None:
    """How to close and reopen an inline element or a table that a cut falls into, when the source shows how."""
    source = markdown[start:end]
    if kind == "Table":
        rows = source.find("\n", source.find("\n") + 1) + 1  # the header and delimiter rows, repeated
        return _Span(source[:rows], "", start + rows, end) if rows else None
    if kind in ("Link", "Image", "InlineMath"):
        text = source.rfind("](")
        return _Span("[", source[text:], start + 1, start + text) if source[0] == "[" and text > 0 else None
    run = len(source) - len(source.lstrip(source[0]))
    marker = source[: {"Code": run, "Emphasis": 1, "Strong": 2}.get(kind, min(run, 2))]
    return _Span(marker, marker, start + len(marker) + 1, end - len(marker) - 1)


def _inside(spans: Iterable[tuple[int, int]]) -> frozenset[int]:
    return frozenset(offset for start, end in spans for offset in range(start + 1, end))


def _fence_at(markdown: str) -> _Span | None:
    return next((fence for fence in _layout(markdown).fences if fence.holds(len(markdown))), None)


def _char_offsets(markdown: str) -> Callable[[int], int]:
    """Maps pyromark's UTF-8 byte offsets to string offsets."""
    if markdown.isascii():
        return lambda offset: offset
    starts = list(accumulate((len(char.encode()) for char in markdown), initial=0))
    return lambda offset: bisect_left(starts, offset)


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
        self._markdown, self._limit, self._layout = markdown, limit, _layout(markdown)
        tiers = [dict(m.span() for m in tier.finditer(markdown) if self._allowed(m, level))
                    for level, tier in enumerate(_TIERS)]  # each cut with the end of the whitespace it drops
        groups = ([{c: g for c, g in tier.items() if c not in avoid} for tier in tiers]
                  for avoid in (self._layout.inline, self._layout.unmendable))
        self._groups = [(sorted(set().union(*tiers)), tiers) for tiers in groups]
        self._lengths: dict[tuple[int, int], int] = {}
        self._units = _utf16_offsets(markdown)
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
