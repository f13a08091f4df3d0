"""Text the bot shows above an answer: what it heard, as a quote, or a short note in italics."""

from __future__ import annotations

from telegram import MessageEntity

from bot.telegram.markdown.render import Rendered, utf16_len

# Longer quotes start collapsed (Telegram's expandable blockquote), so the answer stays in view.
EXPANDABLE_AFTER = 300
# The most of a transcript shown above an answer (the answer needs room in the same 4096): the rest is cut at a
# word and marked with an ellipsis; the model and the history have all of it.
QUOTE_LIMIT = 2500


def quoted(text: str) -> Rendered:
    """The text as a quote: a blockquote, or an expandable one when it is long."""
    kind = MessageEntity.EXPANDABLE_BLOCKQUOTE if len(text) > EXPANDABLE_AFTER else MessageEntity.BLOCKQUOTE
    shown = shortened(text.strip(), QUOTE_LIMIT)
    return Rendered(shown, (MessageEntity(kind, 0, utf16_len(shown)),))


def italic(text: str) -> Rendered:
    """A note in italics."""
    return Rendered(text, (MessageEntity(MessageEntity.ITALIC, 0, utf16_len(text)),))


def shortened(text: str, limit: int) -> str:
    """The text within ``limit`` UTF-16 units, cut at a word break with "…" when it is longer."""
    if utf16_len(text) <= limit:
        return text
    cut = text[: limit - 1]
    while utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    head = cut.rsplit(None, 1)[0] if " " in cut[len(cut) // 2:] else cut
    return head.rstrip() + "…"


def joined(first: Rendered, second: Rendered) -> Rendered:
    """Two rendered texts, a blank line apart, entities kept in place."""
    if not second.text:
        return first
    offset = utf16_len(first.text + "\n\n")
    moved = tuple(MessageEntity(e.type, e.offset + offset, e.length, url=e.url, user=e.user, language=e.language,
                                custom_emoji_id=e.custom_emoji_id) for e in second.entities)
    return Rendered(f"{first.text}\n\n{second.text}", first.entities + moved)
