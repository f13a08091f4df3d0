"""What the domain does with images: earlier ones downloaded again for a request, and whether the model reads
images at all (learned from its server's refusals)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.domain.context import Context, ImagePolicy, as_message, build_context
from bot.domain.image import ImagePart, SeenImage, StoredImage
from bot.domain.ports import ChatMessage, ImageSource, ImageSupport
from bot.domain.transcript import Transcript, Turn
from bot.errors import FileError, FileUnavailable, ImageUnreadable

logger = logging.getLogger(__name__)

REMEMBER_SECONDS = 86400.0


class RememberedRefusals:
    """ImageSupport kept in this process for a day per model (until a store shared by replicas backs the seam)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._refused: dict[str, float] = {}

    async def refuses_images(self, model: str) -> bool:
        at = self._refused.get(model)
        return at is not None and self._clock() - at < REMEMBER_SECONDS

    async def refused_images(self, model: str) -> None:
        self._refused[model] = self._clock()


@dataclass(frozen=True)
class Vision:
    """Images in requests: ``source`` downloads earlier ones again (None: they stay text stand-ins)."""

    source: ImageSource | None = None
    policy: ImagePolicy = field(default_factory=ImagePolicy)
    support: ImageSupport = field(default_factory=RememberedRefusals)

    @property
    def history_policy(self) -> ImagePolicy:
        """The policy build_context applies: no earlier images without a way to download them."""
        return self.policy if self.source is not None else replace(self.policy, history_images=0)

    async def context(self, prompt: str, transcript: Transcript, user_turn: Turn, images: Sequence[SeenImage] | None,
                      budget: int, max_turns: int | None = None) -> Context:
        """The request's context: with the turn's ``images`` and the earlier ones sent again, or (``images``
        None: the model reads none) every image as its text stand-in."""
        if images is None:
            return build_context(prompt, transcript, as_message(user_turn), budget, max_turns)
        user_message = as_message(user_turn, [image.part for image in images])
        context = build_context(prompt, transcript, user_message, budget, max_turns, self.history_policy)
        return replace(context, messages=await self.with_earlier_images(context))

    async def with_earlier_images(self, context: Context) -> tuple[ChatMessage, ...]:
        """The context's messages, each earlier image turn marked for it sent with its images downloaded again;
        one whose images cannot be had keeps its stand-in."""
        messages = list(context.messages)
        for again in context.resend:
            try:
                parts = [await self._part(image) for image in again.images]
            except (FileError, ImageUnreadable) as exc:
                logger.info("an earlier image could not be sent again (%s); its stand-in goes instead",
                            type(exc).__name__)
                continue
            messages[again.index] = as_message(again.turn, parts)
        return tuple(messages)

    async def _part(self, image: StoredImage) -> ImagePart:
        if self.source is None:
            raise FileUnavailable("no image source")
        return await self.source.part(image)
