"""Benchmark: how soon `python -m bot` serves, how soon it answers, what it costs idle, what start-up imports.

    python -m bench.startup [--runs 5] [--idle-seconds 30] [--mode webhook|polling]

(1) Spawn to serving, median of --runs starts: until the fake Bot API receives setWebhook (webhook mode) or the
    first getUpdates (polling mode), and until /healthz first answers 200.
(2) The first answer: a message posted as soon as /healthz answers (or --first-delay later; webhook mode), and
    then another one; the time from each POST until the chat shows the answer's text, median of the runs.
(3) Idle CPU: what the bot uses per second of wall time with no traffic, over --idle-seconds after the last
    start, from /proc (utime+stime, at clock-tick resolution, and the threads' schedstat in nanoseconds), and
    how often its threads wake up (context switches per second).
(4) Imports: one more start under -X importtime (which itself adds some 10-20 %); the cumulative import time of
    the bot's modules and the big SDKs, split into what came in before serving and what came in after.
Everything runs on 127.0.0.1: a real redis-server, the fake Bot API and OpenAI of bench.fakes in this process
(it only waits while the bot starts), and the real bot in its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bench.fakes import SHORT_TEXT, Fakes
from bench.httpwire import Message, get, read_message, request, response
from bench.loadgen import make_update
from bench.procs import cpu_model, cpu_seconds
from bot.config import derive_webhook_secret
from tests.bot_process import API_KEY, TOKEN, WEBHOOK_PATH, base_environment
from tests.redis_server import free_port, running_redis

SDKS = ("openai", "telegram", "redis", "fakeredis", "uvicorn", "starlette", "aiohttp", "httpx", "httpx2",
        "tiktoken", "prometheus_client", "pydantic", "uvloop", "telegramify_markdown", "pyromark", "dotenv")
SERVING = {"webhook": "setwebhook", "polling": "getupdates"}
POLL_SECONDS = 0.005
FIRST_CHAT, NEXT_CHAT = 4242, 4343


class StartupFakes(Fakes):
    """bench.fakes' Bot API and OpenAI, noting when each method first arrived; getUpdates long-polls empty."""

    def __init__(self) -> None:
        super().__init__(chunk_size=12, delay=0.0)
        self.first: dict[str, float] = {}
        self.arrived = asyncio.Event()

    def reset(self) -> None:
        self.first.clear()
        self.telegram.chats.clear()

    async def _dispatch(self, asked: Message, at: float, writer: asyncio.StreamWriter) -> None:
        path, _ = asked.target
        method = path.rsplit("/", 1)[-1].lower()
        self.first.setdefault(method, at)
        if path.startswith("/bot") and method == "getupdates":
            self.arrived.set()
            await asyncio.sleep(1.0)  # a long poll that brings nothing (the bot asks again)
            writer.write(response(200, json.dumps({"ok": True, "result": []}).encode()))
            return
        await super()._dispatch(asked, at, writer)
        self.arrived.set()

    async def until(self, check: Callable[[], bool]) -> None:
        """Wait until ``check`` holds, looking again after each request."""
        while not check():
            self.arrived.clear()
            await self.arrived.wait()

    async def first_call(self, method: str) -> float:
        """When ``method`` first arrived (waits for it)."""
        await self.until(lambda: method in self.first)
        return self.first[method]

    def shows(self, chat: int, text: str) -> bool:
        """Whether one of the chat's messages shows ``text`` (while streaming, or complete)."""
        record = self.telegram.chats.get(chat)
        return record is not None and any(shown == text for shown, _ in record.shown.values())



@dataclass
class Start:
    """One start: seconds from spawn to serving and to /healthz 200; from a POST to its answer's text, for the
    first message after /healthz and for the next one."""

    serving: float
    healthy: float
    first: float | None = None
    next: float | None = None


@dataclass
class BotRun:
    """A running `python -m bot`, where it logs, and when it was spawned."""

    process: asyncio.subprocess.Process
    port: int
    log: Path
    spawned: float

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def bot_env(mode: str, redis_url: str, fakes_port: int, port: int) -> dict[str, str]:
    root = f"http://127.0.0.1:{fakes_port}"
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY, "HOST": "127.0.0.1", "PORT": str(port),
           "TELEGRAM_API_URL": root, "OPENAI_BASE_URL": f"{root}/v1", "REDIS_URL": redis_url,
           "LOG_LEVEL": "WARNING", "USER_MESSAGES_PER_MINUTE": "0"}
    if mode == "webhook":
        env["WEBHOOK_URL"] = f"https://bot.example.test{WEBHOOK_PATH}"
    return env


async def spawn(env: dict[str, str], *python_options: str) -> BotRun:
    out, name = tempfile.mkstemp(prefix="bench-startup-", suffix=".log")
    spawned = time.monotonic()
    try:
        # A scratch working directory, so a developer's .env never leaks in.
        process = await asyncio.create_subprocess_exec(
            sys.executable, *python_options, "-m", "bot", cwd=tempfile.gettempdir(),
            env=base_environment() | env, stdout=out, stderr=asyncio.subprocess.STDOUT)
    finally:
        os.close(out)
    log = Path(name)
    return BotRun(process, int(env["PORT"]), log, spawned)


async def healthy(bot: BotRun) -> float:
    """When /healthz first answered 200."""
    while bot.process.returncode is None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            if (await get(bot.port, "/healthz")).status == 200:
                return time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"bot exited with {bot.process.returncode}:\n{bot.log.read_text(errors='replace')}")


async def answer(bot: BotRun, fakes: StartupFakes, chat: int) -> float:
    """POST one message to the webhook; seconds until the chat shows the answer's text."""
    headers = {"content-type": "application/json",
               "x-telegram-bot-api-secret-token": derive_webhook_secret(TOKEN), "connection": "close"}
    reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    posted = time.monotonic()
    writer.write(request("POST", WEBHOOK_PATH, make_update(chat, "hello"), headers))
    try:
        if (await read_message(reader)).status != 200:
            raise RuntimeError("the webhook did not take the update")
    finally:
        writer.close()
    await fakes.until(lambda: fakes.shows(chat, SHORT_TEXT))
    return time.monotonic() - posted


async def start_once(mode: str, redis: Redis, redis_url: str, fakes: StartupFakes, port: int,
                     first_delay: float = 0.0) -> tuple[Start, BotRun]:
    """One start from a clean Redis (so the webhook is registered again), measured; the bot keeps running."""
    await redis.flushdb()
    fakes.reset()
    bot = await spawn(bot_env(mode, redis_url, port, free_port()))
    serving = await asyncio.wait_for(fakes.first_call(SERVING[mode]), 30)
    ready = await asyncio.wait_for(healthy(bot), 30)
    start = Start(serving - bot.spawned, ready - bot.spawned)
    if mode == "webhook":
        await asyncio.sleep(first_delay)
        start.first = await asyncio.wait_for(answer(bot, fakes, FIRST_CHAT), 30)
        start.next = await asyncio.wait_for(answer(bot, fakes, NEXT_CHAT), 30)
    return start, bot


def wakeups(pid: int) -> int:
    """Context switches of all the process's threads so far (each one a wake-up or a preemption)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


def schedstat_seconds(pid: int) -> float:
    """CPU time of the process's live threads, in nanosecond resolution."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


async def idle_cpu(bot: BotRun, seconds: float) -> None:
    pid = bot.process.pid
    await asyncio.sleep(3.0)  # past anything start-up leaves running for a moment
    before = cpu_seconds(pid), schedstat_seconds(pid), wakeups(pid), time.monotonic()
    await asyncio.sleep(seconds)
    after = cpu_seconds(pid), schedstat_seconds(pid), wakeups(pid), time.monotonic()
    wall = after[3] - before[3]
    print(f"idle CPU over {wall:.0f} s: {(after[0] - before[0]) * 1000 / wall:.2f} ms/s (utime+stime, "
          f"±{1000 / os.sysconf('SC_CLK_TCK') / wall:.2f}), {(after[1] - before[1]) * 1000 / wall:.2f} ms/s "
          f"(schedstat); {(after[2] - before[2]) / wall:.1f} context switches/s")


async def imports(mode: str, redis: Redis, redis_url: str, fakes: StartupFakes, port: int) -> None:
    """One start under -X importtime: what came in before serving, and what after."""
    await redis.flushdb()
    fakes.reset()
    bot = await spawn(bot_env(mode, redis_url, port, free_port()), "-X", "importtime")
    try:
        await asyncio.wait_for(fakes.first_call(SERVING[mode]), 30)
        serving_at = bot.log.stat().st_size
        await asyncio.wait_for(healthy(bot), 30)
        if mode == "webhook":
            await asyncio.wait_for(answer(bot, fakes, FIRST_CHAT), 30)
        await asyncio.sleep(2.0)
        text = bot.log.read_bytes()
    finally:
        await bot.stop()
        bot.log.unlink()
    before, after = _import_times(text[:serving_at]), _import_times(text[serving_at:])
    print(f"\nimports before serving: {len(before)} modules; cumulative ms (-X importtime) of the top ones:")
    _print_imports(before)
    print(f"imports after serving (first answer, background): {len(after)} modules")
    _print_imports(after)


def _import_times(text: bytes) -> dict[str, int]:
    """Module name -> cumulative import time in microseconds, from -X importtime lines."""
    times = {}
    for line in text.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|", 2)
            times[name.strip()] = int(cumulative)
    return times


def _print_imports(times: dict[str, int]) -> None:
    ours = sorted(((us, name) for name, us in times.items() if name.startswith("bot") and us >= 5000),
                  reverse=True)
    sdks = sorted(((times[name], name) for name in SDKS if name in times), reverse=True)
    for label, rows in (("bot", ours), ("SDKs", sdks)):
        shown = ", ".join(f"{name} {us / 1000:.0f}" for us, name in rows) or "none"
        print(f"  {label}: {shown}")


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"mode: {args.mode}")
    fakes = StartupFakes()
    server = await asyncio.start_server(fakes.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with running_redis() as redis_url:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await measure(args, redis, redis_url, fakes, port)
        finally:
            await redis.aclose()
    server.close()


async def measure(args: argparse.Namespace, redis: Redis, redis_url: str, fakes: StartupFakes, port: int) -> None:
    starts = []
    for run in range(args.runs):
        start, bot = await start_once(args.mode, redis, redis_url, fakes, port, args.first_delay)
        starts.append(start)
        try:
            if run == args.runs - 1 and args.idle_seconds:
                await idle_cpu(bot, args.idle_seconds)
        finally:
            await bot.stop()
            bot.log.unlink()
    print(f"spawn to serving ({SERVING[args.mode]}): median {_median([s.serving for s in starts])} "
          f"({', '.join(f'{s.serving:.2f}' for s in starts)})")
    print(f"spawn to /healthz 200: median {_median([s.healthy for s in starts])}")
    for label, answers in (("first answer", [s.first for s in starts]), ("next answer", [s.next for s in starts])):
        taken = [a for a in answers if a is not None]
        if taken:
            print(f"{label}, from its POST to its text: median {statistics.median(taken) * 1000:.0f} ms "
                  f"({', '.join(f'{a * 1000:.0f}' for a in taken)})")
    if args.imports:
        await imports(args.mode, redis, redis_url, fakes, port)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="starts to take the median of")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle CPU window; 0 skips it")
    parser.add_argument("--mode", choices=tuple(SERVING), default="webhook")
    parser.add_argument("--first-delay", type=float, default=0.0,
                        help="seconds between /healthz answering and the first message (0: at once)")
    parser.add_argument("--no-imports", dest="imports", action="store_false", help="skip the -X importtime start")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
