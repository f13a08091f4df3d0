"""End to end in polling mode (no WEBHOOK_URL): getUpdates feeds the same stream, handlers and HTTP server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis import Redis

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from tests.bot_process import ROOT, TOKEN, WEBHOOK_PATH, BotProcess, base_environment
from tests.e2e import World
from tests.fake_openai import Behaviour, Reply
from tests.http_fake import wait_for

CHAT = 42
FILLER = " ".join(["lorem"] * 15)
KEYS = Keys(f"tg:{TOKEN.split(':')[0]}")


@contextmanager
def polling_bot(w: World, overrides: dict[str, str] | None = None, *, embedded: bool = False) -> Iterator[BotProcess]:
    """The real process without WEBHOOK_URL; ``embedded``: without REDIS_URL too (the in-process store)."""
    settings = w.env(**(overrides or {}))
    if embedded:
        del settings["REDIS_URL"]
    with BotProcess(settings, polling=True) as process:
        yield process


def final_answers(w: World, chat: int) -> list[str]:
    """The bot's messages in a chat that are finished (no Stop button left on them)."""
    return [m.text for m in w.telegram.messages(chat) if m.final]


def test_polling_mode_deletes_the_webhook_first_and_serves_health_and_metrics_but_no_webhook(env: World) -> None:
    env.telegram.webhook = {"url": f"https://bot.example.test{WEBHOOK_PATH}"}  # left over from a deploy
    with polling_bot(env) as bot:
        health = bot.http.get("/healthz")
        metrics = bot.http.get("/metrics")
        webhook = bot.post(env.telegram.make_update("hi", chat_id=CHAT))
        env.telegram.queue_update(env.telegram.make_update("after a deploy", chat_id=CHAT))
        wait_for(lambda: final_answers(env, CHAT), what="the answer")
        log = bot.log()
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE bot_updates_received_total counter" in metrics.text
    assert webhook.status_code in (404, 405)
    methods = [c.method for c in env.telegram.calls if c.method in ("deleteWebhook", "setWebhook", "getUpdates")]
    assert methods[0] == "deleteWebhook" and "getUpdates" in methods and "setWebhook" not in methods
    assert env.telegram.webhook["url"] == "" and "Conflict" not in log  # Telegram refuses getUpdates otherwise
    assert final_answers(env, CHAT) == ["Echo: after a deploy"]
    assert "polling mode" in log


def test_a_polled_private_message_is_answered_by_a_streamed_reply_and_stored(env: World) -> None:
    answer = " ".join(f"word{i}" for i in range(40)) + "."
    env.model.script(Reply(answer, chunk=6, delay=0.04), Reply("You said hello."))
    with polling_bot(env) as bot:
        env.telegram.queue_update(env.telegram.make_update("Hello there", chat_id=CHAT))
        wait_for(lambda: final_answers(env, CHAT), what="the answer")
        (message,) = env.telegram.messages(CHAT)
        assert message.text == answer and len(message.changes) >= 3  # sent, edited while streaming, final
        env.telegram.queue_update(env.telegram.make_update("What did I say?", chat_id=CHAT))
        wait_for(lambda: len(final_answers(env, CHAT)) == 2, what="the second answer")
        metrics = bot.http.get("/metrics").text
    stored = [json.loads(turn) for turn in Redis.from_url(env.redis_url).lrange(KEYS.turns(ChatKey(CHAT)), 0, -1)]
    assert [(t["role"], t["content"]) for t in stored][:2] == [("user", "Hello there"), ("assistant", answer)]
    second = env.model.chat_requests()[1]["messages"]
    assert [(m["role"], m["content"]) for m in second[1:]] == [
        ("user", "Hello there"), ("assistant", answer), ("user", "What did I say?")]
    assert "bot_updates_received_total 2.0" in metrics  # through the update stream, as webhook updates go


def slow_answer(body: dict[str, Any]) -> Behaviour:
    asked = body["messages"][-1]["content"]
    return Reply(f"Answer to {asked}: {FILLER}", chunk=6, delay=0.15)


def test_a_process_killed_mid_answer_answers_once_after_a_restart(env: World) -> None:
    env.model.default = slow_answer
    redis = Redis.from_url(env.redis_url, decode_responses=True)
    settings = {"INGRESS_CLAIM_IDLE_SECONDS": "1", "STREAM_EDIT_INTERVAL": "0.3"}
    update = env.telegram.make_update("survive this", chat_id=CHAT)
    with polling_bot(env, settings) as victim:
        env.telegram.queue_update(update)
        # Kill once the first message is recorded for a takeover (a message whose id no process ever learnt
        # could not be taken over, and would stay as a stale half answer).
        wait_for(lambda: redis.hget(KEYS.reply(update["update_id"]), "messages"), what="the answer streaming")
        victim.stop(signal.SIGKILL)
    assert not env.telegram.messages(CHAT)[0].final, "the kill should have happened mid-answer"
    with polling_bot(env, settings) as restarted:
        wait_for(lambda: final_answers(env, CHAT), timeout=30, what="the answer after the restart")
        wait_for(lambda: redis.xlen(KEYS.stream) == 0, what="the update acknowledged")
        log = restarted.log()
    everything_sent = [m.text for m in env.telegram.messages(CHAT, include_deleted=True)]
    assert everything_sent == [f"Answer to survive this: {FILLER}"]  # the restart went on in the same message
    assert final_answers(env, CHAT) == [f"Answer to survive this: {FILLER}"]
    assert "abandoned by another replica" in log


def test_sigterm_finishes_the_running_answer_and_leaves_later_updates_for_the_next_start(env: World) -> None:
    # On the embedded store, whatever the poller took during the drain would die with the process.
    env.model.default = slow_answer
    with polling_bot(env, {"SHUTDOWN_GRACE_SECONDS": "20"}, embedded=True) as bot:
        env.telegram.queue_update(env.telegram.make_update("drain me", chat_id=600))
        wait_for(lambda: env.telegram.messages(600), what="the answer streaming")
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        wait_for(lambda: "shutting down" in bot.log(), what="the drain")
        env.telegram.queue_update(env.telegram.make_update("too late", chat_id=601))
        assert bot.process.wait(timeout=30) == 0
        drained = bot.log()
    assert final_answers(env, 600) == [f"Answer to drain me: {FILLER}"]
    assert env.telegram.messages(601) == [] and drained.count("turn finished") == 1
    env.model.script(Reply("Late, but here."))
    with polling_bot(env, embedded=True):
        wait_for(lambda: final_answers(env, 601), what="the later update answered by the next start")
    assert final_answers(env, 600) == [f"Answer to drain me: {FILLER}"]
    assert final_answers(env, 601) == ["Late, but here."]


def test_without_redis_url_a_polled_message_is_answered_from_the_embedded_store(env: World) -> None:
    env.model.script(Reply("First answer."), Reply("Second answer."))
    with polling_bot(env, embedded=True) as bot:
        env.telegram.queue_update(env.telegram.make_update("remember me", chat_id=CHAT))
        wait_for(lambda: final_answers(env, CHAT), what="the answer")
        env.telegram.queue_update(env.telegram.make_update("and now?", chat_id=CHAT))
        wait_for(lambda: len(final_answers(env, CHAT)) == 2, what="the second answer")
        health = bot.http.get("/healthz")
        metrics = bot.http.get("/metrics").text
        log = bot.log()
    assert final_answers(env, CHAT) == ["First answer.", "Second answer."]
    assert "bot_updates_received_total 2.0" in metrics  # the embedded store carries the update stream too
    second = env.model.chat_requests()[1]["messages"]
    assert [m["content"] for m in second[1:]] == ["remember me", "First answer.", "and now?"]
    assert health.status_code == 200
    assert "in-process store" in log and "Traceback" not in log


def docker_healthcheck(port: int) -> int:
    """Run the Dockerfile's HEALTHCHECK command as the container would, against ``port``; its exit code."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*? CMD (.+)$", dockerfile, re.MULTILINE)
    assert match, "the Dockerfile has no HEALTHCHECK"
    path = f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"  # `python` as in the image
    environment = base_environment() | {"PATH": path, "PORT": str(port)}
    return subprocess.run(["sh", "-c", match.group(1)], env=environment, capture_output=True, timeout=10).returncode


@pytest.mark.parametrize("polling", [True, False], ids=["polling", "webhook"])
def test_the_docker_healthcheck_passes_in_both_modes(env: World, polling: bool) -> None:
    with BotProcess(env.env(), polling=polling) as bot:
        healthy = docker_healthcheck(bot.port)
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        wait_for(lambda: docker_healthcheck(bot.port) != 0, what="the check failing while draining")
    assert healthy == 0
