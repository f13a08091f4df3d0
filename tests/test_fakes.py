"""The fake Bot API and OpenAI servers, driven by the real clients: python-telegram-bot and the openai SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncStream
from openai.types.chat import ChatCompletionChunk
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter

from tests.fake_openai import Break, Call, Error, FakeOpenAI, Hang, Reply, ToolCalls
from tests.fake_telegram import FakeTelegram
from tests.http_fake import wait_for

TOKEN = "123456:ABC-fake"
KEY = "sk-test-fakes"
CHAT = 42
GROUP = -100500
# PTB 22 warns that RetryAfter.retry_after will become a timedelta.
TIMEDELTA_WARNING = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{tg.url}/bot") as client:
        yield client


@pytest.fixture
def fo() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
async def client(fo: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fo.url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value if isinstance(value, int) else value.total_seconds()


async def collect(stream: AsyncStream[ChatCompletionChunk], into: list[str]) -> None:
    async for chunk in stream:
        into.append(chunk.choices[0].delta.content or "")


# --- Telegram ----------------------------------------------------------------------------------------------
async def test_get_me_describes_the_bot_and_a_wrong_token_is_unauthorized(tg: FakeTelegram, bot: Bot) -> None:
    assert (bot.id, bot.username, bot.bot.is_bot) == (123456, "test_bot", True)
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{tg.url}/bot"):
            pass


async def test_send_message_returns_a_full_message_and_records_decoded_params(tg: FakeTelegram, bot: Bot) -> None:
    question = tg.make_update("hi there", chat_id=GROUP, chat_type="supergroup", user_id=5, message_thread_id=9)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop:1")]])
    sent = await bot.send_message(GROUP, "hello 😀 world", entities=[MessageEntity("bold", 9, 5)],
                                  reply_markup=markup, message_thread_id=9,
                                  reply_parameters=ReplyParameters(question["message"]["message_id"]))
    again = await bot.send_message(GROUP, "second")
    assert (sent.message_id, again.message_id) == (2, 3)  # the user's message took id 1
    assert sent.chat.type == "supergroup" and sent.from_user is not None and sent.from_user.id == 123456
    assert sent.entities == (MessageEntity("bold", 9, 5),) and sent.reply_markup == markup
    assert sent.message_thread_id == 9 and sent.reply_to_message is not None
    assert sent.reply_to_message.text == "hi there"
    params = tg.calls_of("sendMessage")[0].params
    assert params["chat_id"] == GROUP and params["entities"] == [{"type": "bold", "offset": 9, "length": 5}]
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "stop:1"
    (shown, _) = tg.messages(GROUP)
    assert (shown.text, shown.thread_id, shown.reply_to) == ("hello 😀 world", 9, 1)


async def test_edits_keep_history_and_refuse_unchanged_or_unknown_messages(tg: FakeTelegram, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop")]])
    sent = await bot.send_message(CHAT, "Hel", reply_markup=markup)
    edited = await bot.edit_message_text("Hello", CHAT, sent.message_id, reply_markup=markup)
    assert isinstance(edited, Message) and edited.text == "Hello" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Hello ", CHAT, sent.message_id, reply_markup=markup)  # Telegram trims
    await bot.edit_message_text("Hello", CHAT, sent.message_id)  # no markup given: the buttons go
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    (message,) = tg.messages(CHAT)
    assert message.reply_markup is None
    assert [text for _, text in message.history] == ["Hel", "Hello", "Hello"]


async def test_text_limits_count_utf16_units(tg: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "😀" * 2048)  # 4096 UTF-16 units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "  ")
    await bot.send_message(CHAT, "😀 hi", entities=[MessageEntity("italic", 3, 2)])
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(CHAT, "😀 hi", entities=[MessageEntity("italic", 3, 3)])
    assert len(tg.messages(CHAT)) == 2


@TIMEDELTA_WARNING
async def test_scripted_failures_answer_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=2)
    tg.fail_next("editMessageText", status=400, description="Bad Request: message can't be edited")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "one")
    assert retry_seconds(flood.value) == 2
    sent = await bot.send_message(CHAT, "one")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("two", CHAT, sent.message_id)
    assert [c.method for c in tg.calls] == ["getMe", "sendMessage", "sendMessage", "editMessageText"]


@TIMEDELTA_WARNING
async def test_a_flood_limit_answers_429_with_the_wait(tg: FakeTelegram, bot: Bot) -> None:
    tg.flood_limit(GROUP, per_minute=2)
    await bot.send_message(GROUP, "a")
    await bot.send_message(GROUP, "b")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(GROUP, "c")
    assert 55 <= retry_seconds(flood.value) <= 60


async def test_get_updates_honours_offset_long_poll_and_webhook(tg: FakeTelegram, bot: Bot) -> None:
    first, second = tg.make_update("/start now"), tg.make_update("hello")
    tg.queue_update(first)
    tg.queue_update(second)
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[0].message is not None and updates[0].message.entities[0].type == "bot_command"
    assert [u.update_id for u in await bot.get_updates(offset=second["update_id"])] == [second["update_id"]]
    started = time.monotonic()
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret", allowed_updates=["message"])
    assert tg.webhook["secret_token"] == "s3cret" and tg.webhook["allowed_updates"] == ["message"]
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook() and (await bot.get_webhook_info()).url == ""


async def test_commands_administrators_drafts_callbacks_and_other_methods(tg: FakeTelegram, bot: Bot) -> None:
    group = BotCommandScopeAllGroupChats()
    await bot.set_my_commands([BotCommand("help", "The commands")], scope=group)
    assert [c.command for c in await bot.get_my_commands(scope=group)] == ["help"]
    assert await bot.get_my_commands() == () and tg.commands({"type": "all_group_chats"})[0]["command"] == "help"
    tg.set_administrators(GROUP, 7, 8)
    assert [m.user.id for m in await bot.get_chat_administrators(GROUP)] == [7, 8]
    assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
    assert await bot.send_message_draft(CHAT, 5, "partial")
    assert [(d.draft_id, d.text) for d in tg.drafts(CHAT)] == [(5, "partial")]
    sent = await bot.send_message(CHAT, "menu")
    update = Update.de_json(tg.make_callback_update("persona:tutor", chat_id=CHAT, user_id=CHAT,
                                                    message_id=sent.message_id), bot)
    assert update.callback_query is not None and update.callback_query.data == "persona:tutor"
    assert await update.callback_query.answer("done")
    assert await bot.send_chat_action(CHAT, "typing") and await bot.set_my_description("fake")
    assert tg.calls_of("answerCallbackQuery")[0].params["text"] == "done"
    assert tg.calls_of("setMyDescription")[0].params["description"] == "fake"
    assert tg.wait_for(lambda: tg.calls_of("sendChatAction"), timeout=1)


async def test_deleting_hides_a_message_and_clear_forgets_the_records(tg: FakeTelegram, bot: Bot) -> None:
    question = tg.make_update("hi")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("mine now", CHAT, question["message"]["message_id"])
    sent = await bot.send_message(CHAT, "oops")
    assert await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)
    assert tg.messages(CHAT) == [] and len(tg.messages(CHAT, include_deleted=True)) == 1
    tg.clear()
    assert tg.calls == [] and tg.messages(CHAT, include_deleted=True) == []
    assert (await bot.send_message(CHAT, "next")).message_id == sent.message_id + 1


# --- OpenAI ------------------------------------------------------------------------------------------------
async def test_a_stream_reassembles_exactly_with_finish_reason_and_usage(fo: FakeOpenAI,
                                                                         client: openai.AsyncOpenAI) -> None:
    answer = "Grüße 😀 — streamed in pieces."
    fo.script(Reply(answer, chunk_size=3, finish_reason="length"))
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 40}], stream=True,
        stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (10, 8)
    assert fo.chat_requests()[0]["stream_options"] == {"include_usage": True}


async def test_tool_calls_stream_as_the_sdk_reads_them(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fo.script(ToolCalls((Call("web_search", {"query": "a b"}, id="call_1"), Call("current_time", {})),
                        text="Looking.", chunk_size=4))
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True},
        tools=[{"type": "function", "function": {"name": "web_search", "parameters": {"type": "object"}}}])
    chunks = [chunk async for chunk in stream]
    fragments = [f for c in chunks if c.choices for f in c.choices[0].delta.tool_calls or []]
    firsts = [(f.index, f.id, f.function.name if f.function else None) for f in fragments if f.id]
    assert firsts[0] == (0, "call_1", "web_search") and firsts[1][0::2] == (1, "current_time")
    assert str(firsts[1][1]).startswith("call_") and len(firsts) == 2
    arguments = ["".join(f.function.arguments or "" for f in fragments if f.index == i and f.function) for i in (0, 1)]
    assert arguments == ['{"query": "a b"}', "{}"]
    assert len([f for f in fragments if f.index == 0]) > 2  # the arguments come in several pieces
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Looking."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("messages", [
    [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "r"}],
    [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
     {"role": "user", "content": "unanswered call"}],
])
async def test_tool_messages_that_do_not_answer_their_calls_are_refused_like_openai(
        fo: FakeOpenAI, client: openai.AsyncOpenAI, messages: list[Any]) -> None:
    with pytest.raises(openai.BadRequestError, match="tool"):
        await client.chat.completions.create(model="m", messages=messages)


async def test_the_wire_format_is_openai_sse(fo: FakeOpenAI) -> None:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as http:
        answer = await http.post(f"{fo.url}/chat/completions", json={
            "model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}})
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = answer.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: {") for e in events[:-2])
    assert '"usage": null' in events[0] and '"choices": []' in events[-3]


async def test_without_stream_a_completion_and_the_default_echo(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    done = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    assert done.choices[0].message.content == "Echo: ping" and done.usage is not None
    fo.default = lambda body: Reply(f"{len(body['messages'])} messages")
    done = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    assert done.choices[0].message.content == "1 messages"


async def test_errors_come_in_openai_shape(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fo.script(Error(429, "slow down", retry_after=2), Error(400, "too long", code="context_length_exceeded"))
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    assert limited.value.response.headers["retry-after"] == "2" and limited.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.BadRequestError) as too_long:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    assert too_long.value.code == "context_length_exceeded" and too_long.value.param == "messages"
    async with openai.AsyncOpenAI(base_url=fo.url, api_key="sk-wrong-key", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError) as denied:
            await stranger.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    assert denied.value.code == "invalid_api_key"


async def test_a_break_fails_the_stream_midway(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fo.script(Break("one two three four five", after_chunks=2))
    stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}],
                                                  stream=True)
    received: list[str] = []
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        await collect(stream, received)
    assert "".join(received) == "one two "
    assert fo.disconnects == 0


async def test_closing_early_or_timing_out_counts_as_a_disconnect(fo: FakeOpenAI,
                                                                  client: openai.AsyncOpenAI) -> None:
    fo.script(Reply("word " * 200, chunk_size=5, delay=0.02), Hang(5))
    stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}],
                                                  stream=True)
    async for _ in stream:
        break
    await stream.close()
    wait_for(lambda: fo.disconnects == 1, timeout=5, what="the early close")
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}], timeout=0.3)
    wait_for(lambda: fo.disconnects == 2, timeout=5, what="the timeout")


async def test_a_hang_answers_late_as_the_default_would(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fo.script(Hang(0.5))
    started = time.monotonic()
    done = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "late"}])
    assert done.choices[0].message.content == "Echo: late" and time.monotonic() - started >= 0.5


async def test_moderations_and_models(fo: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fo.flag_words = {"forbidden"}
    checked = await client.moderations.create(input=["fine", "something FORBIDDEN"])
    assert [r.flagged for r in checked.results] == [False, True] and checked.results[1].categories.harassment
    assert (await client.models.list()).data[0].id == "gpt-4o-mini"
    fo.moderation_status = 500
    with pytest.raises(openai.InternalServerError):
        await client.moderations.create(input="x")
    assert len(fo.moderation_requests()) == 2 and fo.chat_requests() == []
    await asyncio.sleep(0)


async def test_get_webhook_info_answers_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    tg.queue_update(tg.make_update("waiting"))
    bare = await bot.get_webhook_info()
    assert (bare.url, bare.pending_update_count, bare.max_connections, bare.last_error_message) == ("", 1, None, None)
    await bot.set_webhook("https://example.org/hook", allowed_updates=["message"])
    tg.webhook_trouble("Connection timed out", last_error_date=1_700_000_000, pending_update_count=5)
    info = await bot.get_webhook_info()
    assert (info.url, info.allowed_updates, info.max_connections, info.has_custom_certificate) == (
        "https://example.org/hook", ("message",), 40, False)
    assert (info.pending_update_count, info.last_error_message) == (5, "Connection timed out")
    assert info.last_error_date is not None and info.last_error_date.timestamp() == 1_700_000_000
    tg.set_webhook_elsewhere("https://elsewhere.example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://elsewhere.example.org/hook"
    tg.set_webhook_elsewhere("")
    assert (await bot.get_webhook_info()).url == ""
    assert [c.method for c in tg.calls if "Webhook" in c.method] == ["getWebhookInfo", "setWebhook", "getWebhookInfo",
                                                                     "getWebhookInfo", "getWebhookInfo"]
