"""Markdown as models write it → Telegram text + MessageEntity objects, split to Telegram's 4096 limit.

telegramify-markdown does the conversion (entities with UTF-16 offsets, so nothing needs escaping); this
module removes markers it leaves in malformed input, and splits long answers at good boundaries of the
Markdown source, closing and reopening a code fence cut in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import telegramify_markdown
from telegram import MessageEntity

TELEGRAM_TEXT_LIMIT = 4096

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})([^\n`]*)$", re.MULTILINE)
_STRAY = re.compile(r"\*\*|```|^#{1,6}(?=\s)", re.MULTILINE)
_TRAILING_MARKER = re.compile(r"(\*{1,3}|_{1,3}|~{1,2}|`{1,2}|\[[^\]\n]*)$")
_CODE_TYPES = {MessageEntity.CODE, MessageEntity.PRE}
_TIERS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?;:。！？])[ \t]+"), re.compile(r"[ \t]+"))


@dataclass(frozen=True)
class Rendered:
    """Text and entities ready for sendMessage/editMessageText."""

    text: str
    entities: tuple[MessageEntity, ...]

    def utf16_len(self) -> int:
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
    text, entities = telegramify_markdown.convert(markdown, latex_escape=True)
    text, entities = _without_stray_markers(text, list(entities))
    return Rendered(text, tuple(_telegram_entity(e) for e in entities))


def render_partial(markdown: str) -> Rendered:
    """A growing answer: closes an open code fence and drops a half-written marker at the end, then renders."""
    closed = markdown + ("\n```" if reopen_fence(markdown) else "")
    if not reopen_fence(markdown):
        closed = _TRAILING_MARKER.sub("", closed)
    return render(closed)


def plain(markdown: str) -> str:
    """The rendered text without entities (for when Telegram rejects the formatting)."""
    return render(markdown).text


def reopen_fence(markdown: str) -> str:
    """The fence line to reopen if ``markdown`` ends inside a fenced code block, else ""."""
    opening: re.Match[str] | None = None
    for fence in _FENCE.finditer(markdown):
        if opening is None:
            opening = fence
        elif fence.group(1)[0] == opening.group(1)[0] and len(fence.group(1)) >= len(opening.group(1)) \
                and not fence.group(2).strip():
            opening = None
    return "" if opening is None else f"{opening.group(1)}{opening.group(2)}\n"


def split_markdown(markdown: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[Segment]:
    """Segments that each render within ``limit``, cut at paragraph, line, sentence or word boundaries."""
    segments: list[Segment] = []
    start, carry = 0, ""
    while True:
        rest = markdown[start:]
        if _fits(carry + rest, limit):
            if (carry + rest).strip() and rest.strip():
                segments.append(Segment(carry + rest, len(markdown)))
            elif segments:
                segments[-1] = Segment(segments[-1].markdown, len(markdown))
            return segments
        cut = _best_cut(carry, rest, limit)
        head = carry + rest[:cut]
        reopen = reopen_fence(head)
        closing = "\n" + re.match(r"[`~]+", reopen).group() if reopen else ""  # type: ignore[union-attr]
        segments.append(Segment(head.rstrip() + closing, start + cut))
        start, carry = start + cut, reopen
        while start < len(markdown) and markdown[start] in "\n":
            start += 1


def _fits(markdown: str, limit: int) -> bool:
    return utf16_len(render(markdown).text) <= limit


def _best_cut(carry: str, rest: str, limit: int) -> int:
    """The cut in ``rest`` (an offset) at the most preferred boundary that fits and fills the message well."""
    for tier in _TIERS:
        cut = _largest_fitting(carry, rest, list(_candidates(rest, tier)), limit)
        if cut is not None and (tier is _TIERS[-1] or utf16_len(render(carry + rest[:cut]).text) >= limit // 2):
            return cut
    hard = _largest_fitting(carry, rest, list(range(1, len(rest))), limit)
    return hard or 1


def _candidates(rest: str, tier: re.Pattern[str]) -> Iterator[int]:
    for match in tier.finditer(rest):
        cut = match.start() if tier.pattern.startswith("\\n") else match.end()
        if 0 < cut < len(rest) and not _inside_inline(rest, cut):
            yield cut


def _largest_fitting(carry: str, rest: str, cuts: list[int], limit: int) -> int | None:
    """Binary search: rendered length grows with the cut."""
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        head = carry + rest[: cuts[middle]]
        if _fits(head + ("\n```" if reopen_fence(head) else ""), limit):
            best, low = cuts[middle], middle + 1
        else:
            high = middle - 1
    return best


def _inside_inline(text: str, cut: int) -> bool:
    """Whether a cut would fall inside bold, inline code or a link of its line."""
    line = text[text.rfind("\n", 0, cut) + 1 : cut]
    if _FENCE.match(text, text.rfind("\n", 0, cut) + 1) or reopen_fence(text[:cut]):
        return False
    return line.count("**") % 2 == 1 or line.count("`") % 2 == 1 or line.count("[") > line.count("]")


def _without_stray_markers(
    text: str, entities: list[telegramify_markdown.MessageEntity],
) -> tuple[str, list[telegramify_markdown.MessageEntity]]:
    """Remove Markdown markers the converter left in the text (malformed input), keeping entities aligned."""
    offsets = _utf16_offsets(text)
    protected = [(e.offset, e.offset + e.length) for e in entities if e.type in _CODE_TYPES]
    cuts = [m.span() for m in _STRAY.finditer(text)
            if not any(lo <= offsets[m.start()] < hi for lo, hi in protected)]
    if not cuts:
        return text, entities
    keep = [True] * len(text)
    for lo, hi in cuts:
        for index in range(lo, hi + (1 if hi < len(text) and text[lo] == "#" else 0)):
            keep[index] = False
    new_offsets, position = [], 0
    for index, char in enumerate(text):
        new_offsets.append(position)
        position += (2 if ord(char) > 0xFFFF else 1) if keep[index] else 0
    new_offsets.append(position)
    by_unit = {offsets[i]: new_offsets[i] for i in range(len(text) + 1)}
    moved = [e.copy_with(offset=by_unit[e.offset], length=by_unit[e.offset + e.length] - by_unit[e.offset])
             for e in entities]
    return "".join(c for c, k in zip(text, keep, strict=True) if k), [e for e in moved if e.length > 0]


def _utf16_offsets(text: str) -> list[int]:
    offsets, position = [], 0
    for char in text:
        offsets.append(position)
        position += 2 if ord(char) > 0xFFFF else 1
    offsets.append(position)
    return offsets


def _telegram_entity(entity: telegramify_markdown.MessageEntity) -> MessageEntity:
    return MessageEntity(entity.type, entity.offset, entity.length, url=entity.url, language=entity.language,
                         custom_emoji_id=entity.custom_emoji_id)
