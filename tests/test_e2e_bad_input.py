"""End to end: bad input never becomes a 500, a dropped connection or a "Sorry" — from Telegram's side (bodies,
buttons, entities, senders) and from the model server's (odd chunks, a page that is not a stream, refused keys)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis

from bot.domain.outcome import Failure
from bot.telegram import texts
from tests.bot_process import BotProcess
from tests.e2e import Connection, World, world
from tests.fake_openai import Error, Page, Reply
from tests.http_fake import wait_for

MARKER = "my-private-words"  # in every bad body: it must never reach the log


@dataclass
class Running:
    """The world and one bot process shared by this module's tests (each uses chats of its own)."""

    world: World
    bot: BotProcess
    log_start: int = 0

    def log(self) -> str:
        """What the bot logged since the current test began."""
        return self.bot.log()[self.log_start:]


@pytest.fixture(scope="module")
def running(redis_url: str) -> Iterator[Running]:
    Redis.from_url(redis_url).flushdb()
    with world(redis_url) as w, w.bot(USER_MESSAGES_PER_MINUTE="0") as bot:
        yield Running(w, bot)


@pytest.fixture
def env(running: Running) -> Running:
    running.world.model.clear()
    running.log_start = len(running.bot.log())
    return running


@pytest.fixture
def w(env: Running) -> World:
    return env.world


@pytest.fixture
def connection(env: Running) -> Iterator[Connection]:
    held = Connection(env.bot)
    yield held
    held.close()


def finals(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.final]


def sorry_anywhere(w: World) -> bool:
    return any(texts.SORRY in call.params.get("text", "") for call in w.telegram.calls)


def problems(text: str) -> list[str]:
    """Log lines an operator would be alarmed by: errors and tracebacks."""
    return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


def private(w: World, chat_id: int, **message: Any) -> dict[str, Any]:
    update = w.telegram.make_update("hello", chat_id=chat_id)
    update["message"] |= message
    return update


def raw(update_id: int, message: str) -> str:
    """A message update written by hand, so it can hold what json.dumps would not write."""
    return (f'{{"update_id": {update_id}, "message": {{"message_id": 1, "date": 1767225600, '
            f'"chat": {{"id": 5, "type": "private", "first_name": "Ann"}}, '
            f'"from": {{"id": 5, "is_bot": false, "first_name": "Ann"}}, {message}}}}}')


def test_bodies_that_cannot_become_an_update_are_400_and_the_connection_keeps_serving(
    env: Running, w: World, connection: Connection,
) -> None:
    bad = [
        raw(9001, f'"text": "{MARKER} \\ud800"'),
        json.dumps(private(w, 51, text=MARKER, chat={"id": "51", "type": "private"})),
        json.dumps(private(w, 52, text=MARKER, chat={"id": None, "type": "private"})),
        json.dumps(private(w, 53, text=MARKER, date=2**63)),
        json.dumps(private(w, 54, text=MARKER, date=1e308)),
        raw(9002, f'"text": "{MARKER}", "x": ' + "[" * 1000 + "]" * 1000),
        json.dumps(private(w, 55, text=5, caption=MARKER)),
    ]
    for body in bad:
        assert connection.post(body) == 400
        assert connection.post(w.telegram.make_update("still there?", chat_id=56)) == 200
    wait_for(lambda: len(finals(w, 56)) == len(bad), what="an answer after every bad body")
    assert set(finals(w, 56)) == {"Echo: still there?"}
    lines = env.log()
    rejected = [line for line in lines.splitlines() if "webhook body rejected" in line]
    assert len(rejected) == len(bad) and all(" WARNING bot.ingress.web: " in line for line in rejected)
    assert MARKER not in lines and problems(lines) == []
    assert not sorry_anywhere(w)


def test_button_data_that_is_not_ours_is_answered_and_ignored(
    env: Running, w: World, connection: Connection,
) -> None:
    chat = 61
    w.telegram.make_update("hi", chat_id=chat)
    presses = [w.telegram.make_callback_update(data, chat_id=chat, user_id=chat, message_id=1)
               for data in ("stop:²", "stop:" + "9" * 5000, "stop:", "stop:-1", "menu:open", "persona:")]
    presses[-1]["callback_query"]["message"] = {"message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"}}
    for press in presses:
        assert connection.post(press) == 200
    wait_for(lambda: len(w.telegram.calls_of("answerCallbackQuery")) >= len(presses), what="every press answered")
    answered = sorted(c.params["callback_query_id"] for c in w.telegram.calls_of("answerCallbackQuery"))
    assert answered == sorted(p["callback_query"]["id"] for p in presses)
    assert w.telegram.texts(chat) == [] and not sorry_anywhere(w)
    assert problems(env.log()) == []


def test_a_mention_entity_that_splits_a_character_addresses_nobody_and_says_no_sorry(
    env: Running, w: World, connection: Connection,
) -> None:
    group, mention = -1062, {"type": "mention", "offset": 1, "length": 9}
    split = w.telegram.make_update("😀@test_bot hi", chat_id=group, chat_type="supergroup", entities=[mention])
    whole = w.telegram.make_update("😀 @test_bot hi", chat_id=group, chat_type="supergroup",
                                   entities=[mention | {"offset": 3}])
    assert connection.post(split) == 200 and connection.post(whole) == 200
    wait_for(lambda: finals(w, group), what="the answer to the whole mention")  # the chat's updates run in order
    assert finals(w, group) == ["Echo: Ann: 😀 hi"]
    assert not sorry_anywhere(w) and problems(env.log()) == []


def test_a_command_whose_message_is_gone_before_the_reply_is_answered_unquoted(
    env: Running, w: World, connection: Connection,
) -> None:
    group = -1065
    command = w.telegram.make_update("/help", chat_id=group, chat_type="supergroup")
    command["message"]["message_id"] = 999  # a message the Bot API no longer has: deleted by its sender
    assert connection.post(command) == 200
    wait_for(lambda: finals(w, group), what="the help text")
    assert finals(w, group) == [texts.HELP] and not sorry_anywhere(w)
    assert problems(env.log()) == []


def test_updates_from_bots_are_ignored_but_a_group_speaking_through_its_stand_in_is_not(
    env: Running, w: World, connection: Connection,
) -> None:
    from_bot = private(w, 71, text="loop?", **{"from": {"id": 71, "is_bot": True, "first_name": "Other bot"}})
    group = -1072
    anonymous = w.telegram.make_update("@test_bot hi from an admin", chat_id=group, chat_type="supergroup",
                                       entities=[{"type": "mention", "offset": 0, "length": 9}])
    anonymous["message"] |= {"from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                                      "username": "GroupAnonymousBot"},
                             "sender_chat": anonymous["message"]["chat"]}
    human = w.telegram.make_update("a person now", chat_id=71)
    for update in (from_bot, anonymous, human):
        assert connection.post(update) == 200
    wait_for(lambda: finals(w, 71) and finals(w, group), what="the person's and the group's answers")
    assert finals(w, 71) == ["Echo: a person now"] and finals(w, group) == ["Echo: Group: hi from an admin"]
    asked = [m["content"] for r in w.model.chat_requests() for m in r["messages"] if m["role"] == "user"]
    assert "loop?" not in asked
    edit = {**anonymous["message"], "text": "@test_bot hi again", "edit_date": anonymous["message"]["date"] + 5}
    assert connection.post({"update_id": anonymous["update_id"] + 1000, "edited_message": edit}) == 200
    wait_for(lambda: finals(w, group) == ["Echo: Group: hi again"], what="the edited question answered in place")


def test_odd_chunks_mid_answer_are_skipped_and_the_answer_is_shown_and_stored(
    env: Running, w: World, connection: Connection,
) -> None:
    chat = 81
    odd = ({"choices": [{"index": 0, "delta": "surprise", "finish_reason": None}]},
           {"choices": [{"index": 0, "delta": {"content": [{"type": "text", "text": "parts"}]}}]},
           {"choices": [], "usage": {"prompt_tokens": None, "completion_tokens": None}})
    w.model.script(Reply("All is well here.", usage=False, odd_chunks=odd))
    assert connection.post(w.telegram.make_update("how are things?", chat_id=chat)) == 200
    wait_for(lambda: finals(w, chat), what="the answer")
    assert finals(w, chat) == ["All is well here."]
    assert connection.post(w.telegram.make_update("and now?", chat_id=chat)) == 200
    wait_for(lambda: len(finals(w, chat)) == 2, what="the second answer")
    history = [(m["role"], m["content"]) for m in w.model.chat_requests()[-1]["messages"][1:]]
    assert history[:2] == [("user", "how are things?"), ("assistant", "All is well here.")]
    skipped = [line for line in env.log().splitlines() if "model stream: skipped a chunk" in line]
    assert len(skipped) == 1 and " WARNING " in skipped[0]
    assert problems(env.log()) == []


def test_a_200_that_is_not_an_event_stream_is_the_usual_model_error(
    env: Running, w: World, connection: Connection,
) -> None:
    chat = 82
    w.model.script(Page(), Page(), Page())
    assert connection.post(w.telegram.make_update("hello?", chat_id=chat)) == 200
    wait_for(lambda: finals(w, chat), what="the failure notice")
    assert finals(w, chat) == [texts.FAILURES[Failure.UNAVAILABLE]]
    assert problems(env.log()) == []


def test_refused_credentials_say_the_bot_is_not_set_up_and_log_one_error(
    env: Running, w: World, connection: Connection,
) -> None:
    w.model.script(Error(401, code="invalid_api_key"), Error(403))
    assert connection.post(w.telegram.make_update("hello?", chat_id=83)) == 200
    assert connection.post(w.telegram.make_update("hello?", chat_id=84)) == 200
    wait_for(lambda: finals(w, 83) and finals(w, 84), what="the notices")
    assert finals(w, 83) == finals(w, 84) == [texts.FAILURES[Failure.MISCONFIGURED]]
    errors = [line for line in env.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "refused the bot's credentials" in errors[0]
    assert "rephras" not in texts.FAILURES[Failure.MISCONFIGURED]


def test_the_allowlist_also_stops_strangers_updates_without_a_chat(redis_url: str) -> None:
    elsewhere = redis_url.rsplit("/", 1)[0] + "/1"  # apart from the module's bot, which shares the server
    Redis.from_url(elsewhere).flushdb()
    with world(elsewhere) as w, w.bot(ALLOWED_USER_IDS="7") as bot:
        held = Connection(bot)
        for user in (8, 7):  # a stranger, then a listed user, pressing Stop under an inline message
            press = {"update_id": 900 + user, "callback_query": {
                "id": f"q{user}", "chat_instance": "1", "inline_message_id": "AAE", "data": "stop:5",
                "from": {"id": user, "is_bot": False, "first_name": "Someone"}}}
            assert held.post(press) == 200
        wait_for(lambda: len(w.telegram.calls_of("answerCallbackQuery")) == 2, what="both presses answered")
        held.close()
    answers = {c.params["callback_query_id"]: c.params.get("text") for c in w.telegram.calls_of("answerCallbackQuery")}
    assert answers == {"q8": texts.NOT_ALLOWED, "q7": texts.ALREADY_FINISHED}
