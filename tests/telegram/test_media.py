"""Where an answer to a recording or document goes: private chats always, groups only when it is meant for the bot."""

from __future__ import annotations

from typing import Any

from telegram import Message

from bot.telegram.media import addressee, carried
from bot.telegram.triggers import BotIdentity
from bot.telegram.voice import RECORDINGS

ME = BotIdentity(99, "test_bot")


def message(chat: dict[str, Any], **more: Any) -> Message:
    return Message.de_json({"message_id": 5, "date": 0, "chat": chat,
                            "from": {"id": 7, "is_bot": False, "first_name": "Ann"}, **more}, None)


def test_a_private_message_is_answered_with_its_caption() -> None:
    to = addressee(message({"id": 7, "type": "private"}, caption="What is this?"), ME)
    assert to is not None and to.caption == "What is this?" and not to.target.is_group and to.speaker is None


def test_a_group_message_is_answered_when_it_mentions_or_replies_to_the_bot() -> None:
    group = {"id": -100, "type": "supergroup", "title": "G"}
    assert addressee(message(group, caption="just a file"), ME) is None
    mention = message(group, caption="@test_bot read this", caption_entities=[
        {"type": "mention", "offset": 0, "length": 9}])
    to = addressee(mention, ME)
    assert to is not None and to.caption == "read this" and to.speaker == "Ann" and to.target.reply_to == 5
    reply = message(group, reply_to_message={"message_id": 4, "date": 0, "chat": group,
                                             "from": {"id": 99, "is_bot": True, "first_name": "Bot"}})
    assert addressee(reply, ME) is not None


def test_the_attachment_is_the_messages_own_else_the_one_it_replies_to() -> None:
    group = {"id": -100, "type": "supergroup", "title": "G"}
    voice = {"file_id": "V", "file_unique_id": "uV", "duration": 3}
    own = message(group, voice=voice)
    found = carried(own, RECORDINGS)
    assert found is not None and found.file_id == "V"
    asking = message(group, text="@test_bot what does it say?", entities=[{"type": "mention", "offset": 0,
                                                                            "length": 9}],
                     reply_to_message={"message_id": 4, "date": 0, "chat": group, "voice": voice,
                                       "from": {"id": 8, "is_bot": False, "first_name": "Bob"}})
    replied = carried(asking, RECORDINGS)
    assert replied is not None and (replied.file_id, replied.message_id) == ("V", 4)
    to = addressee(asking, ME)
    assert to is not None and to.caption == "what does it say?"
    assert carried(message(group, text="hi"), RECORDINGS) is None
