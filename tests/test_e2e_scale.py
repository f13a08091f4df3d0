"""End to end with several replicas: duplicates, a replica killed mid-stream, graceful shutdown, deploy commands."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.bot_process import API_KEY, TOKEN, WEBHOOK_PATH, BotProcess, run_bot_once
from tests.e2e import World
from tests.fake_openai import Behaviour, Reply
from tests.http_fake import wait_for

FILLER = " ".join(["lorem"] * 40)


def held_answers(released: threading.Event) -> Callable[[dict[str, Any]], Behaviour]:
    """Answers that show their first chunk, then wait until ``released`` before streaming the rest."""
    def answer(body: dict[str, Any]) -> Behaviour:
        asked = body["messages"][-1]["content"]
        return Reply(f"Answer to {asked}: {FILLER}", chunk=6, delay=0.05, gate=released)
    return answer


def complete_answers(w: World, chat: int) -> list[str]:
    """Final answers in a chat (a message still showing its Stop button is not one)."""
    return [m.text for m in w.telegram.messages(chat) if m.final and m.text.startswith("Answer")]


def test_the_same_update_posted_to_two_replicas_at_once_is_answered_once(env: World) -> None:
    with env.bots(2) as (first, second):
        update = env.telegram.make_update("only once", chat_id=500)
        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(lambda replica: replica.post(update).status_code, [first, second]))
        assert statuses == [200, 200]
        wait_for(lambda: env.telegram.messages(500) and env.telegram.messages(500)[0].final,
                 what="the answer")
        wait_for(lambda: env.unacknowledged() == 0, what="the update acknowledged")  # nothing left to answer
        duplicates = [_counted(replica, "bot_updates_duplicate_total") for replica in (first, second)]
    assert sum(duplicates) == 1
    assert len(env.model.chat_requests()) == 1
    assert env.telegram.texts(500) == ["Echo: only once"]


def test_a_replica_killed_mid_stream_loses_nothing_and_answers_nothing_twice(env: World) -> None:
    released = threading.Event()
    env.model.default = held_answers(released)
    chats = list(range(1000, 1100))
    # A high send limit gets every first message out within a second or so.
    settings = {"INGRESS_CLAIM_IDLE_SECONDS": "2", "STREAM_EDIT_INTERVAL": "0.5", "TELEGRAM_MESSAGES_PER_SECOND": "300"}
    with env.bots(2, **settings) as (victim, survivor):
        updates = [env.telegram.make_update(f"question {chat}", chat_id=chat) for chat in chats]
        for index, update in enumerate(updates):  # either replica may take any of them from the stream
            assert (victim if index % 2 else survivor).post(update).status_code == 200
        # Kill once every first message is out and recorded: a message whose sendMessage was in flight when its
        # replica died has an id that no replica ever learnt, so no replica could take it over.
        wait_for(lambda: all(env.telegram.messages(c) for c in chats), timeout=30, what="every answer streaming")
        wait_for(lambda: all(env.recorded_messages(u["update_id"]) for u in updates), what="every message recorded")
        victim.stop(signal.SIGKILL)
        assert _streaming(env, chats) == chats, "the kill should have happened mid-stream"
        released.set()
        wait_for(lambda: all(complete_answers(env, c) for c in chats), timeout=90, what="every answer")
        wait_for(lambda: env.unacknowledged() == 0, what="every update acknowledged")  # nothing left to answer
        assert "abandoned by another replica" in survivor.log()
    lost = [c for c in chats if not complete_answers(env, c)]
    duplicated = [c for c in chats if len(complete_answers(env, c)) > 1]
    assert (lost, duplicated) == ([], [])
    for chat in chats:  # the survivor went on in the dead replica's message: no stale half answer is left
        assert env.telegram.texts(chat) == [f"Answer to question {chat}: {FILLER}"]
        assert env.telegram.messages(chat)[0].final


def _streaming(w: World, chats: list[int]) -> list[int]:
    """Chats whose answer is visible and still streaming (its message shows the Stop button)."""
    return [c for c in chats if any(not m.final for m in w.telegram.messages(c))]


def test_a_stop_pressed_on_another_replica_stops_the_answer(env: World) -> None:
    never = threading.Event()  # the answer shows its first word, then would go on only when released
    env.model.script(Reply("word " * 400, chunk=5, gate=never))
    with env.bots(2) as replicas:
        replicas[0].post(env.telegram.make_update("talk forever", chat_id=800))
        wait_for(lambda: env.telegram.messages(800) and not env.telegram.messages(800)[0].final,
                 what="the stop button")
        markup = env.telegram.messages(800)[0].reply_markup
        assert markup is not None
        # Either replica may have taken the update from the stream: press Stop on the one not streaming it.
        (other,) = [r for r in replicas if _counted(r, "bot_streams_in_flight") == 0]
        other.post(env.telegram.make_callback(markup["inline_keyboard"][0][0]["callback_data"], chat_id=800,
                                              user_id=800, message_id=1))
        wait_for(lambda: env.telegram.messages(800)[0].final, what="the stopped answer")
        wait_for(lambda: env.telegram.calls_of("answerCallbackQuery"), what="the button answered")
        wait_for(lambda: env.model.disconnects == 1, what="the model's stream closed")
    assert env.telegram.calls_of("answerCallbackQuery")[0].params["text"] == "Stopped."
    assert env.telegram.texts(800) == ["word\n\n⏹ stopped"]


def test_a_chats_messages_are_answered_in_order_whichever_replicas_take_them(env: World) -> None:
    env.model.slow_to_moderate["first"] = 1.5  # the earlier message is the slower one to get going
    with env.bots(2, MODERATION="true") as (one, other):
        one.post(env.telegram.make_update("first", chat_id=900))
        wait_for(lambda: env.model.moderation_requests(), what="the first message being checked")
        other.post(env.telegram.make_update("second", chat_id=900))
        wait_for(lambda: len(complete_echoes(env, 900)) == 2, what="both answers")
    assert complete_echoes(env, 900) == ["Echo: first", "Echo: second"]
    asked = [[m["content"] for m in r["messages"] if m["role"] == "user"] for r in env.model.chat_requests()]
    assert asked == [["first"], ["first", "second"]]


def complete_echoes(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.final and m.text.startswith("Echo")]


def test_sigterm_drains_running_answers_and_reports_unready(env: World) -> None:
    released = threading.Event()  # the answer streams its first chunk, then waits for the test
    env.model.script(Reply(f"Answer to drain me: {FILLER}", chunk=6, gate=released))
    with env.bot(SHUTDOWN_GRACE_SECONDS="20") as bot:
        bot.post(env.telegram.make_update("drain me", chat_id=600))
        wait_for(lambda: env.telegram.messages(600), what="streaming started")
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        wait_for(lambda: bot.http.get("/healthz").status_code == 503, what="healthz 503 while draining")
        assert bot.http.get("/healthz").json() == {"status": "unavailable"}
        assert _streaming(env, [600]) == [600]
        released.set()
        assert bot.process.wait(timeout=30) == 0
    assert complete_answers(env, 600) == [f"Answer to drain me: {FILLER}"]


def _counted(replica: BotProcess, name: str) -> float:
    """A counter's or gauge's value on a replica's /metrics."""
    line = next(line for line in replica.http.get("/metrics").text.splitlines() if line.startswith(f"{name} "))
    return float(line.split()[1])


def test_deploy_commands_set_and_delete_the_webhook(env: World) -> None:
    credentials = {"TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY}
    done = run_bot_once(env.env(WEBHOOK_URL="https://bot.example.org/hook", **credentials), "set-webhook")
    assert done.returncode == 0, done.stderr
    assert env.telegram.webhook["url"] == "https://bot.example.org/hook"
    done = run_bot_once(env.env(**credentials), "delete-webhook")
    assert done.returncode == 0
    assert len(env.telegram.calls_of("deleteWebhook")) == 1 and env.telegram.webhook["url"] == ""
    missing = run_bot_once(env.env(**credentials), "set-webhook")
    assert missing.returncode == 2 and "WEBHOOK_URL" in missing.stderr


def test_replicas_started_at_once_set_the_webhook_once(env: World) -> None:
    env.telegram.barrier("getMe", 3)  # the last call before registering: all three register at the same moment
    env.telegram.slow_down("setWebhook", 0.5)  # while the first replica's call is on its way, the others look
    with env.bots(3):
        pass
    assert [c.params["url"] for c in env.telegram.calls_of("setWebhook")] == [f"https://bot.example.test{WEBHOOK_PATH}"]


def test_metrics_and_json_logs(env: World) -> None:
    with env.bot(LOG_FORMAT="json", MODELS="gpt-4o-mini,gpt-4o") as bot:
        update = env.telegram.make_update("count me", chat_id=700)
        bot.post(update)
        bot.post(update)
        wait_for(lambda: env.telegram.messages(700) and env.telegram.messages(700)[0].final,
                 what="answer")
        wait_for(lambda: "bot_turns_total{outcome=\"complete\"} 1.0" in bot.http.get("/metrics").text,
                 what="turn counted")
        metrics = bot.http.get("/metrics").text
        log = bot.log()
    for name in ("bot_updates_received_total 2.0", "bot_updates_duplicate_total 1.0", "bot_first_text_seconds",
                 "bot_turn_seconds", "bot_tokens_total{direction=\"in\",model=\"gpt-4o-mini\"}",
                 "bot_streams_in_flight 0.0", "bot_ingress_lag_seconds", "bot_ingress_pending",
                 'bot_telegram_api_calls_total{method="sendMessage",outcome="ok"} 1.0', "bot_build_info{commit=",
                 "process_resident_memory_bytes", 'bot_cost_usd_total{model="gpt-4o-mini"}',
                 # labelled series start at zero: another model users may choose, methods and reminders not used yet
                 'bot_cost_usd_total{model="gpt-4o"} 0.0', 'bot_tokens_total{direction="cached",model="gpt-4o"} 0.0',
                 'bot_telegram_api_calls_total{method="sendPhoto",outcome="ok"} 0.0',
                 'bot_telegram_api_calls_total{method="setMyDescription",outcome="error"} 0.0',
                 'bot_reminders_total{outcome="sent"} 0.0'):
        assert name in metrics
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    turn = next(line for line in lines if line["message"].startswith("turn finished"))
    assert turn["update_id"] == update["update_id"] and turn["outcome"] == "complete" and "duration_ms" in turn
    assert "count me" not in log
