"""Chaos benchmark: two webhook replicas answer 100 chats at once; one is SIGKILLed at a bad moment, then restarted.

    python -m bench.chaos [--chats 100] [--rounds 6] [--seed 1]

Real `python -m bot` processes (default settings: INGRESS_CLAIM_IDLE_SECONDS=10, TELEGRAM_MESSAGES_PER_SECOND=30),
one real redis-server, the fake Bot API and OpenAI servers of tests/ (threads of this process, on 127.0.0.1). Each
round, every chat asks once (half the updates posted to each replica; either may take any from the stream), the
answers stream for 1.5-4 s, and the replicas take turns being the victim, killed at one of these moments (in turn):

- at random, 0.2-5 s after the updates were posted (first messages going out, mid-stream, or ending);
- the instant one of its model streams sent [DONE] (its answer may not be stored yet);
- once one of its answers is stored but its final text not yet delivered (the message still shows ⏹ Stop).

The victim is started again on its port at once. Printed per round and in total: chats whose answer was lost
(not shown in full, or not in history exactly once), answered twice (a second message with the whole answer),
stale partial messages left behind (the one case nothing can take over: a replica killed while its first
sendMessage was in flight never learnt that message's id), model requests for an answer already stored, and the
longest time from the kill (or from its question, for a chat that asked after it) until a chat's answer went on
(a replica took it over), and until it was complete.
"""

from __future__ import annotations

import argparse
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.bot_process import API_KEY, TOKEN, BotProcess
from tests.e2e import KEYS, World
from tests.fake_openai import Behaviour, FakeOpenAI, Reply
from tests.fake_telegram import FakeTelegram
from tests.http_fake import wait_for
from tests.redis_server import running_redis
from tests.replicas import chat_of, history, restarted, two_replicas

FILLER = " ".join(["lorem"] * 40)
DEFAULTS = {"STREAM_EDIT_INTERVAL": "1", "STREAM_GROUP_EDIT_INTERVAL": "3"}  # (tests/e2e.py's are shorter)
MOMENTS = ("at random", "right after a stream ended", "stored, not delivered")


def answer_of(chat: int) -> str:
    return f"Answer for {chat}: {FILLER}"


@dataclass
class Round:
    """One round's chats, the victim, and what happened."""

    world: World
    chats: list[int]
    victim: BotProcess
    moment: str
    updates: dict[int, int] = field(default_factory=dict)
    repeated: list[int] = field(default_factory=list)
    killed_at: float | None = None
    posted: dict[int, float] = field(default_factory=dict)
    resets: int = 0  # webhook posts that failed (the replica was down): posted to the other, as Telegram would
    lock: threading.Lock = field(default_factory=threading.Lock)

    def behaviour(self, body: dict[str, Any]) -> Behaviour:
        chat = chat_of(body)
        if chat not in self.updates:
            return Reply("warm")
        if self.world.store.exists(KEYS.done(self.updates[chat])):
            self.repeated.append(chat)
        return Reply(answer_of(chat), chunk=6, delay=random.uniform(0.04, 0.1))

    def kill(self) -> None:
        with self.lock:
            if self.killed_at is None and self.victim.process is not None:
                self.victim.process.send_signal(signal.SIGKILL)
                self.killed_at = time.monotonic()

    def on_finished(self, body: dict[str, Any]) -> None:
        if body["model"] != self.victim.env["OPENAI_MODEL"] or self.killed_at is not None:
            return
        if self.moment == MOMENTS[1]:
            self.kill()
        elif self.moment == MOMENTS[2]:
            chat = chat_of(body)
            threading.Thread(target=self._kill_once_stored, args=(chat,), daemon=True).start()

    def _kill_once_stored(self, chat: int) -> None:
        deadline = time.monotonic() + 5
        while not self.world.store.exists(KEYS.done(self.updates[chat])) and time.monotonic() < deadline:
            time.sleep(0.002)
        if any(not m.final for m in self.world.telegram.messages(chat)):
            self.kill()


@dataclass
class Figures:
    lost: int = 0
    twice: int = 0
    stale: int = 0
    repeated: int = 0
    worst: float = 0.0
    resumed: float = 0.0  # the longest a chat showed no change after the kill
    resets: int = 0

    def add(self, other: Figures) -> None:
        self.lost += other.lost
        self.twice += other.twice
        self.stale += other.stale
        self.repeated += other.repeated
        self.worst = max(self.worst, other.worst)
        self.resumed = max(self.resumed, other.resumed)
        self.resets += other.resets


def play(w: World, replicas: list[BotProcess], chats: list[int], victim: int, moment: str) -> Figures:
    """One round; the victim is replaced by its restarted process in ``replicas``."""
    run = Round(w, chats, replicas[victim], moment)
    w.model.default = run.behaviour
    w.model.on_finished = run.on_finished
    for index, chat in enumerate(chats):
        update = w.telegram.make_update(f"question {chat}", chat_id=chat)
        run.updates[chat] = update["update_id"]
        run.resets += _post(replicas, index, update)
        run.posted[chat] = time.monotonic()
    if moment == MOMENTS[0]:
        time.sleep(random.uniform(0.2, 5.0))
        run.kill()
    wait_for(lambda: run.killed_at is not None, timeout=60, what="the kill")
    assert run.victim.process is not None and run.killed_at is not None
    run.victim.process.wait(timeout=10)
    replicas[victim] = restarted(w, run.victim, DEFAULTS)
    replicas[victim].start()
    wait_for(lambda: all(_final(w, c) for c in chats), timeout=120, what="every answer")
    wait_for(lambda: w.unacknowledged() == 0, timeout=60, what="every update acknowledged")
    return _figures(w, run, run.killed_at)


def _figures(w: World, run: Round, killed_at: float) -> Figures:
    figures = Figures(repeated=len(run.repeated), resets=run.resets)
    for chat in run.chats:
        messages = w.telegram.messages(chat, include_deleted=True)
        whole = [m for m in messages if m.text == answer_of(chat) and m.final and not m.deleted]
        stored = history(w, chat)
        figures.lost += not whole or stored != [("user", f"question {chat}"), ("assistant", answer_of(chat))]
        figures.twice += len(whole) > 1
        figures.stale += sum(1 for m in messages if not m.final and not m.deleted)
        since = max(killed_at, run.posted[chat])  # a chat may have asked only after the kill
        if whole:
            figures.worst = max(figures.worst, whole[0].history[-1][0] - since)
        changes = [at for m in messages for at, _ in m.history if at > since]
        figures.resumed = max(figures.resumed, min(changes, default=since) - since)
    return figures


def _post(replicas: list[BotProcess], index: int, update: dict[str, Any]) -> int:
    """Post an update as Telegram behind a load balancer would: a replica that is down (or resets the connection)
    gets it again on a new connection to the other one. Returns how many posts failed so."""
    try:
        assert replicas[index % 2].post(update).status_code == 200
    except httpx.TransportError:
        other = replicas[(index + 1) % 2]
        other.http.close()
        other.http = httpx.Client(base_url=f"http://127.0.0.1:{other.port}", timeout=10)
        assert other.post(update).status_code == 200
        return 1
    return 0


def _final(w: World, chat: int) -> bool:
    return any(m.final for m in w.telegram.messages(chat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    total = Figures()
    with running_redis() as url, FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        w = World(telegram, model, url)
        w.store.flushdb()
        with two_replicas(w, DEFAULTS, warm_up_chat=9_000_000) as replicas:
            for number in range(args.rounds):
                chats = [10_000 * (number + 1) + i for i in range(args.chats)]
                moment = MOMENTS[number % len(MOMENTS)]
                figures = play(w, replicas, chats, number % 2, moment)
                total.add(figures)
                print(f"round {number + 1} (killed {moment}): {_line(figures)}", flush=True)
        w.store.close()
    print(f"\n{args.rounds} rounds of {args.chats} chats, one SIGKILL each: {_line(total)}")


def _line(f: Figures) -> str:
    return (f"lost {f.lost}, answered twice {f.twice}, stale partial messages {f.stale}, model requests repeated "
            f"for a stored answer {f.repeated}; after the kill, the longest a chat waited for its answer to go on "
            f"{f.resumed:.1f} s, to be complete {f.worst:.1f} s; webhook posts refused (sent to the other "
            f"replica) {f.resets}")


if __name__ == "__main__":
    main()
