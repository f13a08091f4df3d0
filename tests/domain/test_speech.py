"""Hearing a recording: the budget is asked first, the transcription's seconds and tokens are counted after."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.chat import ChatKey
from bot.domain.outcome import Failure
from bot.domain.ports import Heard, Recording, Usage
from bot.domain.speech import Listener, expected_tokens
from bot.domain.tokens import TokenCounter
from bot.domain.usage import Budgets, ModelTokens, PriceTable
from bot.errors import ModelAccessDenied, ModelUnavailable
from bot.store.keys import Keys
from bot.store.usage import UsageLedger
from tests.fake_model import CountingObserver

CHAT = ChatKey(-100)
MINUTE = Recording(b"OggS", "voice.ogg", 60)


class FakeTranscriber:
    def __init__(self, *answers: Heard | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Recording, str]] = []

    async def transcribe(self, recording: Recording, model: str) -> Heard:
        self.calls.append((recording, model))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def listener(redis: Redis, transcriber: FakeTranscriber, budgets: Budgets | None = None) -> tuple[
        Listener, UsageLedger]:
    ledger = UsageLedger(redis, Keys("t:1"), budgets or Budgets())
    return Listener(transcriber, ledger, TokenCounter("gpt-4o-mini"), "gpt-4o-mini-transcribe"), ledger


async def test_a_transcript_is_returned_and_its_minute_counted_for_the_user_and_the_chat(redis: Redis) -> None:
    hearing, ledger = listener(redis, FakeTranscriber(Heard("  Buy milk.  ")))
    result = await hearing.hear(7, CHAT, MINUTE)
    assert result.heard == Heard("Buy milk.") and result.failure is None
    (mine,) = (await ledger.spending(user_id=7)).today
    assert (mine.model, mine.prompt, mine.seconds) == ("gpt-4o-mini-transcribe", 1000, 60)  # audio tokens, estimated
    assert (await ledger.spending(chat=CHAT)).today == (mine,)
    assert PriceTable().cost([mine]) == 0.003  # a minute at the built-in per-minute price


async def test_reported_tokens_are_counted_as_reported(redis: Redis) -> None:
    hearing, ledger = listener(redis, FakeTranscriber(Heard("Hi.", Usage(40, 2))))
    await hearing.hear(7, CHAT, MINUTE)
    (mine,) = (await ledger.spending(user_id=7)).today
    assert (mine.prompt, mine.completion, mine.seconds) == (40, 2, 60)


async def test_a_file_of_no_stated_length_counts_the_length_the_server_reports(redis: Redis) -> None:
    hearing, ledger = listener(redis, FakeTranscriber(Heard("Hi.", seconds=89.6)))
    await hearing.hear(7, CHAT, Recording(b"RIFF", "audio.wav", 0))
    (mine,) = (await ledger.spending(user_id=7)).today
    assert (mine.prompt, mine.seconds) == (1500, 90)  # its audio tokens estimated from the server's length


async def test_no_room_in_the_budget_means_no_transcription(redis: Redis) -> None:
    transcriber = FakeTranscriber(Heard("never"))
    hearing, _ = listener(redis, transcriber, Budgets(per_user=expected_tokens(60) - 1))
    assert (await hearing.hear(7, CHAT, MINUTE)).failure is Failure.USER_BUDGET
    assert transcriber.calls == []


async def test_a_file_of_no_stated_length_reserves_for_the_longest_recording_taken(redis: Redis) -> None:
    transcriber = FakeTranscriber(Heard("never"))
    hearing, _ = listener(redis, transcriber, Budgets(per_user=expected_tokens(600) - 1))
    assert (await hearing.hear(7, CHAT, Recording(b"RIFF", "audio.wav", 0))).failure is Failure.USER_BUDGET
    assert transcriber.calls == []  # VOICE_MAX_SECONDS' worth would not fit (a minute's would)


async def test_a_failed_transcription_is_a_failure_and_holds_nothing_of_the_budget(redis: Redis) -> None:
    hearing, ledger = listener(redis, FakeTranscriber(ModelUnavailable("HTTP 503"), Heard("again")),
                               Budgets(per_user=expected_tokens(60)))
    assert (await hearing.hear(7, CHAT, MINUTE)).failure is Failure.NOT_HEARD
    assert (await ledger.spending(user_id=7)).today == ()
    assert (await hearing.hear(7, CHAT, MINUTE)).heard == Heard("again")  # the estimate was released


async def test_refused_credentials_say_the_bot_is_not_set_up_rather_than_try_again(redis: Redis) -> None:
    hearing, _ = listener(redis, FakeTranscriber(ModelAccessDenied("HTTP 401: invalid_api_key")))
    assert (await hearing.hear(7, CHAT, MINUTE)).failure is Failure.MISCONFIGURED


async def test_silence_is_a_failure_of_its_own_but_was_paid_for(redis: Redis) -> None:
    hearing, ledger = listener(redis, FakeTranscriber(Heard(" ")))
    assert (await hearing.hear(7, CHAT, MINUTE)).failure is Failure.NOTHING_HEARD
    assert (await ledger.spending(user_id=7)).today[0].seconds == 60


def test_models_priced_by_the_minute_cost_their_seconds_and_others_their_tokens() -> None:
    prices = PriceTable(minute_overrides=[("my-whisper", 0.01)])
    assert prices.cost([ModelTokens("my-whisper", 999, 999, seconds=30)]) == 0.005
    assert prices.cost([ModelTokens("gpt-4o-mini", 1_000_000, 0)]) == 0.15
    assert prices.cost([ModelTokens("unknown-transcriber", 0, 0, seconds=30)]) is None


async def test_a_transcription_reaches_the_metrics_with_its_seconds(redis: Redis) -> None:
    observer = CountingObserver()
    ledger = UsageLedger(redis, Keys("t:1"), Budgets())
    hearing = Listener(FakeTranscriber(Heard("Hi.")), ledger, TokenCounter("gpt-4o-mini"), "gpt-4o-mini-transcribe",
                       observer=observer)
    await hearing.hear(7, CHAT, MINUTE)
    (record,) = observer.records
    assert (record.model, record.seconds, record.user_id) == ("gpt-4o-mini-transcribe", 60, 7)
