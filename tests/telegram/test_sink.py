from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.domain.chat import ChatKey
from bot.domain.outcome import Ending, Failure
from bot.domain.tools import Progress
from bot.telegram.markdown.quote import quoted
from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT, Rendered, render, utf16_len
from bot.telegram.pacing import Pacer
from bot.telegram.sink import Cadence, Handover, Target, TelegramReplySink
from bot.telegram.texts import FAILURES, NOTES
from tests.fake_bot import FakeBot
from tests.virtual_clock import VirtualClock

PRIVATE = Target(ChatKey(42))
GROUP = Target(ChatKey(-100, 7), is_group=True, reply_to=99)


def make(clock: VirtualClock, target: Target = PRIVATE, *, mode: str = "edit", pacer: Pacer | None = None,
         bot: FakeBot | None = None, handover: Handover | None = None) -> tuple[TelegramReplySink, FakeBot]:
    bot = bot or FakeBot(clock)
    sink = TelegramReplySink(cast(Bot, bot), target, pacer or Pacer(clock), Cadence(1.0, 3.0, mode, 600.0),
                             stop_token="abc", clock=clock, sleep=clock.sleep, handover=handover)
    return sink, bot


async def stream(clock: VirtualClock, sink: TelegramReplySink, chunks: list[str], every: float,
                 ending: Ending = Ending.COMPLETE) -> str:
    """The whole answer through the sink, from entering it to its exit; returns the answer."""
    async with sink:
        return await feed(clock, sink, chunks, every, ending)


async def feed(clock: VirtualClock, sink: TelegramReplySink, chunks: list[str], every: float,
               ending: Ending = Ending.COMPLETE, text: str = "") -> str:
    """Feed chunks after ``text`` at a steady pace in virtual time, then finish; returns the whole answer."""
    for chunk in chunks:
        text += chunk
        await sink.show(text)
        await clock.advance(every)
    finish = asyncio.create_task(sink.finish(text, ending))
    while not finish.done():
        await clock.advance(0.5)
    await finish
    return text


async def test_private_edits_are_paced_by_time_and_end_exactly_as_written() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    answer = await stream(clock, sink, [f"word{i} " for i in range(100)], every=0.05)
    times = [c.at for c in bot.text_calls()]
    assert times == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # the first words at once, then one edit a second
    (message,) = bot.messages
    assert message.text == render(answer).text and message.markup is None


async def test_typing_shows_at_once_and_is_renewed_until_text_appears() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await clock.advance(9)
        assert [c.at for c in bot.calls if c.method == "send_chat_action"] == [0.0, 4.0, 8.0]
        await sink.show("Hi")
        await clock.advance(10)
        assert [c.at for c in bot.calls if c.method == "send_chat_action"] == [0.0, 4.0, 8.0]


async def test_group_edits_every_three_seconds_within_twenty_calls_a_minute() -> None:
    clock, pacer = VirtualClock(), None
    pacer = Pacer(clock)
    first, bot = make(clock, GROUP, pacer=pacer)
    second, _ = make(clock, GROUP, pacer=pacer, bot=bot)
    both = asyncio.gather(stream(clock, first, ["a "] * 600, every=0.2), stream(clock, second, ["b "] * 600,
                                                                                every=0.2))
    await both
    text_calls = [c.at for c in bot.text_calls()]
    assert max(len([t for t in text_calls if start <= t < start + 60]) for start in text_calls) == 20
    # Each answer calls every 3 s; ten calls each spend the group's twenty a minute, then both wait for the
    # window to move on.
    edits = [3.0 * k for k in range(1, 10)] + [60.0 + 3.0 * k for k in range(10)] + [120.0, 123.0]
    assert [message.edits for message in bot.messages] == [edits, edits]
    assert [(m.thread_id, m.reply_to) for m in bot.messages] == [(7, 99), (7, 99)]


async def test_a_flood_wait_mid_stream_skips_edits_and_the_final_text_still_arrives() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.show("one")
        await clock.advance(0.1)
        bot.fail_next("edit_message_text", RetryAfter(5))
        answer = await feed(clock, sink, [" two", " three", " four"] * 10, every=0.2, text="one")
    calls = [(c.method, c.at) for c in bot.text_calls()]
    # The edit at 1 s is refused for 5 s: nothing until 6 s, then the final text a second later.
    assert calls == [("send_message", 0.0), ("edit_message_text", 1.0), ("edit_message_text", 6.0),
                     ("edit_message_text", 7.0)]
    (message,) = bot.messages
    assert message.text == render(answer).text and message.markup is None


async def test_a_flood_wait_on_the_final_edit_is_waited_out_and_retried() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.show("almost")
        await clock.advance(2)
        bot.fail_next("edit_message_text", RetryAfter(7))
        finish = asyncio.create_task(sink.finish("almost done", Ending.COMPLETE))
        await clock.advance(20)
        await finish
        edits = [c.at for c in bot.calls if c.method == "edit_message_text"]
        assert edits == [2.0, 9.0]  # refused for 7 s, then sent again at once
        assert bot.messages[0].text == "almost done"


async def test_the_final_text_outlasts_a_45_second_bot_api_outage() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.show("half of it")
        await clock.advance(2)
        for _ in range(12):  # every edit fails while the Bot API is unreachable
            bot.fail_next("edit_message_text", NetworkError("Connection refused"))
        finish = asyncio.create_task(sink.finish("half of it, and the rest", Ending.COMPLETE))
        while not finish.done():
            await clock.advance(1)
        await finish
    assert bot.messages[0].text == "half of it, and the rest"
    assert bot.messages[0].markup is None  # the Stop button is gone with the final text
    assert 45 <= clock.now <= 120


async def test_the_final_text_is_given_up_after_delivery_give_up_seconds() -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    sink = TelegramReplySink(cast(Bot, bot), PRIVATE, Pacer(clock), Cadence(1.0, 3.0, "edit", 30.0),
                             stop_token="abc", clock=clock, sleep=clock.sleep)
    async with sink:
        await sink.show("partial")
        await clock.advance(2)
        for _ in range(20):  # 100 s of flood waits, longer than the 30 s it may take
            bot.fail_next("edit_message_text", RetryAfter(timedelta(seconds=5)))
        finish = asyncio.create_task(sink.finish("partial and final", Ending.COMPLETE))
        while not finish.done():
            await clock.advance(1)
        seen = await finish
    assert bot.messages[0].text == "partial"
    assert seen == "partial"  # what the user sees of the answer, for history
    assert 30 <= clock.now <= 40


async def test_a_long_answer_given_up_reports_the_pages_the_user_sees() -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    sink = TelegramReplySink(cast(Bot, bot), PRIVATE, Pacer(clock), Cadence(1.0, 3.0, "edit", 30.0),
                             stop_token="abc", clock=clock, sleep=clock.sleep)
    first_page = "long paragraph " * 150 + "\n\n"
    async with sink:
        await sink.show(first_page)
        await clock.advance(2)
        for _ in range(40):  # the pages after the first one cannot be sent
            bot.fail_next("send_message", NetworkError("Connection refused"))
        finish = asyncio.create_task(sink.finish(first_page * 3 + "the end", Ending.COMPLETE))
        while not finish.done():
            await clock.advance(1)
        seen = await finish
    assert [m.message_id for m in bot.messages] == [1]  # the first page landed, nothing after it
    assert seen is not None and seen.strip() == first_page.strip()
    assert sum(c.method == "send_message" for c in bot.text_calls()) < 12  # given up once, not once per page


async def test_a_delivered_answer_reports_nothing_to_amend() -> None:
    clock = VirtualClock()
    sink, _ = make(clock)
    async with sink:
        await sink.show("all of it")
        finish = asyncio.create_task(sink.finish("all of it", Ending.COMPLETE))
        await clock.advance(2)
        assert await finish is None


async def test_not_modified_is_never_an_error() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.show("same")
        await clock.advance(2)
        bot.fail_next("edit_message_text", BadRequest("Message is not modified"))
        await sink.show("same, and more")
        await clock.advance(2)  # that edit "shows it already": taken as shown, no error
        finish = asyncio.create_task(sink.finish("same, and more", Ending.COMPLETE))
        await clock.advance(5)
        await finish
        (message,) = bot.messages
        assert message.text == "same, and more" and message.markup is None  # the final text goes without the button


async def test_unchanged_text_is_not_sent_again() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        for _ in range(5):
            await sink.show("steady")
            await clock.advance(1.5)
        assert [c.method for c in bot.text_calls()] == ["send_message"]


@pytest.mark.parametrize("unit", ["😀", "漢", "a"])
async def test_long_answers_continue_in_new_messages_within_4096_utf16_units(unit: str) -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    words = [unit * 7 + " " for _ in range(2500)]
    answer = await stream(clock, sink, words, every=0.01)
    per_message = (TELEGRAM_TEXT_LIMIT + 1) // utf16_len(words[0])  # words and the spaces between them
    full, rest = divmod(len(words), per_message)
    assert [len(m.text.split()) for m in bot.messages] == [per_message] * full + [rest]  # each one filled up
    assert all(utf16_len(m.text) <= TELEGRAM_TEXT_LIMIT for m in bot.messages)
    joined = " ".join(m.text for m in bot.messages).split()
    assert joined == answer.split()  # nothing lost, nothing repeated, no word cut in two


async def test_a_code_block_split_across_messages_is_closed_and_reopened_with_its_language() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    code = "\n".join(f"value_{i} = compute({i})  # step {i}" for i in range(300))
    await stream(clock, sink, ["Here:\n\n```python\n", *[line + "\n" for line in code.split("\n")], "```\n"],
                 every=0.01)
    assert len(bot.messages) == 3
    for message in bot.messages:
        pre = [e for e in message.entities if e.type == "pre"]
        assert pre and all(e.language == "python" for e in pre)
    lines = "\n".join(m.text for m in bot.messages).replace("Here:\n", "").split("\n")
    assert [line for line in lines if line.strip()] == code.split("\n")


async def test_malformed_markdown_shows_no_raw_bold_or_heading_markers() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    await stream(clock, sink, ["## Title\n\n", "Some **bold", " text and `code", " and more"], every=0.3)
    # A single backtick is plain text in Markdown (the stream showed it as code while it could still close).
    assert [m.text for m in bot.messages] == ["✏ Title\n\nSome bold text and `code and more"]


async def test_rejected_formatting_falls_back_to_plain_text() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    bot.reject_entities = True
    await stream(clock, sink, ["**Bold** answer"], every=0.1)
    assert bot.messages[0].text == "Bold answer" and bot.messages[0].entities == ()


async def test_the_stop_button_shows_while_streaming_and_goes_away_with_a_note() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.show("Partial")
        await clock.advance(0.1)
        markup = bot.messages[0].markup
        assert markup is not None and markup.inline_keyboard[0][0].callback_data == "stop:abc"
        finish = asyncio.create_task(sink.finish("Partial", Ending.STOPPED))
        await clock.advance(3)
        await finish
        assert bot.messages[0].markup is None
        assert bot.messages[0].text == f"Partial\n\n{NOTES[Ending.STOPPED]}"
        assert bot.messages[0].entities[-1].type == "italic"


@pytest.mark.parametrize("ending", [Ending.INTERRUPTED, Ending.LENGTH])
async def test_an_unfinished_answer_keeps_its_text_with_a_short_note(ending: Ending) -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    await stream(clock, sink, ["Half an ", "answer"], every=0.2, ending=ending)
    assert bot.messages[0].text == f"Half an answer\n\n{NOTES[ending]}"


async def test_a_failure_is_one_short_friendly_message() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        failing = asyncio.create_task(sink.fail(Failure.UNAVAILABLE))
        await clock.advance(1)
        await failing
        (message,) = bot.messages
        assert (message.text, message.entities, message.markup) == (FAILURES[Failure.UNAVAILABLE], (), None)


async def test_draft_mode_streams_drafts_and_ends_with_a_real_message() -> None:
    clock = VirtualClock()
    sink, bot = make(clock, mode="draft")
    answer = await stream(clock, sink, [f"w{i} " for i in range(40)], every=0.1)
    assert [c.at for c in bot.calls if c.method == "send_message_draft"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert bot.drafts[-1] == render(answer).text  # the whole answer was drafted before it was sent
    (message,) = bot.messages
    assert message.text == render(answer).text and message.markup is None


async def test_groups_always_use_edits_even_in_draft_mode() -> None:
    clock = VirtualClock()
    sink, bot = make(clock, GROUP, mode="draft")
    await stream(clock, sink, ["hello ", "group"], every=0.5)
    assert bot.drafts == [] and bot.messages[0].text == "hello group"


async def test_one_chats_flood_wait_never_delays_another_chat() -> None:
    clock, pacer = VirtualClock(), None
    pacer = Pacer(clock)
    slow, bot = make(clock, Target(ChatKey(1)), pacer=pacer)
    fast, _ = make(clock, Target(ChatKey(2)), pacer=pacer, bot=bot)
    pacer.block(1, 30)
    await asyncio.gather(stream(clock, slow, ["x"] * 5, every=0.5), stream(clock, fast, ["y"] * 5, every=0.5))
    first_for = {chat: min(c.at for c in bot.text_calls() if c.chat_id == chat) for chat in (1, 2)}
    assert first_for == {1: 30.0, 2: 0.0}


async def test_every_new_message_is_recorded_for_a_replica_that_may_take_over() -> None:
    clock = VirtualClock()
    recorded: list[list[int]] = []

    async def record(ids: list[int]) -> None:
        recorded.append(ids)

    sink, bot = make(clock, handover=Handover(record=record))
    await stream(clock, sink, ["long paragraph " * 150 + "\n\n"] * 3, every=1.0)
    assert [m.message_id for m in bot.messages] == [1, 2, 3]
    assert recorded == [[1], [1, 2], [1, 2, 3]]


async def test_a_taken_over_answer_edits_the_messages_already_sent_and_deletes_the_spare_ones() -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    for part in ("first half, still streaming", "second part"):
        await bot.send_message(42, part)
    sink, _ = make(clock, bot=bot, handover=Handover(earlier=(1, 2)))
    answer = await stream(clock, sink, ["A shorter ", "answer"], every=0.5)
    assert [c.method for c in bot.text_calls()].count("send_message") == 2  # only the earlier replica's
    assert bot.messages[0].text == answer and bot.messages[0].markup is None
    assert bot.deleted == [2]


async def test_progress_lines_show_in_the_answer_message_and_the_answer_replaces_them() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.progress("", [Progress("search", "cats *and* dogs"), Progress("read", "example.com")])
        await clock.advance(1.5)
        shown = bot.text_calls()[-1].text
        assert shown == "🔎 Searching the web: “cats *and* dogs”\n📄 Reading example.com…"
        await feed(clock, sink, ["Cats ", "and dogs."], every=1.0)
    (message,) = bot.messages
    assert message.text == "Cats and dogs."


async def test_progress_lines_follow_the_text_so_far_and_long_subjects_are_shortened() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        await sink.progress("Let me look.", [Progress("tool", "x" * 200)])
        await clock.advance(1.5)
        lines = str(bot.text_calls()[-1].text).split("\n")
        assert lines[:2] == ["Let me look.", ""]
        assert lines[2].startswith("🛠 Using xxx") and lines[2].endswith("…") and len(lines[2]) < 100
        await feed(clock, sink, [], every=1.0, text="Let me look.\n\nDone.")


async def test_a_taken_over_final_text_the_message_already_shows_is_delivered_at_once() -> None:
    clock = VirtualClock()
    bot = FakeBot(clock)
    await bot.send_message(42, "The whole answer")  # the final edit of a replica that died landed after all
    sink, _ = make(clock, bot=bot, handover=Handover(earlier=(1,)))
    async with sink:
        finish = asyncio.create_task(sink.finish("The whole answer", Ending.COMPLETE))
        await clock.advance(5)
        assert finish.done()  # "message is not modified": the user sees it, nothing to retry
    assert [(c.method, c.at) for c in bot.text_calls()] == [("send_message", 0.0), ("edit_message_text", 0.0)]


async def test_a_preface_leads_the_first_message_while_the_answer_streams_below_it() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    heard = quoted("What is the capital of France?")
    async with sink:
        sink.preface(heard)
        await clock.advance(0.1)
        assert bot.messages[0].text == heard.text  # the quote shows before the model's first words
        await feed(clock, sink, ["Paris ", "it is."], every=1.0)
    (message,) = bot.messages
    assert message.text == "What is the capital of France?\n\nParis it is."
    assert [(e.type, e.offset) for e in message.entities] == [("blockquote", 0)]
    assert message.markup is None


async def test_a_preface_stays_above_a_failure_and_takes_room_from_the_first_message_only() -> None:
    clock = VirtualClock()
    sink, bot = make(clock)
    async with sink:
        sink.preface(quoted("hello"))
        await sink.fail(Failure.UNAVAILABLE)
    assert bot.messages[0].text == "hello\n\n" + FAILURES[Failure.UNAVAILABLE]
    clock = VirtualClock()
    sink, bot = make(clock)
    heard = quoted("x " * 1200)
    answer = await stream_with(clock, sink, heard, ["word " * 1500])
    assert all(utf16_len(m.text) <= TELEGRAM_TEXT_LIMIT for m in bot.messages) and len(bot.messages) == 3
    assert bot.messages[0].text.startswith(heard.text) and not bot.messages[1].text.startswith("x")
    assert "".join(m.text for m in bot.messages).count("word") == answer.count("word")


async def stream_with(clock: VirtualClock, sink: TelegramReplySink, preface: Rendered, chunks: list[str]) -> str:
    async with sink:
        sink.preface(preface)
        return await feed(clock, sink, chunks, every=0.5)
