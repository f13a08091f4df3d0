"""Benchmark: webhook ingress and many concurrent streams on one real bot process.

    python -m bench.load [--rate 200] [--seconds 10] [--streams 1000]

(1) Updates posted at --rate per second for --seconds: how many are acknowledged per second, and the bot's
    overhead from the webhook POST to its first Bot API call for that chat (the `typing` action), p50/p99.
(2) --streams chats at once, each answer streaming for a few seconds: all answers complete and exact, how
    many streamed at once, and the event-loop lag the bot measured meanwhile (p99, from its own /metrics).
(3) For both: Redis round trips per answer (the server's count of reads from client sockets: a pipeline or a
    script is one) and commands (those inside scripts included), and the bot's CPU per answer.
A Markdown table of all phases comes last.
Everything runs on 127.0.0.1, each part in its own process: a real redis-server, the fake Bot API and OpenAI
(python -m bench.fakes), the real `python -m bot`, and this process, which only generates load and reads the
results. With 2+ cores the bot is pinned to the last core and everything else to the others, so the harness
cannot take the bot's CPU; the CPU each process used is printed, so a saturated harness would show.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.fakes import SHORT_TEXT, STREAM_TEXT
from bench.httpwire import get
from bench.loadgen import Outcome, Poster
from bench.procs import CpuMeter, FakesProcess, Profile, children, cpu_model, pin
from tests.bot_process import WEBHOOK_PATH, BotProcess
from tests.redis_server import running_redis

INGRESS_CHATS = 10_000_000
STREAM_CHATS = 20_000_000
WARM_UP_CHATS = 1_000_000
STALL_SECONDS = 40.0  # longer than the bot's 30 s claim-idle, so a dropped update can be claimed again


@dataclass(frozen=True)
class Run:
    """The running processes and how to reach them."""

    bot: BotProcess
    fakes_port: int
    meter: CpuMeter
    poster: Poster
    timeout: float
    log: LogTail
    redis: Redis
    table: list[Row]


@dataclass(frozen=True)
class Row:
    """One phase's figures, for the table printed at the end."""

    phase: str
    acknowledged: str
    overhead: str
    complete: str
    lag: str
    redis: str
    cpu: str


@dataclass(frozen=True)
class Reading:
    """What the bot and the harness had done at one moment: CPU per process, the bot's loop-lag histogram."""

    cpu: dict[str, float]
    lag: dict[float, float]
    calls: dict[str, int]
    redis: tuple[int, int]
    streaming: int
    at: float


class LogTail:
    """The bot's warnings and errors since the last look, with numbers blanked so alike lines count together."""

    def __init__(self, bot: BotProcess) -> None:
        self._bot = bot
        self._seen = 0

    def problems(self) -> Counter[str]:
        lines = self._bot.log().splitlines()
        fresh, self._seen = lines[self._seen:], len(lines)
        return Counter(re.sub(r"\d+", "N", line.split(" ", 3)[-1])[:100] for line in fresh
                       if " WARNING " in line or " ERROR " in line)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def fakes_json(run: Run, path: str) -> Any:
    return json.loads((await get(run.fakes_port, path)).body)


async def read(run: Run) -> Reading:
    metrics = (await get(run.bot.port, "/metrics")).body.decode()
    calls = (await fakes_json(run, "/__stats?lo=0&hi=0"))["calls"]
    stats = await run.redis.info("stats")
    # Reads of client sockets are round trips (a pipeline or script is one); commands count those inside scripts.
    redis = int(stats["total_reads_processed"]), int(stats["total_commands_processed"])
    return Reading(run.meter.read(), lag_buckets(metrics), calls, redis, streams_in_flight(metrics), time.monotonic())


def streams_in_flight(metrics: str) -> int:
    """The bot's bot_streams_in_flight gauge: answers streaming right now."""
    for line in metrics.splitlines():
        if line.startswith("bot_streams_in_flight "):
            return int(float(line.split()[-1]))
    return 0


def redis_per(start: Reading, end: Reading, turns: int) -> str:
    """Redis round trips and commands per turn between two readings (less this benchmark's own INFO calls)."""
    trips, commands = (after - before for before, after in zip(start.redis, end.redis, strict=True))
    return f"{trips / max(turns, 1):.1f} round trips ({commands / max(turns, 1):.0f} commands)"


def lag_buckets(metrics: str) -> dict[float, float]:
    """bot_event_loop_lag_seconds as {upper bound: cumulative count}, +Inf included."""
    buckets = {}
    for line in metrics.splitlines():
        if line.startswith("bot_event_loop_lag_seconds_bucket"):
            buckets[float(line.split('le="')[1].split('"')[0])] = float(line.split()[-1])
    return buckets


def lag_p99(before: Reading, after: Reading) -> str:
    """The p99 loop lag between two readings, as the histogram bucket that holds it."""
    counts = {bound: after.lag[bound] - before.lag.get(bound, 0.0) for bound in sorted(after.lag)}
    total = counts.get(float("inf"), 0.0)
    for bound, cumulative in counts.items():
        if total and cumulative >= 0.99 * total:
            return "> 1 s" if bound > 1 else f"≤ {bound * 1000:g} ms"
    return "n/a"


async def settle(run: Run, lo: int, hi: int, expected: int) -> tuple[Reading, str, int]:
    """Wait until ``expected`` chats in [lo, hi) show a final answer, the timeout passes, or nothing has moved
    for STALL_SECONDS; the reading taken when the last thing moved, why the wait ended early (or ""), and the
    most answers seen streaming at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.timeout
    last: dict[str, int] = {}
    moved = await read(run)
    peak = moved.streaming
    while True:
        progress = await fakes_json(run, f"/__progress?lo={lo}&hi={hi}")
        if progress != last:
            last, moved = progress, await read(run)
            peak = max(peak, moved.streaming)
        if progress["final"] >= expected:
            return moved, "", peak
        if loop.time() - moved.at > STALL_SECONDS:
            return moved, f"stalled: no Bot API call for {STALL_SECONDS:.0f} s", peak
        if loop.time() > deadline:
            return moved, f"timed out after {run.timeout:.0f} s", peak
        await asyncio.sleep(0.5)


async def warm_up(run: Run) -> None:
    """A few updates first, so connection pools, caches and imports are not counted."""
    chats = range(WARM_UP_CHATS, WARM_UP_CHATS + 20)
    await run.poster.paced(chats, "hello", 20)
    await settle(run, chats.start, chats.stop, len(chats))
    await fakes_json(run, "/__lag")
    run.log.problems()


async def ingress(run: Run, rate: int, seconds: int) -> None:
    chats = range(INGRESS_CHATS, INGRESS_CHATS + rate * seconds)
    start = await read(run)
    outcome = await run.poster.paced(chats, "hello", rate)
    posted = await read(run)
    done, early, _ = await settle(run, chats.start, chats.stop, outcome.acknowledged)
    stats = await fakes_json(run, f"/__stats?lo={chats.start}&hi={chats.stop}")
    overhead = [(stats["first"][str(c)] - t) * 1000 for c, t in outcome.sent.items() if str(c) in stats["first"]]
    answered = sum(1 for c in chats if stats["final"].get(str(c)) == SHORT_TEXT)
    overhead_text = f"p50 {percentile(overhead, 0.5):.1f} ms, p99 {percentile(overhead, 0.99):.1f} ms"
    cpu = f"{CpuMeter.used(start.cpu, done.cpu)['bot'] * 1000 / max(answered, 1):.1f} ms"
    print(f"\n(1) webhook ingress at {rate} updates/s for {seconds} s")
    acknowledged = print_acks(outcome)
    print(f"    overhead webhook → first Bot API call: {overhead_text} (n={len(overhead)})")
    print(f"    answered exactly: {answered}/{len(chats)} within {done.at - start.at:.1f} s {early}")
    print(f"    bot CPU: {cpu} per answered update; event-loop lag p99 {lag_p99(start, posted)} while posting")
    print(f"    Redis per answered update: {redis_per(start, done, answered)}")
    print_calls(start, done, outcome.acknowledged)
    await print_cpu(run, start, posted, "while posting")
    run.table.append(Row(f"(1) ingress, {rate}/s for {seconds} s", acknowledged, overhead_text,
                         f"{answered}/{len(chats)}", lag_p99(start, posted), redis_per(start, done, answered), cpu))


def print_acks(outcome: Outcome) -> str:
    """Print how the webhook POSTs were answered; returns the acknowledged count and rate."""
    latency = [v * 1000 for v in outcome.latency.values()]
    print(f"    acknowledged: {outcome.acknowledged}/{len(outcome.sent)} "
          f"({outcome.acknowledged / outcome.elapsed:.0f} updates/s); ack latency p50 "
          f"{percentile(latency, 0.5):.1f} ms, p99 {percentile(latency, 0.99):.1f} ms; "
          f"sent late p99 {percentile(outcome.slip, 0.99) * 1000:.1f} ms")
    others = {k: v for k, v in outcome.results.items() if k != "200"}
    if others:
        reused = [idle for _, was_reused, idle in outcome.failures if was_reused]
        print(f"    not acknowledged: {others}; {len(reused)} on reused connections "
              f"(idle up to {max(reused, default=0.0):.2f} s)")
    return f"{outcome.acknowledged}/{len(outcome.sent)} ({outcome.acknowledged / outcome.elapsed:.0f}/s)"


def print_calls(start: Reading, end: Reading, updates: int) -> None:
    calls = {name: n - start.calls.get(name, 0) for name, n in end.calls.items()}
    shown = ", ".join(f"{n / max(updates, 1):.2f} {name}" for name, n in sorted(calls.items()) if n)
    print(f"    Bot API calls per acknowledged update: {shown}")


async def print_cpu(run: Run, start: Reading, end: Reading, when: str) -> None:
    seconds = end.at - start.at
    used = CpuMeter.used(start.cpu, end.cpu)
    shares = ", ".join(f"{name} {100 * cpu / seconds:.0f}%" for name, cpu in used.items())
    fakes_lag = await fakes_json(run, "/__lag")
    print(f"    CPU {when} (% of one core): {shares}; fakes' own loop lag p99 {fakes_lag['p99_ms']:.1f} ms")
    problems = run.log.problems()
    if problems:
        print("    bot log: " + "; ".join(f"{n} × {line}" for line, n in problems.most_common(4)))


async def streams(run: Run, count: int) -> None:
    chats = range(STREAM_CHATS, STREAM_CHATS + count)
    start = await read(run)
    outcome = await run.poster.paced(chats, "go", 0)
    done, early, peak = await settle(run, chats.start, chats.stop, outcome.acknowledged)
    stats = await fakes_json(run, f"/__stats?lo={chats.start}&hi={chats.stop}")
    correct = sum(1 for c in chats if stats["final"].get(str(c)) == STREAM_TEXT.strip())
    cpu = f"{CpuMeter.used(start.cpu, done.cpu)['bot'] * 1000 / max(correct, 1):.1f} ms"
    print(f"\n(2) {count} concurrent streaming chats on one process")
    acknowledged = print_acks(outcome)
    print(f"    complete and exact: {correct}/{count} in {done.at - start.at:.1f} s {early}")
    print(f"    most answers streaming at once: {peak} (a replica takes no new update while its loop lags)")
    print(f"    event-loop lag p99: {lag_p99(start, done)}")
    print(f"    bot CPU: {cpu} per complete answer")
    print(f"    Redis per answer: {redis_per(start, done, correct)}")
    print_calls(start, done, outcome.acknowledged)
    await print_cpu(run, start, done, "until the last answer")
    run.table.append(Row(f"(2) {count} streams at once (peak {peak} streaming)", acknowledged, "", f"{correct}/{count}",
                         lag_p99(start, done), redis_per(start, done, correct), cpu))


def print_table(rows: list[Row]) -> None:
    """The figures of every phase, as a Markdown table (targets: overhead p99 ≤ 20 ms, loop lag p99 ≤ 50 ms)."""
    heads = ("phase", "acknowledged", "webhook → first Bot API call", "answers complete and exact",
             "event-loop lag p99", "Redis per answer (3)", "bot CPU per answer")
    print("\n| " + " | ".join(heads) + " |\n|" + "---|" * len(heads))
    for row in rows:
        print(f"| {row.phase} | {row.acknowledged} | {row.overhead or '–'} | {row.complete} | {row.lag} | "
              f"{row.redis} | {row.cpu} |")


def place(pids: dict[str, int], enabled: bool) -> str:
    """Pin the bot to the last core and the rest to the others; says where everything runs."""
    cores = sorted(os.sched_getaffinity(0))
    if not enabled or len(cores) < 2:
        return "not pinned: the bot shares the cores with the harness"
    for name, pid in pids.items():
        pin(pid, {cores[-1]} if name == "bot" else set(cores[:-1]))
    return f"bot pinned to CPU {cores[-1]}; redis, fakes and load generator to CPU {','.join(map(str, cores[:-1]))}"


def bot_env(redis_url: str, fakes_port: int, messages_per_second: int) -> dict[str, str]:
    root = f"http://127.0.0.1:{fakes_port}"
    return {"TELEGRAM_API_URL": root, "OPENAI_BASE_URL": f"{root}/v1", "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING", "USER_MESSAGES_PER_MINUTE": "0",
            # Telegram's default is 30 messages/s; bots with paid broadcasts may send up to 1,000/s. At the
            # default, 200 new chats a second cannot all be answered in real time by any bot.
            "TELEGRAM_MESSAGES_PER_SECOND": str(messages_per_second)}


async def measure(bot: BotProcess, fakes: FakesProcess, redis: Redis, args: argparse.Namespace) -> None:
    assert bot.process is not None
    pids = {"bot": bot.process.pid, "fakes": fakes.pid, "redis": children("redis-server")[0],
            "load generator": os.getpid()}
    print(place(pids, not args.no_pin))
    print(f"Telegram send limit: {args.messages_per_second} messages/s; at most {args.connections} webhook "
          "connections at once (the bot's max_connections)")
    poster = Poster(bot.port, WEBHOOK_PATH, bot.secret, connections=args.connections, keepalive=args.keepalive)
    run = Run(bot, fakes.port, CpuMeter(pids), poster, args.timeout, LogTail(bot), redis, [])
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    await warm_up(run)
    if args.rate:
        with Profile(pids["bot"], args.profile and args.profile / "ingress.txt"):
            await ingress(run, args.rate, args.seconds)
    if args.streams:
        with Profile(pids["bot"], args.profile and args.profile / "streams.txt"):
            await streams(run, args.streams)
    poster.close()
    print_table(run.table)


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with running_redis() as redis_url, FakesProcess(args.chunk, args.delay) as fakes, \
            BotProcess(bot_env(redis_url, fakes.port, args.messages_per_second)) as bot:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await measure(bot, fakes, redis, args)
        finally:
            await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=200, help="updates per second in (1); 0 skips it")
    parser.add_argument("--seconds", type=int, default=10, help="how long (1) posts")
    parser.add_argument("--streams", type=int, default=1000, help="concurrent answers in (2); 0 skips it")
    parser.add_argument("--messages-per-second", type=int, default=1000, help="TELEGRAM_MESSAGES_PER_SECOND")
    parser.add_argument("--connections", type=int, default=100, help="webhook connections at most")
    parser.add_argument("--keepalive", type=float, default=4.0,
                        help="drop webhook connections idle this long (uvicorn closes them at 5 s)")
    parser.add_argument("--chunk", type=int, default=12, help="characters per streamed piece")
    parser.add_argument("--delay", type=float, default=0.08, help="seconds between streamed pieces")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answers")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the bot to a core of its own")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record the bot with py-spy into DIR/ingress.txt and DIR/streams.txt (collapsed stacks)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
