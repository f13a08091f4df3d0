"""Images in a turn: sent as parts, earlier ones sent again, and a model that refuses them answered from text."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.context import ImagePolicy
from bot.domain.conversation import Conversation, ReplyOptions, TurnRequest
from bot.domain.image import Detail, ImagePart, SeenImage, StoredImage
from bot.domain.personas import PersonaCatalog
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets
from bot.domain.vision import RememberedRefusals, Vision
from bot.errors import FileNotFound, ImagesRejected
from bot.store.history import RedisHistory
from bot.store.keys import Keys
from bot.store.lock import ChatLock
from bot.store.usage import UsageLedger
from tests.domain.test_conversation import CHAT
from tests.fake_model import FakeModel, RecordingSink, Script

KEYS = Keys("t:vision")


class Source:
    """Downloads earlier images again: known ones by file id, others are gone."""

    def __init__(self, *known: str) -> None:
        self.known = set(known)
        self.asked: list[str] = []

    async def part(self, image: StoredImage) -> ImagePart:
        self.asked.append(image.file_id)
        if image.file_id not in self.known:
            raise FileNotFound("gone")
        return ImagePart(f"data:image/jpeg;base64,{image.file_id}")


def conversation(redis: Redis, model: FakeModel, source: Source, history_images: int = 2,
                 refusals: RememberedRefusals | None = None) -> Conversation:
    ledger = UsageLedger(redis, KEYS, Budgets())
    history = RedisHistory(redis, KEYS, ledger, 3600, 3600)
    counter = TokenCounter("gpt-4o-mini")
    vision = Vision(source, ImagePolicy(history_images, Detail.LOW), refusals or RememberedRefusals())
    return Conversation(history=history, ledger=ledger, model=model, lock=ChatLock(redis, KEYS, poll_seconds=0.01),
                        counter=counter, summarizer=Summarizer(history, ledger, model, counter, model_name="s",
                                                               budget=4000, max_tokens=100),
                        personas=PersonaCatalog.load(), options=ReplyOptions("gpt-test", 0.7, 256, 4000),
                        vision=vision)


def photo(file_id: str, caption: str | None = None) -> SeenImage:
    return SeenImage(StoredImage(file_id, 500, 640, 480, caption), ImagePart(f"data:image/jpeg;base64,{file_id}"))


async def send(conv: Conversation, text: str, *images: SeenImage) -> bool:
    result = await conv.reply(TurnRequest(CHAT, 7, text, images=images), RecordingSink())
    return result.images_refused


async def test_the_turns_images_go_with_its_text_and_earlier_ones_are_downloaded_again(redis: Redis) -> None:
    model, source = FakeModel(), Source("a", "b")
    conv = conversation(redis, model, source, history_images=1)
    await send(conv, "first", photo("a", "first"))
    await send(conv, "second", photo("b", "second"))
    await send(conv, "and now?")
    first, _, third = model.requests
    assert first.messages[-1].images == (ImagePart("data:image/jpeg;base64,a"),)
    users = [m for m in third.messages if m.role == "user"]
    assert [(m.content, len(m.images)) for m in users] == [("[photo: first]", 0), ("second", 1), ("and now?", 0)]
    assert source.asked == ["a", "b"]  # the second turn sent "a" again, the third "b" (the limit is 1)


async def test_an_earlier_image_that_cannot_be_had_keeps_its_stand_in(redis: Redis) -> None:
    model = FakeModel()
    conv = conversation(redis, model, Source())
    await send(conv, "look", photo("gone", "look"))
    await send(conv, "well?")
    assert [m.content for m in model.requests[-1].messages if m.role == "user"] == ["[photo: look]", "well?"]
    assert all(not m.images for m in model.requests[-1].messages)


async def test_a_model_refusing_images_is_asked_again_without_them_and_remembered(redis: Redis) -> None:
    model = FakeModel(Script(error=ImagesRejected("400")), Script(["It is a cat, I guess."]))
    refusals = RememberedRefusals()
    conv = conversation(redis, model, Source(), refusals=refusals)
    assert await send(conv, "what is it?", photo("cat", "what is it?"))
    refused, retried = model.requests
    assert refused.messages[-1].images and not retried.messages[-1].images
    assert retried.messages[-1].content == "[photo: what is it?]"
    assert await refusals.refuses_images("gpt-test")
    assert await send(conv, "and this?", photo("dog", "and this?"))  # not even tried: the model is known
    assert len(model.requests) == 3 and not model.requests[-1].messages[-1].images
    assert not await send(conv, "plain text")  # a turn without images in it is not a refusal
