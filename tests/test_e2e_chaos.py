"""End to end chaos: two webhook replicas answering many chats; one is SIGKILLed at a bad moment and restarted.

The bad moment: the instant one of its model streams ended (its [DONE] sent: the answer may or may not be stored
yet). Every message is answered once, in the message it started in, stored once, and the model is never asked
again for an answer that was already stored. (tests/test_e2e_delivery.py kills a replica once an answer is stored
but not delivered; bench/chaos.py does both with 100 chats, and at random moments, and prints the figures.)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.bot_process import BotProcess
from tests.e2e import KEYS, World
from tests.fake_openai import Behaviour, Reply
from tests.http_fake import wait_for
from tests.replicas import chat_of, history, replica_of, restarted, two_replicas

CHATS = list(range(4000, 4012))
FILLER = " ".join(["lorem"] * 30)
# A short claim idle keeps the test quick; under 2 s, a replica stalled on a loaded machine could miss a heartbeat.
SETTINGS = {"INGRESS_CLAIM_IDLE_SECONDS": "2", "STREAM_EDIT_INTERVAL": "0.5", "TELEGRAM_MESSAGES_PER_SECOND": "300"}


def answer_of(chat: int) -> str:
    return f"Answer for {chat}: {FILLER}"


@dataclass
class Chaos:
    """The replicas, the update each chat sent, and what the fake model saw."""

    world: World
    replicas: list[BotProcess]
    updates: dict[int, int] = field(default_factory=dict)  # chat -> update_id
    repeated: list[int] = field(default_factory=list)  # chats whose model request came after their answer was stored
    killed: threading.Event = field(default_factory=threading.Event)
    victim: BotProcess | None = None

    def behaviour(self, body: dict[str, Any]) -> Behaviour:
        """Answers that stream 1-2 s (each chat its own length); notes a request for an answer already stored."""
        chat = chat_of(body)
        if chat not in self.updates:
            return Reply("warm")
        if self.world.store.exists(KEYS.done(self.updates[chat])):
            self.repeated.append(chat)
        return Reply(answer_of(chat), chunk=6, delay=0.03 + 0.003 * CHATS.index(chat))

    def recorded(self, model: str) -> bool:
        """Every answer the replica asking ``model`` started has its first message out and its id recorded (a
        replica killed while its first sendMessage is in flight leaves a message no replica ever learnt of: the one
        case nothing can take over)."""
        asked = {chat_of(body) for body in self.world.model.chat_requests() if body["model"] == model}
        return all(self.world.recorded_messages(self.updates[chat]) for chat in asked if chat in self.updates)

    def kill(self, victim: BotProcess) -> None:
        if not self.killed.is_set() and victim.process is not None:
            self.victim = victim
            self.killed.set()
            victim.process.send_signal(signal.SIGKILL)


def right_after_a_stream_ended(chaos: Chaos) -> Callable[[dict[str, Any]], None]:
    """Kill a replica the moment one of its streams has sent [DONE], once the first messages of the answers it
    started are recorded. Either replica may be the one: the first to read the stream may take every update."""
    def ended(body: dict[str, Any]) -> None:
        if chat_of(body) in chaos.updates and chaos.recorded(body["model"]):
            chaos.kill(replica_of(chaos.replicas, body))
    return ended


def test_a_replica_killed_right_after_a_stream_ended_loses_repeats_and_regenerates_nothing(env: World) -> None:
    with two_replicas(env, SETTINGS, warm_up_chat=4900) as processes:
        chaos = Chaos(env, processes)
        env.model.default = chaos.behaviour
        env.model.on_finished = right_after_a_stream_ended(chaos)
        for index, chat in enumerate(CHATS):  # either replica may take any update from the stream
            update = env.telegram.make_update(f"question {chat}", chat_id=chat)
            chaos.updates[chat] = update["update_id"]
            assert processes[index % 2].post(update).status_code == 200
        wait_for(chaos.killed.is_set, what="the kill")
        victim = chaos.victim
        assert victim is not None and victim.process is not None
        survivor = next(r for r in processes if r is not victim)
        victim.process.wait(timeout=10)
        with restarted(env, victim, SETTINGS) as replacement:
            wait_for(lambda: all(_final(env, c) for c in CHATS), timeout=30, what="every answer")
            wait_for(lambda: env.unacknowledged() == 0, what="every update acknowledged")
            logs = survivor.log() + replacement.log()
    assert chaos.repeated == []  # no answer generated twice
    for chat in CHATS:  # one message each, showing the whole answer without its Stop button; stored once
        messages = env.telegram.messages(chat, include_deleted=True)
        assert [(m.text, m.final) for m in messages] == [(answer_of(chat), True)]
        assert history(env, chat) == [("user", f"question {chat}"), ("assistant", answer_of(chat))]
    assert "Traceback" not in logs and "never retrieved" not in logs


def _final(w: World, chat: int) -> bool:
    return any(m.final for m in w.telegram.messages(chat))

