from __future__ import annotations

import json

from bot.domain.chat import ChatKey
from bot.domain.images import ImageOptions, Painter
from bot.domain.tools import Outcome, Progress, Toolbox, ToolCall, ToolContext
from bot.errors import ImageRefused, ModelUnavailable
from bot.telegram import texts
from bot.tools.images import GenerateImage
from tests.domain.test_images import Artist, Ledger, Moderator, Quota

PRIVATE = ToolContext(ChatKey(42), user_id=42, message_id=7)
TOPIC = ToolContext(ChatKey(-100, 3), user_id=5, message_id=70)


class Photos:
    def __init__(self, accepts: bool = True) -> None:
        self.accepts = accepts
        self.sent: list[tuple[ChatKey, bytes, str, int | None]] = []

    async def send_photo(self, chat: ChatKey, picture: bytes, caption: str, reply_to: int | None = None) -> bool:
        self.sent.append((chat, picture, caption, reply_to))
        return self.accepts


def toolbox(artist: Artist, photos: Photos, left: int = 10, seconds: float | None = None) -> Toolbox:
    painter = Painter(artist, Quota(left), Ledger(), ImageOptions("gpt-image-1", "1024x1024"),
                      Moderator())
    return Toolbox([GenerateImage(painter, photos, seconds)])


async def call(box: Toolbox, context: ToolContext, prompt: str) -> tuple[str, Outcome]:
    result = await box.run(ToolCall("c1", "generate_image", json.dumps({"prompt": prompt})), context, 5)
    return result.content, result.outcome


async def test_the_picture_is_sent_into_the_turns_chat_with_the_prompt_as_caption() -> None:
    photos = Photos()
    content, outcome = await call(toolbox(Artist(), photos), PRIVATE, "  a lighthouse at dawn ")
    assert outcome is Outcome.OK
    assert content.startswith("The image was sent to the user")
    assert photos.sent == [(ChatKey(42), b"png", "a lighthouse at dawn", None)]


async def test_in_a_group_topic_the_photo_replies_to_the_message_that_asked() -> None:
    photos = Photos()
    await call(toolbox(Artist(), photos), TOPIC, "a fox")
    assert photos.sent == [(ChatKey(-100, 3), b"png", "a fox", 70)]


async def test_each_failure_is_told_to_the_model_and_nothing_is_sent() -> None:
    photos = Photos()
    assert await call(toolbox(Artist(), photos, left=0), PRIVATE, "a fox") == (
        "Error: the user has made today's images (the daily limit); more can be made after 00:00 UTC",
        Outcome.ERROR)
    refused, _ = await call(toolbox(Artist(ImageRefused("policy")), photos), PRIVATE, "a fox")
    assert "refused this prompt (content policy)" in refused
    flagged, _ = await call(toolbox(Artist(), photos), PRIVATE, "gore")
    assert "refused by the content policy" in flagged
    down, _ = await call(toolbox(Artist(ModelUnavailable("down")), photos), PRIVATE, "a fox")
    assert down.startswith("Error: image generation is unavailable right now")
    empty, outcome = await call(toolbox(Artist(), photos), PRIVATE, "  ")
    assert outcome is Outcome.ERROR and "`prompt`" in empty
    assert photos.sent == []


async def test_a_photo_telegram_refuses_is_reported_as_not_received() -> None:
    content, outcome = await call(toolbox(Artist(), Photos(accepts=False)), PRIVATE, "a fox")
    assert outcome is Outcome.ERROR and "has not received it" in content


async def test_the_progress_line_shows_the_prompt_shortened_and_the_tool_has_its_own_time_limit() -> None:
    box = toolbox(Artist(), Photos(), seconds=120)
    assert box.progress(ToolCall("c1", "generate_image", '{"prompt": "a red\\nfox"}')) == Progress("image", "a red fox")
    long = box.progress(ToolCall("c1", "generate_image", json.dumps({"prompt": "x" * 200})))
    assert len(long.subject) == 80 and long.subject.endswith("…")
    assert texts.progress("image", "a red fox") == "🎨 Drawing: “a red fox”"
    assert box.specs()[0].seconds == 120
