"""Benchmark: webhook ingress and many concurrent streams on one real bot process.

    python -m bench.load [--streams 1000] [--rate 200] [--seconds 10]

(1) Updates posted at --rate per second for --seconds: how many are acknowledged per second, and the bot's
    overhead from the webhook POST to its first Bot API call for that chat (the `typing` action), p50/p99.
(2) --streams chats at once, each answer streaming for a few seconds: all answers complete and exact, and
    the event-loop lag the bot measured meanwhile (p99, from its own /metrics histogram).
Everything runs on 127.0.0.1: a real redis-server, fake Bot API and OpenAI servers, the real `python -m bot`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
from typing import Any

import httpx

from tests.bot_process import API_KEY, TOKEN, WEBHOOK_PATH, BotProcess
from tests.fake_openai import Behaviour, FakeOpenAI, Reply
from tests.fake_telegram import FakeTelegram
from tests.redis_server import running_redis

STREAM_TEXT = "This answer streams for a few seconds, word by word, like a real model. " * 6


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def post_paced(bot: BotProcess, telegram: FakeTelegram, rate: int, seconds: int,
                     first_chat: int) -> tuple[dict[int, float], float, int]:
    """POST rate×seconds updates, evenly spaced; returns send times by chat, elapsed time and 200s."""
    sent: dict[int, float] = {}
    headers = {"X-Telegram-Bot-Api-Secret-Token": bot.secret}
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}", limits=limits, timeout=30) as client:
        async def one(chat: int) -> int:
            update = telegram.make_update(f"hello {chat}", chat_id=chat)
            sent[chat] = time.monotonic()
            return (await client.post(WEBHOOK_PATH, json=update, headers=headers)).status_code

        started = time.monotonic()
        tasks = []
        for index in range(rate * seconds):
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(first_chat + index)))
        statuses = await asyncio.gather(*tasks)
        return sent, time.monotonic() - started, sum(1 for s in statuses if s == 200)


def first_calls(telegram: FakeTelegram) -> dict[int, float]:
    first: dict[int, float] = {}
    for call in telegram.calls:
        chat = call.params.get("chat_id")
        if chat is not None and call.method in ("sendChatAction", "sendMessage"):
            first.setdefault(int(chat), call.at)
    return first


def loop_lag_p99(metrics: str) -> str:
    buckets: list[tuple[float, float]] = []
    count = 0.0
    for line in metrics.splitlines():
        if line.startswith("bot_event_loop_lag_seconds_bucket"):
            buckets.append((float(line.split('le="')[1].split('"')[0]), float(line.split()[-1])))
        if line.startswith("bot_event_loop_lag_seconds_count"):
            count = float(line.split()[-1])
    for bound, cumulative in buckets:
        if cumulative >= 0.99 * count:
            return "> 1 s" if bound > 1 else f"≤ {bound * 1000:.0f} ms"
    return "n/a"


async def ingress(bot: BotProcess, telegram: FakeTelegram, rate: int, seconds: int) -> None:
    sent, elapsed, acked = await post_paced(bot, telegram, rate, seconds, first_chat=10_000)
    await asyncio.sleep(2)
    first = first_calls(telegram)
    overhead = [(first[c] - t) * 1000 for c, t in sent.items() if c in first]
    print(f"\n(1) webhook ingress at {rate} updates/s for {seconds} s")
    print(f"    acknowledged: {acked}/{len(sent)} ({acked / elapsed:.0f} updates/s)")
    print(f"    overhead webhook → first Bot API call: p50 {statistics.median(overhead):.1f} ms, "
          f"p99 {percentile(overhead, 0.99):.1f} ms (n={len(overhead)})")


async def streams(bot: BotProcess, telegram: FakeTelegram, count: int) -> None:
    chats = list(range(50_000, 50_000 + count))
    headers = {"X-Telegram-Bot-Api-Secret-Token": bot.secret}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}", timeout=30,
                                 limits=httpx.Limits(max_connections=100)) as client:
        await asyncio.gather(*(client.post(WEBHOOK_PATH, json=telegram.make_update(f"go {c}", chat_id=c),
                                           headers=headers) for c in chats))
        while time.monotonic() - started < 600:
            done = sum(1 for c in chats if _final(telegram, c))
            if done == count:
                break
            await asyncio.sleep(1)
        metrics = (await client.get("/metrics")).text
    correct = sum(1 for c in chats if _final(telegram, c) == STREAM_TEXT.strip())
    print(f"\n(2) {count} concurrent streaming chats on one process")
    print(f"    complete and exact: {correct}/{count} in {time.monotonic() - started:.0f} s "
          "(the send limit paces the messages)")
    print(f"    event-loop lag p99: {loop_lag_p99(metrics)}")


def _final(telegram: FakeTelegram, chat: int) -> str | None:
    messages = telegram.messages(chat)
    return messages[-1].text if messages and messages[-1].reply_markup is None else None


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with running_redis() as redis_url, FakeTelegram(TOKEN) as telegram, FakeOpenAI(API_KEY) as model:
        def behaviour(body: dict[str, Any]) -> Behaviour:
            asked = body["messages"][-1]["content"]
            return Reply(STREAM_TEXT, chunk=12, delay=0.08) if asked.startswith("go") else Reply("ok")

        model.default = behaviour
        env = {"TELEGRAM_API_URL": telegram.url, "OPENAI_BASE_URL": model.url, "REDIS_URL": redis_url,
               "LOG_LEVEL": "WARNING", "USER_MESSAGES_PER_MINUTE": "0",
               # Telegram's default is 30 messages/s; bots with paid broadcasts may send up to 1,000/s. At the
               # default, 200 new chats a second cannot all be answered in real time by any bot.
               "TELEGRAM_MESSAGES_PER_SECOND": str(args.messages_per_second)}
        with BotProcess(env) as bot:
            print(f"Telegram send limit: {args.messages_per_second} messages/s")
            await ingress(bot, telegram, args.rate, args.seconds)
            await streams(bot, telegram, args.streams)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--messages-per-second", type=int, default=1000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
