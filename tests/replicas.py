"""Two webhook replicas told apart by their model, as the chaos test and bench/chaos.py run them.

Each replica asks the fake model for its own model id, so a model request names the replica that sent it; each
has answered once before the test goes on (a first answer waits for the SDK to load, and a replica loading it on a
busy machine may miss a heartbeat: its updates would look abandoned to the other).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bot.domain.chat import ChatKey
from bot.domain.transcript import Turn
from tests.bot_process import BotProcess
from tests.e2e import KEYS, World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

MODELS = ("gpt-4o-mini", "gpt-4o")


@contextmanager
def two_replicas(w: World, settings: dict[str, str], warm_up_chat: int) -> Iterator[list[BotProcess]]:
    """Both replicas started, then warmed up with chats from ``warm_up_chat`` on; stopped at the end, including
    those that replaced a killed one in the list."""
    replicas = [BotProcess(w.env(**settings, OPENAI_MODEL=model)) for model in MODELS]
    with ExitStack() as stack:
        stack.callback(_stop, replicas)
        for replica in replicas:
            replica.launch()
        for replica in replicas:
            replica.wait_healthy()
        _warm_up(w, replicas, warm_up_chat)
        yield replicas


def _stop(replicas: list[BotProcess]) -> None:
    for replica in replicas:
        replica.__exit__(None, None, None)


def _warm_up(w: World, replicas: list[BotProcess], first_chat: int) -> None:
    w.model.default = lambda body: Reply("warm")
    for chat in range(first_chat, first_chat + 20):
        if {r["model"] for r in w.model.chat_requests()} == set(MODELS):
            return
        assert replicas[chat % 2].post(w.telegram.make_update(f"warm up {chat}", chat_id=chat)).status_code == 200
        wait_for(lambda: w.telegram.texts(chat) == ["warm"], what="a warm-up answer")  # noqa: B023


def replica_of(replicas: list[BotProcess], body: dict[str, Any]) -> BotProcess:
    """The replica that sent this model request."""
    return next(r for r in replicas if r.env["OPENAI_MODEL"] == body["model"])


def restarted(w: World, victim: BotProcess, settings: dict[str, str]) -> BotProcess:
    """A new process in the killed ``victim``'s place: its model and port (not yet started)."""
    return BotProcess(w.env(**settings, OPENAI_MODEL=victim.env["OPENAI_MODEL"]), port=victim.port)


def chat_of(body: dict[str, Any]) -> int:
    """The chat a model request is for: its questions end with the chat id."""
    return int(body["messages"][-1]["content"].split()[-1])


def history(w: World, chat: int) -> list[tuple[str, str]]:
    """The chat's stored turns as (role, content)."""
    stored = w.store.lrange(KEYS.turns(ChatKey(chat)), 0, -1)
    return [(turn.role, turn.content) for turn in (Turn.from_json(str(raw)) for raw in stored)]
