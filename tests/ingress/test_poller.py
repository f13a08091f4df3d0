"""The poller: getUpdates offsets confirm only what is in the stream; failures wait (injected sleep) and retry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.errors import StoreUnavailable
from bot.ingress.poller import LONG_POLL_SECONDS, Poller
from bot.ingress.shape import UpdateRejected


class Stream:
    """The update stream as the poller sees it: submit, failing for some updates as scripted."""

    def __init__(self, failures: dict[int, list[Exception]] | None = None) -> None:
        self.queued: list[int] = []
        self.failures = failures or {}
        self.blocked: set[int] = set()
        self.waiting = asyncio.Event()

    async def submit(self, data: dict[str, Any]) -> bool:
        update_id = data["update_id"]
        if update_id in self.blocked:  # a submit that never returns, until the poller is stopped
            self.waiting.set()
            await asyncio.Event().wait()
        if self.failures.get(update_id):
            raise self.failures[update_id].pop(0)
        self.queued.append(update_id)
        return True


@dataclass(frozen=True)
class Call:
    offset: int | None
    timeout: int | None
    queued: tuple[int, ...]  # what the stream held when the call was made


class FakeBot:
    """getUpdates like Telegram's: updates below the offset are confirmed and gone; scripted errors by call number."""

    def __init__(self, stream: Stream, *update_ids: int, errors: dict[int, Exception] | None = None) -> None:
        self.pending = list(update_ids)
        self.errors = errors or {}
        self.calls: list[Call] = []
        self.idle = asyncio.Event()
        self._stream = stream

    async def get_updates(self, offset: int | None = None, limit: int | None = None,
                          timeout: int | None = None,  # noqa: ASYNC109 - the Bot API's parameter
                          allowed_updates: Sequence[str] | None = None) -> Sequence[Update]:
        self.calls.append(Call(offset, timeout, tuple(self._stream.queued)))
        if len(self.calls) - 1 in self.errors:
            raise self.errors[len(self.calls) - 1]
        self.pending = [u for u in self.pending if u >= (offset or 0)]
        if timeout and not self.pending:  # a long poll with nothing new: it lasts until the poller is stopped
            self.idle.set()
            await asyncio.Event().wait()
        return tuple(Update(update_id=u) for u in self.pending[:limit])

    @property
    def offsets(self) -> list[int | None]:
        return [c.offset for c in self.calls]


class Sleeps:
    """The poller's sleep: records how long it was asked to wait, waits not at all."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


async def poll_until(poller: Poller, event: asyncio.Event) -> None:
    """Run the poller until ``event`` (then stop it, as the service does), or until it ends by itself."""
    run, reached = asyncio.create_task(poller.run()), asyncio.create_task(event.wait())
    await asyncio.wait([run, reached], timeout=5, return_when=asyncio.FIRST_COMPLETED)
    reached.cancel()
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run


def setup(*update_ids: int, errors: dict[int, Exception] | None = None,
          failures: dict[int, list[Exception]] | None = None) -> tuple[Stream, FakeBot, Sleeps, Poller]:
    stream = Stream(failures)
    bot, sleeps = FakeBot(stream, *update_ids, errors=errors), Sleeps()
    return stream, bot, sleeps, Poller(bot, stream.submit, sleep=sleeps)


async def test_every_update_is_in_the_stream_before_its_offset_is_confirmed() -> None:
    stream, bot, sleeps, poller = setup(1, 2, 3)
    await poll_until(poller, bot.idle)
    assert stream.queued == [1, 2, 3]
    assert bot.offsets[:2] == [None, 4]
    assert bot.calls[1].queued == (1, 2, 3)
    assert bot.calls[0].timeout == LONG_POLL_SECONDS and sleeps.seconds == []


async def test_an_update_the_store_did_not_take_stays_unconfirmed_and_is_retried_with_backoff() -> None:
    outage: list[Exception] = [StoreUnavailable("ConnectionError"), StoreUnavailable("ConnectionError")]
    stream, bot, sleeps, poller = setup(1, 2, 3, failures={2: outage})
    await poll_until(poller, bot.idle)
    assert stream.queued == [1, 2, 3]
    assert bot.offsets[:4] == [None, 2, 2, 4]  # 1 confirmed; 2 and 3 asked for again until 2 is in
    assert sleeps.seconds == [1.0, 2.0]


async def test_network_errors_retry_with_a_doubling_backoff_that_resets_after_a_good_poll() -> None:
    errors: dict[int, Exception] = {0: NetworkError("down"), 1: TimedOut(), 2: NetworkError("down"), 4: Conflict("x")}
    stream, bot, sleeps, poller = setup(1, errors=errors)
    await poll_until(poller, bot.idle)
    assert sleeps.seconds == [1.0, 2.0, 4.0, 1.0]
    assert stream.queued == [1]


async def test_the_backoff_stops_growing_at_30_seconds() -> None:
    stream, bot, sleeps, poller = setup(1, errors={n: NetworkError("down") for n in range(8)})
    await poll_until(poller, bot.idle)
    assert sleeps.seconds == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert stream.queued == [1]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's int-or-timedelta
async def test_a_flood_wait_waits_the_time_telegram_asks_for() -> None:
    errors: dict[int, Exception] = {0: RetryAfter(timedelta(seconds=7)), 1: NetworkError("down")}
    stream, bot, sleeps, poller = setup(1, errors=errors)
    await poll_until(poller, bot.idle)
    assert sleeps.seconds == [7.0, 1.0]  # and the flood wait did not grow the backoff
    assert stream.queued == [1]


async def test_a_rejected_token_ends_the_run_without_retrying() -> None:
    stream, bot, sleeps, poller = setup(1, errors={0: InvalidToken()})
    with pytest.raises(InvalidToken):
        await asyncio.wait_for(poller.run(), timeout=5)
    assert len(bot.calls) == 1 and sleeps.seconds == [] and stream.queued == []


async def test_an_update_that_cannot_be_read_is_skipped_and_does_not_hold_up_the_others() -> None:
    stream, bot, _, poller = setup(1, 2, 3, failures={2: [UpdateRejected("KeyError")]})
    await poll_until(poller, bot.idle)
    assert stream.queued == [1, 3]
    assert bot.offsets[1] == 4


async def test_a_stop_mid_batch_confirms_what_is_in_the_stream_and_nothing_more() -> None:
    stream, bot, _, poller = setup(1, 2, 3)
    stream.blocked.add(2)
    await poll_until(poller, stream.waiting)
    assert bot.calls[-1] == Call(2, 0, (1,))  # 1 confirmed on the way out; 2 and 3 stay with Telegram
    stream.blocked.clear()
    restarted = Poller(bot, stream.submit, sleep=Sleeps())
    await poll_until(restarted, bot.idle)
    assert stream.queued == [1, 2, 3]  # 2 and 3 again, 1 not
