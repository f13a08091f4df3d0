"""Benchmark: Bot API calls per reply and time to first visible text, this bot vs a character threshold.

    python -m bench.streaming

Synthetic streams (short, 1,000 and 4,000 tokens at 30 and 100 tokens/s) run in virtual time through the
real TelegramReplySink and a fake Bot API that enforces 4096 units; the comparison edits every N new
characters as popular bots do (N = 15 and 90), ignoring flood control (which would make it slower still).
"""

from __future__ import annotations

import asyncio
from typing import cast

from telegram import Bot

from bot.domain.chat import ChatKey
from bot.domain.outcome import Ending
from bot.telegram.pacing import Pacer
from bot.telegram.sink import Cadence, Target, TelegramReplySink
from tests.fake_bot import FakeBot
from tests.virtual_clock import VirtualClock

TOKEN_TEXT = "word "  # about one token
STREAMS = [("short", 50), ("1,000 tokens", 1000), ("4,000 tokens", 4000)]
RATES = [30, 100]


async def ours(tokens: int, rate: int, group: bool) -> tuple[int, float, int]:
    clock = VirtualClock()
    bot = FakeBot(clock)
    target = Target(ChatKey(-1 if group else 1), is_group=group)
    sink = TelegramReplySink(cast(Bot, bot), target, Pacer(clock), Cadence(1.0, 3.0, "edit", 600.0), stop_token="t",
                             clock=clock, sleep=clock.sleep)
    async with sink:
        text = ""
        for _ in range(tokens):
            text += TOKEN_TEXT
            await sink.show(text)
            await clock.advance(1 / rate)
        finish = asyncio.create_task(sink.finish(text, Ending.COMPLETE))
        while not finish.done():
            await clock.advance(0.5)
        calls = len(bot.text_calls())
        return calls, sink.first_visible_at or 0.0, len(bot.messages)


def threshold(tokens: int, rate: int, every: int) -> tuple[int, float]:
    """Edit whenever ``every`` new characters arrived; a new message per 4096 characters."""
    calls, shown, first = 0, 0, None
    for index in range(1, tokens + 1):
        length = index * len(TOKEN_TEXT)
        if length - shown >= every:
            calls, shown = calls + 1, length
            first = first if first is not None else index / rate
    return calls + 1, first if first is not None else tokens / rate


async def main_async() -> None:
    print(f"{'stream':<14}{'tok/s':>6}{'this bot (private)':>20}{'this bot (group)':>18}"
          f"{'every 15 chars':>16}{'every 90 chars':>16}{'first text: ours':>18}{'/ 15 chars':>12}")
    for name, tokens in STREAMS:
        for rate in RATES:
            private_calls, first, _ = await ours(tokens, rate, group=False)
            group_calls, _, _ = await ours(tokens, rate, group=True)
            calls15, first15 = threshold(tokens, rate, 15)
            calls90, _ = threshold(tokens, rate, 90)
            print(f"{name:<14}{rate:>6}{private_calls:>20}{group_calls:>18}{calls15:>16}{calls90:>16}"
                  f"{first * 1000:>16.0f}ms{first15 * 1000:>10.0f}ms")


if __name__ == "__main__":
    asyncio.run(main_async())
