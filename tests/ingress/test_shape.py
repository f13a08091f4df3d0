"""Which JSON the webhook and the poller take as an update: whatever every later step can carry and read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Bot

from bot.ingress.shape import MAX_DEPTH, UpdateRejected, check_update

BOT = Bot("123456:TEST-token")
ANN = {"id": 7, "is_bot": False, "first_name": "Ann", "username": "ann", "language_code": "en"}
PRIVATE = {"id": 7, "type": "private", "first_name": "Ann"}
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Test Bot", "username": "test_bot"}
GROUP = {"id": -1001, "type": "supergroup", "title": "Group", "is_forum": True}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 3, "date": 1_767_225_600, "chat": PRIVATE, "from": ANN, "text": "hello"} | fields


def update(**fields: Any) -> dict[str, Any]:
    return {"update_id": 10, **fields}


TAKEN = {
    "a private message": update(message=message()),
    "a group topic message mentioning the bot, replying with a quote": update(message=message(
        chat=GROUP, message_thread_id=5, is_topic_message=True, text="@test_bot look",
        entities=[{"type": "mention", "offset": 0, "length": 9}],
        reply_to_message=message(message_id=2, chat=GROUP, text="cats rule"),
        quote={"text": "cats", "position": 0, "is_manual": True})),
    "a photo with a caption": update(message=message(text=None, caption="what is it?", photo=[
        {"file_id": "f", "file_unique_id": "u", "width": 90, "height": 90}])),
    "a button press": update(callback_query={"id": "99", "from": ANN, "chat_instance": "7", "data": "stop:10",
                                             "message": message(**{"from": BOT_USER})}),
    "a button press on a message too old to show": update(callback_query={
        "id": "99", "from": ANN, "chat_instance": "7", "data": "stop:10",
        "message": {"message_id": 3, "date": 0, "chat": PRIVATE}}),
    "an anonymous group admin": update(message=message(
        chat=GROUP, sender_chat=GROUP, **{"from": {"id": 1087968824, "is_bot": True, "first_name": "Group"}})),
    "an inline query": update(inline_query={"id": "1", "from": ANN, "query": "", "offset": ""}),
    "a membership change": update(my_chat_member={
        "chat": GROUP, "from": ANN, "date": 1, "old_chat_member": {"status": "left", "user": ANN},
        "new_chat_member": {"status": "member", "user": ANN}}),
    "fields the bot does not read, of any shape": update(message=message(link_preview_options={"a": [[{}]]},
                                                                         via_bot=None, future_field=[1, "x"])),
    "emoji and pairs of surrogates written as escapes": json.loads(
        '{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 7, "type": "private"},'
        ' "text": "\\ud83d\\ude00 \U0001f600 \\u00e9"}}'),
}


@pytest.mark.parametrize("data", TAKEN.values(), ids=TAKEN.keys())
def test_updates_as_telegram_sends_them_are_taken(data: dict[str, Any]) -> None:
    check_update(data, BOT)


def nested(depth: int) -> dict[str, Any]:
    value: Any = []
    for _ in range(depth - 2):
        value = [value]
    return update(message=message(), extra=value)


REJECTED = {
    "a lone surrogate": (json.loads('{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 7, '
                                    '"type": "private"}, "text": "\\ud800"}}'), "lone surrogate"),
    "a lone surrogate in a field the bot does not read": (
        update(message=message(), extra={"x": "\ud800"}), "lone surrogate"),
    "a string chat id": (update(message=message(chat={"id": "7", "type": "private"})), "update.message.chat.id"),
    "a null chat id": (update(message=message(chat={"id": None, "type": "private"})), "update.message.chat.id"),
    "a date past 2**63": (update(message=message(date=2**63)), "update.message.date"),
    "a date of 1e308": (update(message=message(date=1e308)), "update.message.date"),
    "a date past the year 9999": (update(message=message(date=2**40)), "update.message.date"),
    "a negative date": (update(message=message(date=-1)), "update.message.date"),
    "an edit date past 2**63": (update(edited_message=message(edit_date=2**63)), "edited_message.edit_date"),
    "nesting 1,000 deep": (nested(1000), "nested deeper"),
    "nesting just past the limit": (nested(MAX_DEPTH + 1), "nested deeper"),
    "a text of the wrong type": (update(message=message(text=5)), "update.message.text"),
    "a user id as a float": (update(message=message(**{"from": ANN | {"id": 7.0}})), "update.message.from.id"),
    "is_bot as a string": (update(message=message(**{"from": ANN | {"is_bot": "no"}})), "from.is_bot"),
    "an update id that is true": (update(update_id=True), "update.update_id"),
    "an entity offset as a string": (update(message=message(entities=[{"type": "mention", "offset": "0",
                                                                        "length": 9}])), "entities[].offset"),
    "button data that is not a string": (update(callback_query={"id": "1", "from": ANN, "chat_instance": "7",
                                                                "data": 5}), "callback_query.data"),
    "a replied message with a chat that is a list": (
        update(message=message(reply_to_message=message(chat=[7]))), "reply_to_message.chat"),
    "an unknown kind of update that is not an object": (update(surprise=5), "update.*"),
    "a sender of another kind of update with a string id": (
        update(inline_query={"id": "1", "from": ANN | {"id": "7"}, "query": "", "offset": ""}), "from.id"),
    "a message without a chat": (update(message={"message_id": 1, "date": 1}), "update.message.chat: missing"),
    "a list": ([1, 2], "not an object"),
}


@pytest.mark.parametrize(("data", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_json_that_cannot_become_an_update_every_step_can_handle_is_rejected(data: Any, reason: str) -> None:
    with pytest.raises(UpdateRejected) as rejected:
        check_update(data, BOT)
    assert reason in str(rejected.value)


def test_the_reason_names_the_field_but_never_a_value_or_a_key_the_sender_chose() -> None:
    with pytest.raises(UpdateRejected) as rejected:
        check_update(update(message=message(), secret_word="hunter2"), BOT)
    assert "hunter2" not in str(rejected.value) and "secret_word" not in str(rejected.value)


@pytest.mark.parametrize("media", [
    {"photo": [{"file_id": "a", "file_unique_id": "b", "width": [1], "height": 2}]},
    {"photo": {"file_id": "a"}},
    {"document": {"file_id": 5, "file_unique_id": "b"}},
    {"voice": {"file_id": "a", "file_unique_id": "b", "duration": "long"}},
])
def test_an_attachment_of_the_wrong_shape_is_rejected(media: dict[str, object]) -> None:
    body = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, **media}}
    with pytest.raises(UpdateRejected):
        check_update(body, BOT)
