from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Chat, Message, MessageEntity, PhotoSize, User
from telegram._forumtopic import ForumTopicCreated

from bot.telegram.triggers import BotIdentity, addressed_to_bot, strip_mention

ME = BotIdentity(id=999, username="Test_Bot")
BOT_USER = User(999, "Test", is_bot=True, username="Test_Bot")
ANN = User(1, "Ann", is_bot=False, last_name="Lee")
BOB = User(2, "Bob", is_bot=False)
GROUP = Chat(-100, Chat.SUPERGROUP)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def message(text: str | None = None, *, caption: str | None = None, reply_to: Message | None = None,
            extra_entities: list[MessageEntity] | None = None, **kwargs: Any) -> Message:
    entities = list(extra_entities or [])
    body = text if text is not None else caption or ""
    for found in re.finditer(r"@\w+", body):
        entities.append(MessageEntity(MessageEntity.MENTION, found.start(), len(found.group())))
    return Message(1, NOW, GROUP, from_user=ANN, text=text, caption=caption, reply_to_message=reply_to,
                   entities=entities if text is not None else None,
                   caption_entities=entities if text is None else None, **kwargs)


def bot_message() -> Message:
    return Message(5, NOW, GROUP, from_user=BOT_USER, text="an earlier answer")


def topic_created() -> Message:
    return Message(3, NOW, GROUP, from_user=BOT_USER, forum_topic_created=ForumTopicCreated("Topic", 0))


@pytest.mark.parametrize(("msg", "expected"), [
    (message("@Test_Bot what is 2+2?"), "what is 2+2?"),
    (message(caption="@test_bot describe this"), "describe this"),
    (message("hey @TEST_BOT, hi"), "hey , hi"),
    (message("@other_bot what is 2+2?"), None),
    (message("what is 2+2?", reply_to=bot_message()), "what is 2+2?"),
    (message("I agree", reply_to=Message(4, NOW, GROUP, from_user=BOB, text="cats rule")), None),
    (message("in a topic", reply_to=topic_created(), is_topic_message=True, message_thread_id=3), None),
    (message("no mention at all"), None),
    (message("@Test_Bot", extra_entities=[]), "@Test_Bot"),
])
def test_group_trigger_matrix(msg: Message, expected: str | None) -> None:
    addressed = addressed_to_bot(msg, ME)
    assert (addressed.text if addressed else None) == expected


def test_a_text_mention_of_the_bot_counts() -> None:
    msg = message("Test what now", extra_entities=[MessageEntity(MessageEntity.TEXT_MENTION, 0, 4, user=BOT_USER)])
    addressed = addressed_to_bot(msg, ME)
    assert addressed is not None and addressed.text == "Test what now"


def test_a_mention_in_reply_to_someone_else_quotes_that_message() -> None:
    quoted = Message(4, NOW, GROUP, from_user=BOB, text="the earth is flat")
    addressed = addressed_to_bot(message("@Test_Bot is that true?", reply_to=quoted), ME)
    assert addressed is not None
    assert addressed.text == '(Replying to Bob: "the earth is flat")\n\nis that true?'


def test_a_topic_message_mentioning_the_bot_is_answered() -> None:
    msg = message("@Test_Bot hi", reply_to=topic_created(), is_topic_message=True, message_thread_id=3)
    addressed = addressed_to_bot(msg, ME)
    assert addressed is not None and addressed.text == "hi"


def test_strip_mention_keeps_other_names() -> None:
    assert strip_mention("ask @Test_Bot and @test_botanist", ME) == "ask and @test_botanist"


def test_a_mention_after_an_emoji_counts_its_offset_in_utf16_units() -> None:
    msg = Message(1, NOW, GROUP, from_user=ANN, text="😀 @Test_Bot hi",
                  entities=[MessageEntity(MessageEntity.MENTION, 3, 9)])
    addressed = addressed_to_bot(msg, ME)
    assert addressed is not None and addressed.text == "😀 hi"


@pytest.mark.parametrize(("offset", "length"), [(1, 10), (0, 1), (1, 1), (40, 9)])
def test_a_mention_entity_that_splits_a_character_or_misses_the_text_addresses_nobody(offset: int,
                                                                                      length: int) -> None:
    msg = Message(1, NOW, GROUP, from_user=ANN, text="😀@Test_Bot",
                  entities=[MessageEntity(MessageEntity.MENTION, offset, length)])
    assert addressed_to_bot(msg, ME) is None


def test_a_photo_replying_to_the_bot_is_addressed_even_without_a_caption() -> None:
    photo = [PhotoSize("p", "up", 10, 10)]
    addressed = addressed_to_bot(message(photo=photo, reply_to=bot_message()), ME)
    assert addressed is not None and addressed.text == "" and addressed.replied is None
    assert addressed_to_bot(message(photo=photo), ME) is None


def test_a_mention_replying_to_someones_photo_brings_that_photo_along() -> None:
    shared = Message(7, NOW, GROUP, from_user=BOB, photo=[PhotoSize("p", "up", 10, 10)], caption="my garden")
    addressed = addressed_to_bot(message("@Test_Bot what plant is this?", reply_to=shared), ME)
    assert addressed is not None and addressed.replied is shared
    assert addressed.text.endswith("what plant is this?")
    answered_reply = addressed_to_bot(message("thanks", reply_to=bot_message()), ME)
    assert answered_reply is not None and answered_reply.replied is None  # a reply to the bot brings nothing
