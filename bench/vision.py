"""Benchmark: tokens per image turn, and the history's tokens over 20 image turns (flat once
VISION_HISTORY_IMAGES earlier images go with each request; older ones are text stand-ins).

    python -m bench.vision

Runs the real Conversation (budget, Redis store) against a real redis-server, a scripted model and an image
source that hands out data: URLs as the Telegram side would (counting the downloads). Text is counted with
tiktoken, images by OpenAI's rule (a 1280×960 photo at high or auto detail: 765 tokens; low: 85).
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.context import ImagePolicy
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.image import Detail, ImagePart, SeenImage, StoredImage, image_tokens
from bot.domain.personas import PersonaCatalog
from bot.domain.ports import ModelRequest
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets
from bot.domain.vision import Vision
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.fake_model import FakeModel, RecordingSink, Script
from tests.redis_server import running_redis

TURNS = 20
BUDGET = 8000
WIDTH, HEIGHT = 1280, 960  # the size Telegram's largest photo size within 2048 px usually has


class Downloads:
    """An ImageSource that counts what it is asked to download again."""

    def __init__(self) -> None:
        self.count = 0

    async def part(self, image: StoredImage) -> ImagePart:
        self.count += 1
        return ImagePart(f"data:image/jpeg;base64,{image.file_id}")


def photo(turn: int) -> SeenImage:
    return SeenImage(StoredImage(f"photo{turn}", 180_000, WIDTH, HEIGHT, f"What is in photo {turn}?"),
                     ImagePart(f"data:image/jpeg;base64,photo{turn}"))


def cost(request: ModelRequest, counter: TokenCounter, detail: Detail) -> tuple[int, int]:
    """(the whole request's input tokens, those of its history: neither the system prompt nor the new turn)."""
    def tokens(index: int) -> int:
        message = request.messages[index]
        return counter.count(message.content) + len(message.images) * image_tokens(WIDTH, HEIGHT, detail)

    total = sum(tokens(i) for i in range(len(request.messages)))
    return total, total - tokens(0) - tokens(len(request.messages) - 1)


async def run(url: str, history_images: int, detail: Detail) -> tuple[list[int], list[int], int]:
    redis: Redis = Redis.from_url(url, decode_responses=True)
    await redis.flushdb()
    counter = TokenCounter("gpt-4o-mini")
    model = FakeModel(*[Script([f"Photo {t} shows a small red house by a lake. "]) for t in range(TURNS)])
    keys = Keys("bench")
    ledger = UsageLedger(redis, keys, Budgets())
    history = RedisHistory(redis, keys, ledger, 3600, 3600)
    downloads = Downloads()
    conversation = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, keys), counter=counter,
        summarizer=Summarizer(history, ledger, model, counter, model_name="m", budget=BUDGET, max_tokens=400),
        personas=PersonaCatalog.load(), options=ReplyOptions("gpt-4o-mini", 0.7, 1024, BUDGET),
        vision=Vision(downloads, ImagePolicy(history_images, detail)),
    )
    totals, histories = [], []
    for turn in range(TURNS):
        image = photo(turn)
        await conversation.reply(TurnRequest(ChatKey(1), 1, image.stored.caption or "", images=(image,)),
                                 RecordingSink())
        total, earlier = cost(model.requests[-1], counter, detail)
        totals.append(total)
        histories.append(earlier)
    await redis.aclose()
    return totals, histories, downloads.count


def main() -> None:
    with running_redis() as url:
        runs = {(n, d): asyncio.run(run(url, n, d)) for n, d in ((2, Detail.AUTO), (2, Detail.LOW),
                                                                 (TURNS, Detail.AUTO))}
    print(f"a {WIDTH}×{HEIGHT} photo: {image_tokens(WIDTH, HEIGHT, Detail.AUTO)} tokens at auto/high detail, "
          f"{image_tokens(WIDTH, HEIGHT, Detail.LOW)} at low")
    print(f"{'turn':>5} {'input, 2 resent':>16} {'history, 2 resent':>18} {'history, low':>13} "
          f"{'history, all resent':>20}")
    for turn in (1, 2, 3, 4, 5, 10, 15, 20):
        i = turn - 1
        print(f"{turn:>5} {runs[2, Detail.AUTO][0][i]:>16,} {runs[2, Detail.AUTO][1][i]:>18,} "
              f"{runs[2, Detail.LOW][1][i]:>13,} {runs[TURNS, Detail.AUTO][1][i]:>20,}")
    first = runs[2, Detail.AUTO][0][0]
    print(f"\ntokens of one image turn (first turn, system prompt included): {first:,}")
    print(f"history tokens after {TURNS} image turns: {runs[2, Detail.AUTO][1][-1]:,} with VISION_HISTORY_IMAGES=2 "
          f"vs {runs[TURNS, Detail.AUTO][1][-1]:,} if every earlier image went again")
    print(f"downloads of earlier images over {TURNS} turns: {runs[2, Detail.AUTO][2]} (2 a turn once there are 2)")


if __name__ == "__main__":
    main()
