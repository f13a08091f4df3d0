"""Outages mid-answer at the issue's full lengths, against the real `python -m bot` (tests/test_e2e_outages.py runs
shorter ones in the suite):

    python -m bench.outages [--redis 10] [--bot-api 45] [--storm 40] [--retry-after 5]

(1) Redis shut down (SHUTDOWN SAVE) for --redis seconds while 20 chats are answering, then started again on its
    port; (2) the Bot API unreachable for --bot-api seconds (every call hangs, never performed) while an answer
    ends; (3) the same outage with the replica SIGKILLed during it and started again once Telegram is back; (4) every
    send and edit answered 429 (retry_after --retry-after) for --storm seconds mid-answer. Printed: answers shown
    once and in full, apologies, tracebacks in the log, updates refused with 503 during the Redis outage, calls
    sent before Telegram's retry_after was over, model requests, and how long after the outage each answer was
    complete.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from bot.telegram import texts
from tests.bot_process import API_KEY, TOKEN
from tests.e2e import KEYS, World
from tests.fake_openai import Behaviour, FakeOpenAI, Reply
from tests.fake_telegram import FakeTelegram
from tests.http_fake import wait_for
from tests.redis_server import restartable_redis, running_redis

FILLER = " ".join(["lorem"] * 30)


def answer_to(asked: str) -> str:
    return f"Answer to {asked}: {FILLER}"


def streaming(gate: threading.Event | None = None) -> Any:
    def behaviour(body: dict[str, Any]) -> Behaviour:
        asked = body["messages"][-1]["content"]
        return Reply(answer_to(asked), chunk=6, delay=0.03, gate=gate)
    return behaviour


def shown_once(w: World, chat: int) -> bool:
    messages = w.telegram.messages(chat, include_deleted=True)
    return [(m.text, m.final) for m in messages] == [(answer_to(f"question {chat}"), True)]


def final(w: World, chat: int) -> bool:
    return any(m.final for m in w.telegram.messages(chat))


def streaming_now(w: World, chat: int) -> bool:
    return any(not m.final for m in w.telegram.messages(chat))


def completed_after(w: World, chats: list[int], moment: float) -> float:
    """The longest time from ``moment`` until a chat's answer was complete."""
    return max(max(at for m in w.telegram.messages(c) for at, _ in m.history) - moment for c in chats)


def log_figures(log: str) -> str:
    return f"apologies {log.count(texts.SORRY)}, tracebacks {log.count('Traceback')}"


def redis_outage(seconds: float) -> None:
    chats = list(range(6000, 6020))
    released = threading.Event()
    with restartable_redis() as redis, FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        w = World(telegram, model, redis.url)
        model.default = streaming(released)
        with w.bot(TELEGRAM_MESSAGES_PER_SECOND="300") as bot:
            for chat in chats:
                bot.post(telegram.make_update(f"question {chat}", chat_id=chat))
            wait_for(lambda: all(streaming_now(w, c) for c in chats), timeout=60, what="every answer streaming")
            redis.shut_down()
            released.set()
            refused, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                refused += bot.post(telegram.make_update("during the outage", chat_id=6999)).status_code == 503
                time.sleep(0.5)
            redis.start()
            back = time.monotonic()
            wait_for(lambda: all(final(w, c) for c in chats), timeout=120, what="every answer")
            wait_for(lambda: w.unacknowledged() == 0, timeout=120, what="every update acknowledged")
            stored = time.monotonic() - back
            log = bot.log()
        once = sum(shown_once(w, c) for c in chats)
        print(f"(1) Redis down {seconds:.0f} s mid-answer, 20 chats: shown once and in full {once}/20, "
              f"{log_figures(log)}, 'never retrieved' {log.count('never retrieved')}, updates during the outage "
              f"answered 503 {refused}/{refused}, model requests {len(model.chat_requests())} for 20 answers, "
              f"all stored and acknowledged {stored:.1f} s after Redis was back", flush=True)
        w.store.close()


def bot_api_outage(url: str, seconds: float, restart: bool) -> None:
    chat = 6100 + restart
    with FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        w = World(telegram, model, url)
        w.store.flushdb()
        released = threading.Event()
        model.default = streaming(released)
        update = telegram.make_update(f"question {chat}", chat_id=chat)
        settings = {"INGRESS_CLAIM_IDLE_SECONDS": "10"}
        with w.bot(**settings) as bot:
            bot.post(update)
            wait_for(lambda: w.recorded_messages(update["update_id"]), what="the first message recorded")
            telegram.go_down()
            released.set()  # the answer ends during the outage
            wait_for(lambda: w.store.exists(KEYS.done(update["update_id"])), what="the answer stored")
            down = time.monotonic()
            if restart:
                bot.stop(signal.SIGKILL)
            time.sleep(max(0.0, down + seconds - time.monotonic()))
            telegram.come_back()
            back = time.monotonic()
            if restart:
                with w.bot(**settings) as restarted:
                    wait_for(lambda: final(w, chat), timeout=120, what="the final text")
                    log = restarted.log()
            else:
                wait_for(lambda: final(w, chat), timeout=120, what="the final text")
                log = bot.log()
        what = "and the replica SIGKILLed during it, started again once it was back" if restart else "mid-answer"
        print(f"({3 if restart else 2}) Bot API unreachable {seconds:.0f} s {what}: shown once and in full "
              f"{int(shown_once(w, chat))}/1, {log_figures(log)}, model requests {len(model.chat_requests())}, "
              f"final text {completed_after(w, [chat], back):.1f} s after Telegram was back", flush=True)
        w.store.close()


def flood_storm(url: str, seconds: float, retry_after: int) -> None:
    chat = 6200
    with FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        w = World(telegram, model, url)
        w.store.flushdb()
        released = threading.Event()
        model.default = streaming(released)
        with w.bot() as bot:
            bot.post(telegram.make_update(f"question {chat}", chat_id=chat))
            wait_for(lambda: streaming_now(w, chat), what="the answer streaming")
            telegram.flood_storm(seconds, retry_after)
            released.set()
            began = time.monotonic()
            wait_for(lambda: final(w, chat), timeout=seconds + 120, what="the final text")
            log = bot.log()
        refused = telegram.flood_answers(chat)
        calls = [c.at for c in telegram.calls if c.params.get("chat_id") == chat and c.method != "sendChatAction"]
        early = sum(1 for at, wait in refused for c in calls if at < c < at + wait - 0.05)
        print(f"(4) 429s (retry_after {retry_after}) for {seconds:.0f} s mid-answer: shown once and in full "
              f"{int(shown_once(w, chat))}/1, {log_figures(log)}, 429s {len(refused)}, calls before retry_after "
              f"was over {early}, final text {completed_after(w, [chat], began + seconds):.1f} s after the storm",
              flush=True)
        w.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", type=float, default=10.0)
    parser.add_argument("--bot-api", type=float, default=45.0)
    parser.add_argument("--storm", type=float, default=40.0)
    parser.add_argument("--retry-after", type=int, default=5)
    args = parser.parse_args()
    redis_outage(args.redis)
    with running_redis() as url:
        bot_api_outage(url, args.bot_api, restart=False)
        bot_api_outage(url, args.bot_api, restart=True)
        flood_storm(url, args.storm, args.retry_after)


if __name__ == "__main__":
    main()
