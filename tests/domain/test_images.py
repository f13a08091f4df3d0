from __future__ import annotations

from collections.abc import Sequence

from bot.domain.chat import ChatKey
from bot.domain.images import ImageOptions, Painter
from bot.domain.outcome import Failure
from bot.domain.usage import Reservation, UsageRecord
from bot.errors import ImageRefused, ModelUnavailable
from tests.fake_model import CountingObserver

CHAT = ChatKey(5)


class Artist:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.prompts: list[tuple[str, str, str]] = []

    async def draw(self, prompt: str, model: str, size: str) -> bytes:
        self.prompts.append((prompt, model, size))
        if self.errors:
            raise self.errors.pop(0)
        return b"png"


class Quota:
    def __init__(self, left: int) -> None:
        self.left = left

    async def take(self, user_id: int, limit: int) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    async def give_back(self, user_id: int) -> None:
        self.left += 1


class Ledger:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    async def reserve(self, user_id: int, chat: ChatKey, tokens: int, turn_id: str | None = None) -> Reservation:
        return Reservation(tokens)

    async def release(self, reservation: Reservation) -> None: ...

    async def record(self, chat: ChatKey, records: Sequence[UsageRecord],
                     reservation: Reservation | None = None) -> None:
        self.records.extend(records)


class Moderator:
    async def flagged(self, text: str) -> bool:
        return "gore" in text


def painter(artist: Artist, quota: Quota, ledger: Ledger, **options: object) -> Painter:
    return Painter(artist, quota, ledger, ImageOptions("gpt-image-1", "1024x1024", **options),  # type: ignore[arg-type]
                   Moderator())


async def test_an_image_is_made_counted_and_priced_per_image() -> None:
    artist, quota, ledger = Artist(), Quota(1), Ledger()
    drawing = await painter(artist, quota, ledger).draw(7, CHAT, "a fox")
    assert drawing.picture == b"png" and artist.prompts == [("a fox", "gpt-image-1", "1024x1024")]
    assert ledger.records == [UsageRecord(0, 0, "gpt-image-1", 7, images=1)] and quota.left == 0
    assert (await painter(artist, quota, ledger).draw(7, CHAT, "another")).failure is Failure.IMAGE_LIMIT


async def test_a_refusal_or_failure_does_not_count_and_a_flagged_prompt_is_never_sent() -> None:
    artist, quota, ledger = Artist(ImageRefused("400"), ModelUnavailable("down")), Quota(1), Ledger()
    make = painter(artist, quota, ledger)
    assert (await make.draw(7, CHAT, "x")).failure is Failure.IMAGE_REFUSED
    assert (await make.draw(7, CHAT, "x")).failure is Failure.UNAVAILABLE
    assert (await make.draw(7, CHAT, "some gore")).failure is Failure.FLAGGED
    assert quota.left == 1 and ledger.records == [] and len(artist.prompts) == 2


async def test_operators_and_a_zero_limit_are_not_counted() -> None:
    artist, quota, ledger = Artist(), Quota(0), Ledger()
    assert (await painter(artist, quota, ledger, exempt=frozenset({7})).draw(7, CHAT, "x")).picture
    assert (await painter(artist, quota, ledger, daily_per_user=0).draw(8, CHAT, "x")).picture


async def test_a_made_image_reaches_the_metrics_as_the_ledger_counts_it() -> None:
    observer, ledger = CountingObserver(), Ledger()
    make = Painter(Artist(), Quota(1), ledger, ImageOptions("gpt-image-1", "1024x1024", 1), observer=observer)
    assert (await make.draw(7, CHAT, "a fox")).picture == b"png"
    assert observer.records == ledger.records == [UsageRecord(0, 0, "gpt-image-1", 7, images=1)]
