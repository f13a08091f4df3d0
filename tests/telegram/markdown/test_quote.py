from __future__ import annotations

from telegram import MessageEntity

from bot.telegram.markdown.quote import QUOTE_LIMIT, italic, joined, quoted, shortened
from bot.telegram.markdown.render import Rendered, utf16_len


def test_a_short_transcript_is_a_blockquote_and_a_long_one_an_expandable_one() -> None:
    short = quoted(" Buy milk. ")
    assert short == Rendered("Buy milk.", (MessageEntity(MessageEntity.BLOCKQUOTE, 0, 9),))
    long = quoted("word " * 100)
    assert long.entities[0].type == MessageEntity.EXPANDABLE_BLOCKQUOTE
    assert long.entities[0].length == utf16_len(long.text)


def test_a_very_long_transcript_is_cut_at_a_word_with_an_ellipsis() -> None:
    shown = quoted("слово 🙂 " * 1000).text
    assert utf16_len(shown) <= QUOTE_LIMIT and shown.endswith("🙂…")
    assert shortened("abc", 3) == "abc"


def test_joined_texts_keep_their_entities_in_place() -> None:
    both = joined(quoted("Hi 🙂"), Rendered("bold", (MessageEntity(MessageEntity.BOLD, 0, 4),)))
    assert both.text == "Hi 🙂\n\nbold"
    assert [(e.type, e.offset, e.length) for e in both.entities] == [("blockquote", 0, 5), ("bold", 7, 4)]
    assert joined(italic("note"), Rendered("", ())) == italic("note")
