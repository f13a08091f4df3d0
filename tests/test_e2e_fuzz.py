"""Fuzzing the real process's webhook: a few thousand bodies, most of them almost an update Telegram would send.

Against the running ``python -m bot`` (not the Starlette app in-process): a connection reset is uvicorn's doing,
and what an accepted body does next happens in the stream's consumer, PTB's handlers and the reply sink, which
only the whole process runs. Every body goes over one keep-alive connection, as Telegram sends them.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from tests.bot_process import BotProcess
from tests.e2e import Connection, World, world
from tests.http_fake import wait_for

BODIES = 2000
STRANGE_TEXT = ["", " ", "²", "😀", "😀@test_bot", "@test_bot", "@TEST_BOT hi", "/start", "/help", "/reset",
                "/usage", "/privacy", "/persona", "/persona pirate", "/persona " + "x" * 600, "stop:", "stop:²",
                "stop:" + "9" * 5000, "persona:", "persona:default", "persona:nobody", "\u202e", "\x00", "a" * 5000]
STRANGE_NUMBERS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 253_402_300_800]

Template = Callable[[int], dict[str, Any]]
Mutation = tuple[int, str, Any]  # (which node, what to do, the new value)


def _user(uid: int, **more: Any) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "Fuzz", **more}


def _message(n: int, chat: dict[str, Any], text: str | None = "hello", sender: dict[str, Any] | None = None,
             **more: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": 1_767_225_600, "chat": chat, "from": sender or _user(10_000 + n), "text": text,
            **more}


def _private(n: int) -> dict[str, Any]:
    return {"id": 10_000 + n, "type": "private", "first_name": "Fuzz"}


def _group(n: int) -> dict[str, Any]:
    return {"id": -10_000 - n, "type": "supergroup", "title": "Fuzz", "is_forum": True}


def _command(length: int) -> dict[str, Any]:
    return {"type": "bot_command", "offset": 0, "length": length}


MENTION = {"type": "mention", "offset": 0, "length": 9}
BOT = {"id": 123456, "is_bot": True, "first_name": "Bot", "username": "test_bot"}
# Updates the bot answers with a turn of the model: the costly kind, so one near update in five is one of them.
ANSWERED: list[Template] = [
    lambda n: {"message": _message(n, _private(n))},
    lambda n: {"message": _message(n, _group(n), "@test_bot hi", entities=[MENTION])},
    lambda n: {"message": _message(n, _group(n), "@test_bot in a topic", entities=[MENTION], message_thread_id=4,
                                   is_topic_message=True)},
    lambda n: {"message": _message(n, _group(n), "and you?", reply_to_message=_message(
        n, _group(n), "earlier", message_id=1, sender=BOT), quote={"text": "earl", "position": 0})},
    lambda n: {"message": _message(n, _private(n), caption="what is this?", text=None, photo=[
        {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}])},
]
OTHERS: list[Template] = [
    lambda n: {"message": _message(n, _private(n), "/persona", entities=[_command(8)])},
    lambda n: {"message": _message(n, _private(n), "/help", entities=[_command(5)])},
    lambda n: {"message": _message(n, _group(n), "no mention here")},
    lambda n: {"message": _message(n, _private(n), sender=BOT | {"id": 10_000 + n})},
    lambda n: {"edited_message": _message(n, _private(n), edit_date=1_767_225_601)},
    lambda n: {"callback_query": {"id": str(n), "from": _user(10_000 + n), "chat_instance": "1",
                                  "data": f"stop:{n}", "message": _message(n, _private(n), sender=BOT)}},
    lambda n: {"callback_query": {"id": str(n), "from": _user(10_000 + n), "chat_instance": "1",
                                  "data": "persona:default", "message": _message(n, _private(n), sender=BOT)}},
    lambda n: {"callback_query": {"id": str(n), "from": _user(10_000 + n), "chat_instance": "1",
                                  "data": "stop:1", "inline_message_id": "AAE"}},
    lambda n: {"inline_query": {"id": str(n), "from": _user(10_000 + n), "query": "hi", "offset": ""}},
    lambda n: {"my_chat_member": {"chat": _group(n), "from": _user(10_000 + n), "date": 1,
                                  "old_chat_member": {"status": "left", "user": _user(1)},
                                  "new_chat_member": {"status": "member", "user": _user(1)}}},
]
templates = st.sampled_from([*[OTHERS] * 4, ANSWERED]).flatmap(st.sampled_from)

leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from(STRANGE_NUMBERS),
                   st.floats(), st.text(max_size=12), st.sampled_from(STRANGE_TEXT))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["id", "text", "chat", "from", "date", "type", "offset", "length", "data", "x"]) | st.text(
        max_size=6), inner, max_size=3), max_leaves=6)
mutations = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["replace", "delete", "add"]), values),
                     max_size=3)


def _nodes(value: Any, found: list[tuple[Any, Any]] | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value, parents before children."""
    found = [] if found is None else found
    keys = value.keys() if isinstance(value, dict) else range(len(value)) if isinstance(value, list) else []
    for key in list(keys):
        found.append((value, key))
        _nodes(value[key], found)
    return found


def _mutated(data: dict[str, Any], changes: tuple[Mutation, ...]) -> dict[str, Any]:
    for where, action, new in changes:
        nodes = _nodes(data)
        if not nodes:
            break
        container, key = nodes[where % len(nodes)]
        if action == "replace":
            container[key] = copy.deepcopy(new)
        elif action == "delete" and isinstance(container, dict):
            del container[key]
        elif isinstance(container[key], dict):
            container[key][f"x{where}"] = copy.deepcopy(new)
    return data


@dataclass(frozen=True)
class NearUpdate:
    """A Telegram-like update with up to three fields replaced, removed or added, written in one of JSON's ways."""

    template: Template
    changes: tuple[Mutation, ...]
    ascii: bool

    def render(self, n: int) -> bytes:
        data = _mutated({"update_id": n, **self.template(n)}, self.changes)
        return json.dumps(data, ensure_ascii=self.ascii).encode("utf-8", errors="surrogatepass")


@dataclass(frozen=True)
class Broken:
    """What no JSON library writes: lone surrogates, deep nesting, cut-off or non-UTF-8 bodies; or other JSON."""

    kind: str
    detail: Any

    def render(self, n: int) -> bytes:
        good = json.dumps({"update_id": n, "message": _message(n, _private(n), "PLACEHOLDER", extra="NEST")})
        if self.kind == "surrogate":
            return good.replace("PLACEHOLDER", f"a{self.detail}b").encode()
        if self.kind == "deep":
            return good.replace('"NEST"', "[" * self.detail + "]" * self.detail).encode()
        if self.kind == "cut":
            return good.encode()[: self.detail % len(good)]
        if self.kind == "bytes":
            return good.replace("PLACEHOLDER", "\udcff").encode("utf-8", errors="surrogateescape")
        return json.dumps(self.detail).encode()


Body = NearUpdate | Broken


def _itself(strategy: st.SearchStrategy[Body]) -> st.SearchStrategy[Body]:
    return strategy


near_updates: st.SearchStrategy[Body] = st.builds(NearUpdate, templates, mutations.map(tuple), st.booleans())
broken: st.SearchStrategy[Body] = st.one_of(
    st.builds(Broken, st.just("surrogate"),
              st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "\\ude00\\ud83d", "\\ud83d\\ude00"])),
    st.builds(Broken, st.just("deep"), st.integers(1, 5000)),
    st.builds(Broken, st.just("cut"), st.integers(0, 10_000)),
    st.builds(Broken, st.just("bytes"), st.none()),
    st.builds(Broken, st.just("other"), values),
)
# Three in four almost updates. Drawn apart from the update ids the test hands out, so any example replays.
bodies: st.SearchStrategy[Body] = st.sampled_from([near_updates, near_updates, near_updates, broken]).flatmap(
    _itself)
BATCH = 5  # bodies per example: hypothesis spends less per body on a batch than on single ones


def _chat_of(body: bytes) -> int | None:
    """The chat an accepted update is about (None: it has none)."""
    for kind, value in json.loads(body).items():
        holder = value.get("message") if kind == "callback_query" and isinstance(value, dict) else value
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None


def _log_entries(bot: BotProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bot.log().splitlines() if line.startswith("{")]


@pytest.fixture
def env(redis_url: str) -> Iterator[tuple[World, BotProcess]]:
    Redis.from_url(redis_url).flushdb()
    with world(redis_url) as w, w.bot(LOG_FORMAT="json", USER_MESSAGES_PER_MINUTE="0",
                                      TELEGRAM_MESSAGES_PER_SECOND="1000") as bot:
        yield w, bot


def test_fuzzed_bodies_get_no_5xx_no_traceback_keep_the_connection_and_leave_no_calls_behind(
    env: tuple[World, BotProcess],
) -> None:
    w, bot = env
    connection, ids = Connection(bot), itertools.count(1)
    accepted: list[int | None] = []

    @settings(max_examples=BODIES // BATCH, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(bodies, min_size=BATCH, max_size=BATCH))
    def post(batch: list[Body]) -> None:
        for body in batch:
            content = body.render(next(ids))
            status = connection.post(content)  # fails if the connection was closed under it
            assert status in (200, 400)
            if status == 200:
                accepted.append(_chat_of(content))

    post()
    wait_for(lambda: w.unacknowledged() == 0, timeout=60, what="every accepted update handled")
    normal = w.telegram.make_update("are you still there?", chat_id=1) | {"update_id": next(ids)}
    assert connection.post(normal) == 200
    wait_for(lambda: "Echo: are you still there?" in w.telegram.texts(1), what="a normal message answered")
    wait_for(lambda: w.unacknowledged() == 0, what="the normal message handled")
    connection.close()

    entries = _log_entries(bot)
    alarming = [e for e in entries if e["level"] in ("WARNING", "ERROR", "CRITICAL")
                and ("exception" in e or e["level"] != "WARNING")]
    assert alarming == []
    assert {e["message"].split(":")[0] for e in entries if e["level"] == "WARNING"} <= {"webhook body rejected"}
    assert _calls_after_turns(w, entries, accepted) == []
    assert len(accepted) > BODIES // 10  # the fuzz reached the handlers, not only the checks


def _calls_after_turns(w: World, entries: list[dict[str, Any]], accepted: list[int | None]) -> list[str]:
    """Bot API calls for a chat after its (only) turn had finished, by the bot's own log of that moment."""
    wall_minus_monotonic = time.time() - time.monotonic()
    once = {chat for chat in accepted if chat is not None and accepted.count(chat) == 1}
    ended = {int(e["chat"].split(":")[0]): datetime.fromisoformat(e["time"]).timestamp()
             for e in entries if e["message"].startswith("turn finished") and "chat" in e}
    late = []
    for call in w.telegram.calls:
        chat = call.params.get("chat_id")
        if chat in once and chat in ended and call.at + wall_minus_monotonic > ended[chat] + 0.05:
            late.append(f"{call.method} for chat {chat}")
    return late
