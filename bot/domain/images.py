"""Images on request: the prompt moderated, the user's daily images counted, the picture made and priced."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.chat import ChatKey
from bot.domain.outcome import Failure
from bot.domain.ports import ImageModel, ImageQuota, Ledger, Moderator, NoObserver, TurnObserver
from bot.domain.usage import UsageRecord
from bot.errors import ImageRefused, ModelAccessDenied, ModelError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageOptions:
    """IMAGE_MODEL, IMAGE_SIZE, DAILY_IMAGES_PER_USER (0 = unlimited) and who is exempt from it."""

    model: str
    size: str
    daily_per_user: int = 10
    exempt: frozenset[int] = frozenset()
    moderation_fail_closed: bool = False


@dataclass(frozen=True)
class Drawing:
    """The picture made, or why there is none."""

    picture: bytes | None = None
    failure: Failure | None = None


class Painter:
    """Makes images for users within their daily number, counting each on the usage ledger."""

    def __init__(self, model: ImageModel, quota: ImageQuota, ledger: Ledger, options: ImageOptions,
                 moderator: Moderator | None = None, observer: TurnObserver | None = None) -> None:
        self._model = model
        self._quota = quota
        self._ledger = ledger
        self._options = options
        self._moderator = moderator
        self._observer = observer or NoObserver()

    async def draw(self, user_id: int, chat: ChatKey, prompt: str) -> Drawing:
        """One image of ``prompt``; a flagged prompt, today's limit or a failed call is a Failure."""
        refusal = await self._moderate(prompt)
        if refusal is not None:
            return Drawing(failure=refusal)
        counted = self._counted(user_id)
        if counted and not await self._quota.take(user_id, self._options.daily_per_user):
            return Drawing(failure=Failure.IMAGE_LIMIT)
        try:
            picture = await self._model.draw(prompt, self._options.model, self._options.size)
        except ModelError as exc:
            if counted:
                await self._quota.give_back(user_id)
            logger.warning("image generation failed: %s", exc)
            return Drawing(failure=_failure_of(exc))
        record = UsageRecord(0, 0, self._options.model, user_id, images=1)
        await self._ledger.record(chat, [record])
        self._observer.tokens_used(record)
        return Drawing(picture=picture)

    def _counted(self, user_id: int) -> bool:
        return self._options.daily_per_user > 0 and user_id not in self._options.exempt

    async def _moderate(self, prompt: str) -> Failure | None:
        if self._moderator is None:
            return None
        try:
            return Failure.FLAGGED if await self._moderator.flagged(prompt) else None
        except ModelError as exc:
            logger.warning("moderation failed (%s) for an image prompt", exc)
            return Failure.MODERATION_UNAVAILABLE if self._options.moderation_fail_closed else None


def _failure_of(exc: ModelError) -> Failure:
    if isinstance(exc, ImageRefused):
        return Failure.IMAGE_REFUSED
    return Failure.MISCONFIGURED if isinstance(exc, ModelAccessDenied) else Failure.UNAVAILABLE
