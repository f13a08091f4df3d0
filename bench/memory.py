"""Benchmark: input tokens per turn over a 200-turn conversation, whole history vs this bot; Redis round trips.

    python -m bench.memory

Runs the real Conversation (budget, rolling summary, Redis store) against a real redis-server and a scripted
model; counts the tokens of every request with tiktoken, the way the classic tutorial bot (which sends the
whole history every turn) would pay for the same conversation.
"""

from __future__ import annotations

import asyncio
import statistics

from bench.roundtrips import counting_redis, reset
from bot.domain.chat import ChatKey
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.personas import PersonaCatalog
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import FakeModel, RecordingSink, Script
from tests.redis_server import running_redis

TURNS = 200
BUDGET = 4000


def question(turn: int) -> str:
    return f"Turn {turn}: tell me more about topic {turn % 17}, including the detail we discussed before? " * 2


def answer(turn: int) -> list[str]:
    return [f"Here is a considered answer for turn {turn}. " + "It covers the facts and the reasons. " * 12]


async def run(url: str) -> None:
    redis = counting_redis(url)
    await redis.flushdb()
    counter = TokenCounter("gpt-4o-mini")
    model = FakeModel(*[Script(answer(t)) for t in range(TURNS)],
                      summary="Summary: the user asked about many topics; key facts kept. " * 6)
    keys = Keys("bench")
    ledger = UsageLedger(redis, keys, Budgets())
    history = RedisHistory(redis, keys, ledger, 3600, 3600)
    summarizer = Summarizer(history, ledger, model, counter, model_name="m", budget=BUDGET, max_tokens=400)
    conversation = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, keys),
        counter=counter, summarizer=summarizer, personas=PersonaCatalog.load(),
        options=ReplyOptions("gpt-4o-mini", 0.7, 1024, BUDGET),
    )
    system = counter.count(PersonaCatalog.load().default.prompt)
    whole, ours, trips = [], [], []
    transcript_tokens = 0
    for turn in range(TURNS):
        before = len(model.requests)
        reset()
        await conversation.reply(TurnRequest(ChatKey(1), 1, question(turn)), RecordingSink())
        trips.append(reset())
        await summarizer.drain()
        reset()
        request = next(r for r in model.requests[before:] if r.model == "gpt-4o-mini")
        ours.append(sum(counter.count(m.content) for m in request.messages))
        asked = counter.count(question(turn))
        whole.append(system + transcript_tokens + asked)
        transcript_tokens += asked + counter.count(answer(turn)[0])
    summaries = sum(1 for r in model.requests if r.model == "m")
    _report(whole, ours, trips, summaries)
    await redis.aclose()


def _report(whole: list[int], ours: list[int], trips: list[int], summaries: int) -> None:
    print(f"{'turn':>5} {'whole history':>14} {'this bot':>9}")
    for turn in (1, 10, 25, 50, 100, 150, 200):
        print(f"{turn:>5} {whole[turn - 1]:>14,} {ours[turn - 1]:>9,}")
    print(f"\ninput tokens at turn {TURNS}: whole history {whole[-1]:,}, this bot {ours[-1]:,} "
          f"→ ratio {whole[-1] / ours[-1]:.1f}x")
    print(f"input tokens over {TURNS} turns: whole history {sum(whole):,}, this bot {sum(ours):,} "
          f"→ ratio {sum(whole) / sum(ours):.1f}x")
    print(f"max input tokens per turn, this bot: {max(ours):,} (budget {BUDGET:,} + prompt and new message)")
    print(f"summaries made: {summaries}")
    print(f"Redis round trips per turn (reply path): median {statistics.median(trips):.0f}, max {max(trips)}")


def main() -> None:
    with running_redis() as url:
        asyncio.run(run(url))


if __name__ == "__main__":
    main()
