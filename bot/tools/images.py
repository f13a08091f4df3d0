"""generate_image: the model makes a picture for the user, sent into the turn's chat (or topic) as a photo.

The picture goes through the Painter like /image (moderation, DAILY_IMAGES_PER_USER, usage); the photo is sent by
the PhotoOutbox the wiring passes in (Telegram's side), so the model is told only whether the user got it.
"""

from __future__ import annotations

from bot.domain.images import Painter
from bot.domain.outcome import Failure
from bot.domain.ports import PhotoOutbox
from bot.domain.tools import JSONObject, Progress, ToolContext, ToolError, ToolSpec

NAME = "generate_image"
PROGRESS_CHARS = 80  # of the prompt in the progress line
PROMPT_CHARS = 4000  # gpt-image-1 takes up to 32,000; a caption shows the first 1024
SENT = ("The image was sent to the user in this chat as a photo, with the prompt as its caption. Do not describe "
        "it at length or give a link; a short line about it is enough.")

# What the model is told when there is no picture, so that it can tell the user.
WHY_NOT = {
    Failure.IMAGE_LIMIT: "the user has made today's images (the daily limit); more can be made after 00:00 UTC",
    Failure.IMAGE_REFUSED: "the image model refused this prompt (content policy); the user may describe it "
                           "differently",
    Failure.FLAGGED: "the prompt was refused by the content policy (moderation)",
    Failure.MODERATION_UNAVAILABLE: "image generation is unavailable right now (the prompt could not be checked)",
    Failure.MISCONFIGURED: "image generation is unavailable: the image model is not set up for this bot",
}
UNAVAILABLE = "image generation is unavailable right now; the user may try again later or use /image"
NOT_SENT = "the image was made but Telegram did not accept the photo, so the user has not received it"


def spec(seconds: float | None = None) -> ToolSpec:
    """What the model is told; ``seconds``: this tool's time limit (a picture takes longer than most calls)."""
    return ToolSpec(
        name=NAME,
        description=(
            "Make a picture from a text description and send it to the user in this chat as a photo. Use it when "
            "the user asks you to draw, paint or make an image. `prompt` describes the whole picture in detail "
            "(subject, style, colours, composition); the user sees it as the photo's caption."),
        parameters={"type": "object", "required": ["prompt"], "properties": {
            "prompt": {"type": "string", "description": "a detailed description of the picture to make"}}},
        title="images",
        seconds=seconds,
    )


class GenerateImage:
    """generate_image(prompt): drawn by the Painter for the asker, sent as a photo into the turn's chat."""

    def __init__(self, painter: Painter, photos: PhotoOutbox, seconds: float | None = None) -> None:
        self._painter = painter
        self._photos = photos
        self.spec = spec(seconds)

    def progress(self, arguments: JSONObject) -> Progress:
        prompt = arguments.get("prompt")
        subject = " ".join(prompt.split()) if isinstance(prompt, str) else ""
        return Progress("image", subject if len(subject) <= PROGRESS_CHARS else subject[:PROGRESS_CHARS - 1] + "…")

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        prompt = arguments.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ToolError("`prompt` must be a non-empty string describing the picture")
        prompt = prompt.strip()[:PROMPT_CHARS]
        drawing = await self._painter.draw(context.user_id, context.chat, prompt)
        if drawing.picture is None:
            raise ToolError(WHY_NOT.get(drawing.failure, UNAVAILABLE) if drawing.failure else UNAVAILABLE)
        reply_to = context.message_id if context.chat.is_group else None
        if not await self._photos.send_photo(context.chat, drawing.picture, prompt, reply_to):
            raise ToolError(NOT_SENT)
        return SENT
