"""End to end on a Sentinel-managed Redis: the primary is killed (SIGKILL) while 20 chats are answering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError

from bot.domain.chat import ChatKey
from bot.domain.transcript import Turn
from tests.bot_process import BotProcess
from tests.e2e import KEYS, World, world
from tests.fake_openai import Behaviour, Reply
from tests.http_fake import wait_for
from tests.redis_server import SentinelSet, running_sentinels

CHATS = list(range(3000, 3020))
FILLER = " ".join(["lorem"] * 40)
PHASES = ("before", "during", "after")


@pytest.fixture
def env() -> Iterator[tuple[World, SentinelSet]]:
    with running_sentinels() as cluster, world(cluster.url) as w:
        w.model.default = _answer
        yield w, cluster


def _answer(body: dict[str, Any]) -> Behaviour:
    """Quick echoes; the answers running when the primary dies stream for 2 to 6 s (the switch takes about 3 s),
    so some of them end, and are stored, while there is no master."""
    asked = body["messages"][-1]["content"]
    if asked.startswith("during"):
        return Reply(_reply(asked), chunk=6, delay=0.045 + 0.005 * CHATS.index(int(asked.split()[1])))
    return Reply(_reply(asked))


def _reply(asked: str) -> str:
    return f"Answer to {asked}: {FILLER}" if asked.startswith("during") else f"Echo: {asked}"


class Probe(threading.Thread):
    """Counts on the primary itself as fast as it answers, until it dies: the last count it acknowledged."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.acknowledged = 0

    def run(self) -> None:
        with Redis(port=self.port, socket_timeout=2) as primary:
            try:
                while True:
                    self.acknowledged = int(primary.incr("probe"))
            except (RedisError, OSError):
                return


def test_killing_the_primary_mid_answer_loses_and_repeats_no_answer(env: tuple[World, SentinelSet]) -> None:
    w, cluster = env
    with w.bot(TELEGRAM_MESSAGES_PER_SECOND="300") as bot:
        _ask(w, bot, "before")
        wait_for(lambda: all(len(_complete(w, c)) == 1 for c in CHATS), what="the first answers")
        _ask(w, bot, "during")
        wait_for(lambda: all(_streaming(w, c) for c in CHATS), what="every answer streaming")
        probe = Probe(cluster.primary_port)
        probe.start()
        wait_for(lambda: probe.acknowledged > 2000, what="the probe counting")  # at full speed when the kill comes
        cluster.kill_primary()
        assert all(_streaming(w, c) for c in CHATS), "the kill should have happened mid-answer"
        probe.join(5)
        _ask(w, bot, "after")  # during the switch: each webhook call waits for the new master, then queues
        wait_for(lambda: all(len(_complete(w, c)) == len(PHASES) for c in CHATS), timeout=40, what="every answer")
        wait_for(lambda: w.unacknowledged() == 0, what="every update acknowledged")
        log = bot.log()
    assert cluster.master_port() == cluster.replica_port
    for chat in CHATS:  # each message answered once, in order, and nothing else said
        assert w.telegram.texts(chat) == [_reply(f"{phase} {chat}") for phase in PHASES]
    histories = {chat: _history(w, chat) for chat in CHATS}
    assert all(_well_formed(turns, chat) for chat, turns in histories.items())
    # What asynchronous replication lost: counts the dead primary acknowledged that never reached the replica, and
    # turns committed before the kill (after it, every commit goes to the new master and must all be there).
    # (A count may also be applied and replicated without its reply reaching the probe: sent again, it would count
    # twice, as would any write a client retries after its connection broke.)
    kept = int(w.store.get("probe") or 0)
    lost_turns = sum(len(PHASES) - len(turns) // 2 for turns in histories.values())
    print(f"\nfailover: {max(0, probe.acknowledged - kept)} of {probe.acknowledged} acknowledged writes lost, "
          f"{max(0, kept - probe.acknowledged)} applied unacknowledged, {lost_turns} turns lost")
    assert all(turns[-4:] == _turns(chat, PHASES[1:]) for chat, turns in histories.items())
    # The operator reads that the master moved, and nothing else: no command failed, nothing was retried later.
    alarms = [line for line in log.splitlines() if any(f" {level} " in line for level in ("WARNING", "ERROR"))]
    assert alarms and all("Redis master of 'mymaster' moved to" in line for line in alarms), alarms
    assert "Traceback" not in log


def _ask(w: World, bot: BotProcess, phase: str) -> None:
    for chat in CHATS:
        assert bot.post(w.telegram.make_update(f"{phase} {chat}", chat_id=chat)).status_code == 200


def _complete(w: World, chat: int) -> list[str]:
    """Final answers in a chat (a message still showing its Stop button is not one)."""
    return [m.text for m in w.telegram.messages(chat) if m.final]


def _streaming(w: World, chat: int) -> bool:
    return any(not m.final for m in w.telegram.messages(chat))


def _history(w: World, chat: int) -> list[tuple[str, str]]:
    """The chat's stored turns on the (new) master, as (role, text)."""
    stored = w.store.lrange(KEYS.turns(ChatKey(chat)), 0, -1)
    return [(turn.role, turn.content) for turn in (Turn.from_json(str(raw)) for raw in stored)]


def _turns(chat: int, phases: tuple[str, ...]) -> list[tuple[str, str]]:
    asked = [f"{phase} {chat}" for phase in phases]
    return [turn for question in asked for turn in (("user", question), ("assistant", _reply(question)))]


def _well_formed(turns: list[tuple[str, str]], chat: int) -> bool:
    """User and assistant alternate, each answer follows its own question, questions in the order they were asked."""
    pairs = [(turns[i], turns[i + 1]) for i in range(0, len(turns) - 1, 2)]
    asked = [user[1] for user, _ in pairs]
    return (len(turns) % 2 == 0 and all(u[0] == "user" and a == ("assistant", _reply(u[1])) for u, a in pairs)
            and asked == [q for q in (f"{p} {chat}" for p in PHASES) if q in asked])
