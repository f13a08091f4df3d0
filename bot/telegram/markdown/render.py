"""Markdown as chat models write it → Telegram text + MessageEntity objects.

telegramify-markdown converts; this module removes the markers it leaves in malformed input, completes a half-written
stream, and keeps only entities Telegram accepts. Splitting long answers to the limit lives in ``splitter``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, pairwise

import telegramify_markdown
from telegram import MessageEntity, User
from telegram.constants import MessageEntityType

from bot.telegram.markdown.layout import fence_at

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


@dataclass(frozen=True)
class Rendered:
    """Text and entities ready for sendMessage/editMessageText."""

    text: str
    entities: tuple[MessageEntity, ...]

    def utf16_len(self) -> int:
        """Length of the text as Telegram counts it."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return int(telegramify_markdown.utf16_len(text))


def utf16_offsets(text: str) -> Sequence[int]:
    """Where each character starts in UTF-16 code units, and the total length last."""
    if text.isascii():
        return range(len(text) + 1)
    return list(accumulate((2 if ord(char) > 0xFFFF else 1 for char in text), initial=0))


def render(markdown: str) -> Rendered:
    """Full Markdown → text + entities, without stray Markdown markers."""
    text, entities = _without_stray_markers(*telegramify_markdown.convert(markdown))
    converted = (_telegram_entity(entity) for entity in entities)
    return Rendered(text, _outermost(entity for entity in converted if entity is not None))


def render_partial(markdown: str) -> Rendered:
    """A growing answer: closes an open code fence or drops a half-written marker at the end, then renders."""
    fence = fence_at(markdown)
    if fence is None:
        return render(_close_inline(_HALF_LINK.sub(r"\1", _HALF_MARKER.sub("", markdown))))
    body = _HALF_FENCE.sub("", markdown)  # a closing fence still being written
    return render(body + ("" if body.endswith("\n") else "\n") + fence.closing.lstrip("\n"))


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
    units = utf16_offsets(text)
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
